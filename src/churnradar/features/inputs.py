"""What each feature reads, and which features a store can feed.

A feature's *inputs* are the canonical columns its value is computed from, found by column lineage
of its compiled expression (SQLGlot), plus what it declares with ``requires=`` (tables whose rows it
counts or joins through, columns it groups by: lineage follows values, not row sources). The
population at T (a subscription activated by T and not ended) is the core every feature shares,
so it does not count as an input.

A store *feeds* an input when the table has rows and, for an optional (nullable) column, at least
one value. Features with an input the store does not feed are not computed: they are *skipped*,
with the missing inputs named, never filled with placeholders.

>>> from churnradar.features.inputs import feature_inputs
>>> sorted(feature_inputs()["mou_1m"])
['usage_monthly.month', 'usage_monthly.voice_in_min', 'usage_monthly.voice_out_min']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from churnradar.features.registry import Feature, FeatureSet, Node, dependencies
from churnradar.schema import TABLES
from churnradar.schema.model import DTYPES

_IBIS_TYPES = {
    "string": "string",
    "int": "int64",
    "float": "float64",
    "bool": "boolean",
    "date": "date",
    "month": "date",
    "timestamp": "timestamp",
}

#: Lineage is the same for every month: it is traced once, at this one.
_TRACE_MONTH = "2024-06"

_CACHE: dict[str, dict[str, frozenset[str]]] = {}


class _Unbound:
    """The canonical tables as unbound Ibis tables (no data: expressions only). The population
    is read as the subscription table itself, so a feature of the population's columns traces
    back to ``subscription`` and not to the end events that define who is in it."""

    def __init__(self) -> None:
        self._tables: dict[str, ir.Table] = {}

    def table(self, name: str) -> ir.Table:
        if name not in self._tables:
            t = TABLES[name]
            self._tables[name] = ibis.table({c.name: _IBIS_TYPES[c.dtype] for c in t.columns}, name=name)
        return self._tables[name]


def _sql_schema() -> dict[str, dict[str, str]]:
    return {n: {c.name: DTYPES[c.dtype] for c in t.columns} for n, t in TABLES.items()}


def _lineage(name: str, expr: ir.Table, schema: dict[str, dict[str, str]]) -> set[str]:
    """Canonical ``table.column`` the values of column ``name`` of ``expr`` come from."""
    from sqlglot import exp
    from sqlglot.lineage import lineage

    root = lineage(name, ibis.to_sql(expr, dialect="duckdb"), schema=schema, dialect="duckdb")
    out: set[str] = set()
    for n in root.walk():
        if isinstance(n.expression, exp.Table) and n.expression.name in TABLES:
            column = n.name.rsplit(".", 1)[-1].strip('"')
            if column in TABLES[n.expression.name].column_names:
                out.add(f"{n.expression.name}.{column}")
    return out


def _declared(feat: Feature, nodes: dict[str, Node]) -> set[str]:
    out: set[str] = set(feat.requires)
    for dep in dependencies(feat.name, nodes):
        out.update(dep.requires)
    return out


def feature_inputs(feature_set: str | FeatureSet | Sequence[str] = "all") -> dict[str, frozenset[str]]:
    """``{feature: inputs}`` for a feature set (default: every registered feature). Each input is
    ``"table.column"`` or ``"table"``; key columns (``subscriber_id``) are left out."""
    from churnradar.features.compute import _check_shape, _feature_set, _Resolver
    from churnradar.features.registry import FEATURES, _load_themes
    from churnradar.features.timeframe import AsOf

    if feature_set == "all":
        _load_themes()
        fs = FeatureSet("all", "0", tuple(FEATURES))
    else:
        fs = _feature_set(feature_set)
    key = fs.fingerprint
    if key in _CACHE:
        return _CACHE[key]
    nodes = dict(fs.nodes())
    unbound = _Unbound()
    # the population node reads as the subscription table (see _Unbound)
    resolver = _Resolver(unbound.table, AsOf.parse(_TRACE_MONTH), nodes)
    resolver._memo["population"] = unbound.table("subscription").view()
    schema = _sql_schema()
    out: dict[str, frozenset[str]] = {}
    for feat in fs.resolve():
        expr = resolver.get(feat.name)
        _check_shape(feat, expr)
        found = _lineage(feat.name, expr, schema) | _declared(feat, nodes)
        out[feat.name] = frozenset(i for i in found if not i.endswith(".subscriber_id"))
    _CACHE[key] = out
    return out


@dataclass(frozen=True)
class Availability:
    """Which canonical tables a store holds rows of, and which optional columns hold values."""

    tables: frozenset[str]
    empty_columns: frozenset[str]

    def missing(self, inputs: Iterable[str]) -> list[str]:
        """The inputs this store does not feed, sorted."""
        out = []
        for item in inputs:
            table, _, column = item.partition(".")
            if table not in self.tables:
                out.append(table)
            elif column and item in self.empty_columns:
                out.append(item)
        return sorted(set(out))

    def feeds_all(self, tables: Iterable[str]) -> bool:
        """Whether every one of ``tables`` has rows and values in each optional column."""
        tables = set(tables)
        return tables <= self.tables and not any(c.split(".")[0] in tables for c in self.empty_columns)


def availability(backend: Any, tables: Iterable[str] | None = None) -> Availability:
    """What ``backend``'s store feeds: one aggregate per table (rows, and values of each optional
    column). ``tables`` limits the check (default: every canonical data table)."""
    names = [t for t in (tables or TABLES) if TABLES[t].group != "truth"]
    present: set[str] = set()
    empty: set[str] = set()
    for name in names:
        if hasattr(backend, "has_table") and not backend.has_table(name):
            continue
        t = backend.table(name)
        optional = [c.name for c in TABLES[name].columns if c.nullable and c.name in t.columns]
        aggs = {"_rows": t.count(), **{f"_v{i}": t[c].count() for i, c in enumerate(optional)}}
        row = backend.con.to_pyarrow(t.aggregate(**aggs)).to_pylist()[0]  # not in the SQL cache
        if not row["_rows"]:
            continue
        present.add(name)
        empty.update(f"{name}.{c}" for i, c in enumerate(optional) if not row[f"_v{i}"])
    return Availability(frozenset(present), frozenset(empty))


def tables_read(fs: FeatureSet) -> set[str]:
    """Canonical tables the features of ``fs`` read (parameters of them and of their nodes)."""
    nodes = fs.nodes()
    out: set[str] = set()
    for feat in fs.resolve():
        for dep in dependencies(feat.name, {**nodes, feat.name: feat}):
            out.update(p for p in dep.params if p in TABLES)
            out.update(r.partition(".")[0] for r in dep.requires)
    return out


@dataclass
class FeaturePlan:
    """The features a store can feed (``computed``, in set order) and the ones it cannot
    (``skipped``: feature → the inputs the store lacks)."""

    feature_set: FeatureSet
    computed: list[str]
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> list[dict[str, Any]]:
        return [{"feature": f, "missing": m} for f, m in self.skipped.items()]


def plan_features(backend: Any, feature_set: str | FeatureSet | Sequence[str] = "core") -> FeaturePlan:
    """Which features of ``feature_set`` ``backend``'s store can feed. Lineage is traced only when
    the store lacks a table or an optional column (a complete store computes every feature)."""
    from churnradar.features.compute import _feature_set

    fs = _feature_set(feature_set)
    names = [f.name for f in fs.resolve()]
    read = tables_read(fs)
    # one check per backend and set of tables (a backend lives for one command or request)
    memo = getattr(backend, "__dict__", {}).setdefault("_feature_availability", {})
    key = frozenset(read)
    avail = memo.get(key)
    if avail is None:
        avail = memo[key] = availability(backend, read)
    if avail.feeds_all(read):
        return FeaturePlan(fs, names)
    inputs = feature_inputs(fs)
    skipped = {}
    for n in names:
        missing = avail.missing(inputs[n])
        if missing:
            skipped[n] = missing
    return FeaturePlan(fs, [n for n in names if n not in skipped], skipped)


__all__ = ["Availability", "FeaturePlan", "availability", "feature_inputs", "plan_features"]
