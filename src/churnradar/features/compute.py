"""Compute a feature set for one as-of month as a single Ibis expression.

Nodes are resolved by parameter name once, so every feature that needs ``usage_months`` gets the
same expression. Features that are plain projections of the same parent (a shared per-theme
aggregate) are merged into one projection before they are joined onto the population, so the
compiled query has one scan and one group-by per theme and about a dozen joins, not one per
feature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import ibis.expr.operations as ops
import ibis.expr.types as ir

from churnradar.errors import ConfigError
from churnradar.features.partitions import Partition, shared_nodes
from churnradar.features.registry import Feature, FeatureSet, Node, dependencies, get_feature
from churnradar.features.sets import get_feature_set
from churnradar.features.timeframe import AsOf
from churnradar.schema import TABLES

KEY = "subscriber_id"

_IBIS_DTYPES = {"float64": "float64", "int64": "int64", "boolean": "boolean", "string": "string"}


class _Resolver:
    """Resolves node and table names to Ibis expressions, each once."""

    def __init__(
        self,
        tables: Callable[[str], ir.Table],
        as_of: AsOf,
        nodes: dict[str, Node],
        wanted: Sequence[str] = (),
        *,
        partition: Partition | None = None,
        shared: dict[str, ir.Table] | None = None,
    ):
        self._nodes = nodes
        self._memo: dict[str, Any] = {"as_of": as_of}
        # nodes covered by another node that is needed anyway are read from that one
        needed = {n.name for w in wanted for n in dependencies(w, nodes)}
        self._alias = {
            name: nodes[name].covered_by
            for name in needed
            if nodes[name].covered_by in needed and nodes[name].covered_by != name
        }
        # in a partition, tables hold only its subscribers' rows; nodes across subscribers are
        # read from ``shared`` (computed once) or computed over every subscriber
        self._whole: _Resolver | None = None
        if partition is not None and partition.count > 1:
            self._tables: Callable[[str], ir.Table] = lambda name: partition.filter(tables(name))
            self._whole = _Resolver(tables, as_of, nodes, wanted)
            self._memo.update(shared or {})
        else:
            self._tables = tables

    def alias(self, name: str) -> str:
        return self._alias.get(name, name)

    def get(self, name: str, stack: tuple[str, ...] = ()) -> Any:
        if name in self._memo:
            return self._memo[name]
        if name in stack:
            raise ConfigError(f"feature nodes depend on each other in a cycle: {' → '.join((*stack, name))}")
        if name in self._alias:
            value = self.get(self._alias[name], (*stack, name))
        elif name in self._nodes and self._nodes[name].across_subscribers and self._whole is not None:
            value = self._whole.get(name, stack)
        elif name in self._nodes:
            n = self._nodes[name]
            value = n.func(**{p: self.get(p, (*stack, name)) for p in n.params})
        elif name in TABLES:
            value = self._tables(name)
        else:
            raise ConfigError(
                f"{' → '.join(stack) or 'feature'} needs {name!r}, which is neither a canonical table "
                "nor a feature node"
            )
        self._memo[name] = value
        return value


def _feature_set(feature_set: str | FeatureSet | Sequence[str]) -> FeatureSet:
    if isinstance(feature_set, FeatureSet):
        return feature_set
    if isinstance(feature_set, str):
        return get_feature_set(feature_set)
    names = list(feature_set)
    for n in names:
        get_feature(n)
    return FeatureSet("adhoc", "0", tuple(names))


def _table_getter(backend: Any) -> Callable[[str], ir.Table]:
    if hasattr(backend, "table"):
        return backend.table
    raise ConfigError(f"cannot read tables from {backend!r}; pass a Backend from store.backends.open_backend")


def feature_expressions(
    backend: Any, as_of: str | date | AsOf, feature_set: str | FeatureSet | Sequence[str] = "core"
) -> dict[str, ir.Table]:
    """Each feature's own expression (``subscriber_id`` + its column), unmerged and unjoined."""
    fs = _feature_set(feature_set)
    resolver = _Resolver(_table_getter(backend), AsOf.parse(as_of), fs.nodes())
    out = {}
    for feat in fs.resolve():
        expr = resolver.get(feat.name)
        _check_shape(feat, expr)
        out[feat.name] = expr
    return out


def _check_shape(feat: Feature, expr: Any) -> None:
    if not isinstance(expr, ir.Table) or list(expr.columns) != [KEY, feat.name]:
        cols = list(expr.columns) if isinstance(expr, ir.Table) else type(expr).__name__
        raise ConfigError(
            f"feature {feat.name} must return a table with columns ['{KEY}', '{feat.name}']; got {cols}"
        )


