"""Feature registry: features and the shared intermediate nodes they are computed from.

A *feature* is a function named after the column it produces (Hamilton style). Its parameters
name what it needs: canonical tables (``usage_monthly``, ``billing_monthly``, …), ``as_of`` (an
:class:`~churnradar.features.timeframe.AsOf`) or a shared *node* (``@node``), such as a per-theme
aggregate that many features select from. Its one-line docstring is its definition; its theme,
dtype, DOMAIN driver and default reason code are declared beside it with ``@feature``.

Nodes are resolved by parameter name, once per computation, so features that share a node share
one Ibis expression (one scan and one group-by in the compiled query).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from churnradar.errors import ConfigError
from churnradar.schema import enums as E

#: Themes of the feature library, in display order (one module each).
THEMES: dict[str, str] = {
    "usage": "usage levels, trends, volatility and active days",
    "spend": "billed revenue (ARPU) levels, trends and overage",
    "recharge": "recharge behaviour and prepaid balance",
    "arrears": "arrears, suspensions and reactivations",
    "service": "complaints and service contacts",
    "contract": "contract and handset-subsidy expiry, package changes",
    "tenure": "tenure, acquisition package and channel, customer profile",
    "brand": "brand and brand moves",
    "family": "family plan (家庭V网) membership and ties",
    "social": "call-graph ties: contacts, on-net/off-net/competitor shares, churned neighbours",
    "handset": "multi-SIM handset signals (一机多卡)",
    "network": "network quality of the home grid",
    "campaign": "retention campaign history",
    "levers": "retention levers: home county, promotion package, own-network contacts, unresolved complaints",
}

#: Drivers a feature may feed.
DRIVERS: tuple[str, ...] = ("price", "quality", "technology", "social", "convenience", "life_event")

#: Storage dtypes a feature may declare.
DTYPES: tuple[str, ...] = ("float64", "int64", "boolean", "string")


@dataclass(frozen=True)
class Node:
    """A shared intermediate expression (not a feature column)."""

    name: str
    func: Callable[..., Any]
    params: tuple[str, ...]
    #: A node whose result has every column of this one with the same values; when a computation
    #: needs both, this one is read from that one (one scan instead of two).
    covered_by: str | None = None
    #: Inputs the node needs beyond the columns its values are computed from (found by lineage,
    #: :mod:`churnradar.features.inputs`): ``"table"`` for a table whose rows it counts or joins
    #: through, ``"table.column"`` for a column it groups or joins by.
    requires: tuple[str, ...] = ()
    #: Computed over every subscriber, not within a subscriber partition: a node keyed by something
    #: other than the subscriber (a number, a family group, a handset, a customer) whose values
    #: count other subscribers' rows. See :mod:`churnradar.features.partitions`.
    across_subscribers: bool = False

    @property
    def doc(self) -> str:
        return _first_line(self.func.__doc__)

    @property
    def source(self) -> str:
        """Source of the function, of the library helpers it calls and the constants it reads."""
        return _definition_source(self.func)


@dataclass(frozen=True)
class Feature(Node):
    """A feature: one column, keyed by ``subscriber_id``."""

    theme: str = ""
    dtype: str = "float64"
    driver: str = ""
    reason: str | None = None
    fill: Any = None  # value for population members without a row (e.g. 0 for counts)

    @property
    def definition(self) -> str:
        """The one-line docstring: what the column means."""
        return self.doc

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "theme": self.theme,
            "dtype": self.dtype,
            "driver": self.driver,
            "reason": self.reason,
            "fill": self.fill,
            "definition": self.definition,
        }


NODES: dict[str, Node] = {}
FEATURES: dict[str, Feature] = {}


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _definition_source(func: Callable[..., Any]) -> str:
    """``func``'s source plus, recursively, the feature-library helpers and constants it refers to.

    Registered nodes are left out (they are hashed as dependencies in their own right).
    """
    parts: list[str] = []
    seen: set[int] = set()

    def visit(f: Callable[..., Any]) -> None:
        parts.append(textwrap.dedent(inspect.getsource(f)))
        for name in sorted(_code_names(f.__code__)):
            obj = f.__globals__.get(name)
            if id(obj) in seen:
                continue
            if inspect.isfunction(obj) and obj.__module__.startswith("churnradar.features"):
                if name in NODES and NODES[name].func is obj:
                    continue
                seen.add(id(obj))
                visit(obj)
            elif isinstance(obj, int | float | str | tuple | frozenset | dict) and not name.startswith("__"):
                seen.add(id(obj))
                parts.append(f"{name} = {obj!r}")

    visit(func)
    return "\n".join(parts)


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""


def _register(obj: Node) -> None:
    if obj.name in NODES:
        raise ConfigError(f"feature or node {obj.name!r} is defined twice")
    NODES[obj.name] = obj
    if isinstance(obj, Feature):
        FEATURES[obj.name] = obj


def node(
    func: Callable[..., Any] | None = None,
    *,
    covered_by: str | None = None,
    requires: tuple[str, ...] = (),
    across_subscribers: bool = False,
) -> Any:
    """Register ``func`` as a shared intermediate node (resolved by its name).

    ``@node(covered_by="usage_months")`` declares that another node's result contains this one's
    columns with the same values, so a computation that needs both computes only that one.
    ``requires`` names inputs beyond the columns its values come from (see :class:`Node`).
    ``across_subscribers=True`` marks a node keyed by something other than the subscriber whose
    values count other subscribers' rows (lines per number, members per family group): a
    computation in subscriber partitions reads it computed over every subscriber.
    """
    _check_requires(requires)

    def register(f: Callable[..., Any]) -> Callable[..., Any]:
        _register(
            Node(
                f.__name__,
                f,
                tuple(inspect.signature(f).parameters),
                covered_by=covered_by,
                requires=tuple(requires),
                across_subscribers=across_subscribers,
            )
        )
        return f

    return register(func) if func is not None else register


def feature(
    *,
    theme: str,
    driver: str,
    dtype: str = "float64",
    reason: str | None = None,
    fill: Any = None,
    requires: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a feature function; its name is its column, its docstring its definition.

    ``requires`` names inputs beyond the columns its value is computed from (see :class:`Node`).
    """
    _check_requires(requires)
    if theme not in THEMES:
        raise ConfigError(f"unknown theme {theme!r}; expected one of {', '.join(THEMES)}")
    if driver not in DRIVERS:
        raise ConfigError(f"unknown driver {driver!r}; expected one of {', '.join(DRIVERS)}")
    if dtype not in DTYPES:
        raise ConfigError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    if reason is not None and reason not in E.REASON_CODE:
        raise ConfigError(f"unknown reason code {reason!r}; expected one of {', '.join(E.REASON_CODE)}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if not _first_line(func.__doc__):
            raise ConfigError(f"feature {func.__name__} has no docstring (its definition)")
        _register(
            Feature(
                func.__name__,
                func,
                tuple(inspect.signature(func).parameters),
                theme=theme,
                dtype=dtype,
                driver=driver,
                reason=reason,
                fill=fill,
                requires=tuple(requires),
            )
        )
        return func

    return register


def _check_requires(requires: tuple[str, ...]) -> None:
    from churnradar.schema import TABLES

    for item in requires:
        table, _, column = item.partition(".")
        if table not in TABLES or (column and column not in TABLES[table].column_names):
            raise ConfigError(
                f"requires names {item!r}, which is not a canonical table or table.column; "
                f"tables are {', '.join(TABLES)}"
            )


def get_feature(name: str) -> Feature:
    _load_themes()
    try:
        return FEATURES[name]
    except KeyError:
        raise ConfigError(f"unknown feature {name!r}; `churnradar features --list` shows them all") from None


def dependencies(name: str, nodes: dict[str, Node] | None = None) -> list[Node]:
    """The node ``name`` and every node it depends on (transitively), each once, deepest first."""
    nodes = NODES if nodes is None else nodes
    seen: dict[str, Node] = {}

    def visit(n: str) -> None:
        if n in seen or n not in nodes:
            return  # canonical tables and ``as_of`` are inputs, not nodes
        for p in nodes[n].params:
            visit(p)
        seen[n] = nodes[n]

    visit(name)
    return list(seen.values())


def definition_hash(feat: Feature, nodes: dict[str, Node] | None = None) -> str:
    """SHA-256 over a feature's declaration and the source of it and every node it depends on."""
    h = hashlib.sha256()
    h.update(repr((feat.name, feat.theme, feat.dtype, feat.fill)).encode())
    nodes = {**(NODES if nodes is None else nodes), feat.name: feat}
    for dep in dependencies(feat.name, nodes):
        h.update(dep.name.encode() + b"\0" + dep.source.encode() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class FeatureSet:
    """A named, versioned list of features.

    ``version`` is the human version; :attr:`fingerprint` is a hash over the feature names and
    their definitions (source of the feature and of the nodes it depends on), so any change of a
    definition changes :attr:`full_version` even when ``version`` was not bumped.
    """

    name: str
    version: str
    features: tuple[str, ...] = field(default_factory=tuple)
    overrides: tuple[Feature, ...] = ()  # features defined outside the registry (tests, experiments)

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        dupes = sorted({f for f in self.features if self.features.count(f) > 1})
        if dupes:
            raise ConfigError(f"feature set {self.name!r} lists {', '.join(dupes)} more than once")

    def resolve(self) -> list[Feature]:
        _load_themes()
        local = {f.name: f for f in self.overrides}
        return [local[n] if n in local else get_feature(n) for n in self.features]

    def nodes(self) -> dict[str, Node]:
        _load_themes()
        return {**NODES, **{f.name: f for f in self.overrides}}

    @property
    def fingerprint(self) -> str:
        nodes = self.nodes()
        h = hashlib.sha256(self.name.encode() + b"\0")
        h.update(_shared_definitions_source())
        for feat in self.resolve():
            h.update(feat.name.encode() + b"\0" + definition_hash(feat, nodes).encode() + b"\0")
        return h.hexdigest()

    @property
    def full_version(self) -> str:
        """``version+fingerprint`` (12 hex digits): what a feature snapshot records."""
        return f"{self.version}+{self.fingerprint[:12]}"


@functools.cache
def _shared_definitions_source() -> bytes:
    """Source of the business definitions features read beside their own nodes (who is in
    network at T, when a line ends: :mod:`churnradar.metrics.population`) and of the month
    arithmetic: a change there changes every feature set's fingerprint."""
    import churnradar.features.timeframe as timeframe
    import churnradar.metrics.population as population

    return inspect.getsource(population).encode() + inspect.getsource(timeframe).encode()


_LOADED = False


def _load_themes() -> None:
    """Import every theme module (registers their features)."""
    global _LOADED
    if _LOADED:
        return
    import importlib

    importlib.import_module("churnradar.features.base")
    for theme in THEMES:
        importlib.import_module(f"churnradar.features.{theme}")
    _LOADED = True