def _computed(backend: Any, fs: FeatureSet, skip_missing: bool) -> list[Feature]:
    from churnradar.features.inputs import plan_features

    feats = fs.resolve()
    if skip_missing:
        computed = set(plan_features(backend, fs).computed)
        feats = [f for f in feats if f.name in computed]
    return feats


def shared_expressions(
    backend: Any,
    as_of: str | date | AsOf,
    feature_set: str | FeatureSet | Sequence[str] = "core",
    *,
    skip_missing: bool = True,
) -> dict[str, ir.Table]:
    """The nodes across subscribers (:mod:`churnradar.features.partitions`) that a partitioned
    computation of ``feature_set`` reads, each computed over every subscriber: materialise them
    once and pass them to :func:`compute_features` as ``shared``."""
    fs = _feature_set(feature_set)
    wanted = ["population", *(f.name for f in _computed(backend, fs, skip_missing))]
    resolver = _Resolver(_table_getter(backend), AsOf.parse(as_of), fs.nodes(), wanted)
    return {name: resolver.get(name) for name in shared_nodes(wanted, fs.nodes(), resolver.alias)}


def compute_features(
    backend: Any,
    as_of: str | date | AsOf,
    feature_set: str | FeatureSet | Sequence[str] = "core",
    *,
    skip_missing: bool = True,
    partition: Partition | None = None,
    shared: dict[str, ir.Table] | None = None,
) -> ir.Table:
    """The feature table for ``as_of``: one row per subscriber active at T, one column per feature.

    ``backend`` is a :class:`churnradar.store.backends.Backend` (DuckDB or Spark);
    ``feature_set`` a set name, a :class:`FeatureSet` or a list of feature names. Returns a lazy
    Ibis table (``.to_pyarrow()`` / ``.to_pandas()`` run it) with ``subscriber_id`` first and the
    features in set order, each cast to its declared dtype, counts filled for subscribers without
    rows. Nothing after the end of month T is read.

    Features whose inputs the store does not hold (an optional table or column the operator does
    not supply) are left out; :func:`churnradar.features.inputs.plan_features` names them and
    what they lack. ``skip_missing=False`` computes them anyway.

    ``partition`` computes the rows of one subscriber partition only (the union over a
    partitioning is the whole table); ``shared`` holds the nodes across subscribers already
    computed (:func:`shared_expressions`), which are otherwise computed within the query.
    """
    fs = _feature_set(feature_set)
    as_of = AsOf.parse(as_of)
    feats = _computed(backend, fs, skip_missing)
    resolver = _Resolver(
        _table_getter(backend),
        as_of,
        fs.nodes(),
        ["population", *(f.name for f in feats)],
        partition=partition,
        shared=shared,
    )
    population: ir.Table = resolver.get("population")
    pop_op = population.op()

    # group feature projections by their parent relation
    groups: dict[ops.Relation, dict[str, ops.Value]] = {}
    standalone: list[tuple[Feature, ir.Table]] = []
    for feat in feats:
        expr = resolver.get(feat.name)
        _check_shape(feat, expr)
        op = expr.op()
        if isinstance(op, ops.Project) and isinstance(op.values[KEY], ops.Field):
            groups.setdefault(op.parent, {KEY: op.values[KEY]})[feat.name] = op.values[feat.name]
        else:
            standalone.append((feat, expr))

    base_values: dict[str, ops.Value] = {}
    parts: list[ir.Table] = []
    for parent, values in groups.items():
        if parent == pop_op:
            base_values.update({k: v for k, v in values.items() if k != KEY})
        else:
            parts.append(ops.Project(parent=parent, values=values).to_expr())
    parts.extend(expr for _, expr in standalone)

    joined = population.select(KEY, **{k: v.to_expr() for k, v in base_values.items()})
    for i, part in enumerate(parts):
        key = f"_key{i}"
        part = part.rename({key: KEY})
        joined = joined.left_join(part, joined[KEY] == part[key])

    columns: dict[str, ir.Value] = {KEY: joined[KEY]}
    for feat in feats:
        col = joined[feat.name]
        if feat.fill is not None:
            col = col.fill_null(feat.fill)
        columns[feat.name] = col.cast(_IBIS_DTYPES[feat.dtype])
    return joined.select(**columns)


def feature_columns(feature_set: str | FeatureSet | Sequence[str] = "core") -> list[Feature]:
    """The features of a set, in order."""
    return _feature_set(feature_set).resolve()


__all__ = ["compute_features", "feature_columns", "feature_expressions", "shared_expressions"]
