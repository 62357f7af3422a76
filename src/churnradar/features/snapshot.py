"""Write a feature set for one as-of month into the store's ``feature_snapshot`` table.

``feature_snapshot`` is a long-lived derived table: ``as_of`` (first day of month T),
``feature_set``, ``version`` (the set's ``full_version``), ``subscriber_id`` and one column per
feature. Columns of features first written by a newer or another set are added as needed; the
rows of one ``as_of`` + ``feature_set`` are replaced in one transaction (readers see the old rows
or the new ones, never a mix).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from churnradar.errors import ConfigError, StoreError
from churnradar.features.compute import _feature_set, compute_features, shared_expressions
from churnradar.features.inputs import FeaturePlan, plan_features
from churnradar.features.partitions import Partition, check_partitions, partitions_for
from churnradar.features.registry import FeatureSet
from churnradar.features.timeframe import AsOf

SNAPSHOT_TABLE = "feature_snapshot"
#: Features of a snapshot that were not computed, with the inputs the store lacks.
SKIPPED_TABLE = "feature_snapshot_skipped"

_SQL_TYPES = {"float64": "DOUBLE", "int64": "BIGINT", "boolean": "BOOLEAN", "string": "VARCHAR"}


@dataclass
class SnapshotResult:
    """What :func:`write_snapshot` wrote."""

    store: Path
    as_of: str
    feature_set: str
    version: str
    backend: str
    rows: int
    columns: int
    seconds: float
    features: list[str] = field(default_factory=list)
    #: features not computed: the store lacks an input (feature → the missing inputs)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    #: subscriber partitions the computation ran in (:mod:`churnradar.features.partitions`)
    partitions: int = 1

    def summary(self) -> dict[str, Any]:
        return {
            "store": str(self.store),
            "table": SNAPSHOT_TABLE,
            "as_of": self.as_of,
            "feature_set": self.feature_set,
            "version": self.version,
            "backend": self.backend,
            "rows": self.rows,
            "columns": self.columns,
            "features": len(self.features),
            "skipped": [{"feature": f, "missing": m} for f, m in self.skipped.items()],
            "partitions": self.partitions,
            "seconds": round(self.seconds, 2),
        }


def _connect_writable(store: Path) -> Any:
    from churnradar.store.connection import connect

    if not store.exists():
        raise StoreError(f"{store}: no such store")
    if store.is_dir():
        raise StoreError(f"{store} is a folder; feature snapshots are written into a DuckDB store file")
    try:
        return connect(store)
    except StoreError as exc:
        if "lock" in str(exc).lower():
            raise StoreError(f"store {store} is locked by another process; close it and retry") from None
        raise


def _publish(
    con: Any,
    sources: Sequence[str],
    fs: FeatureSet,
    as_of: AsOf,
    plan: FeaturePlan,
    inserted: Callable[[int], None] = lambda i: None,
) -> int:
    """Replace the snapshot rows of (as_of, feature set) with the rows of the ``sources`` queries
    (one per subscriber partition), atomically, and record which features were skipped."""
    feats = [f for f in fs.resolve() if f.name in set(plan.computed)]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f'CREATE TABLE IF NOT EXISTS "{SNAPSHOT_TABLE}" (as_of DATE NOT NULL, feature_set VARCHAR NOT NULL, '
            "version VARCHAR NOT NULL, subscriber_id VARCHAR NOT NULL)"
        )
        have = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND NOT internal",
                [SNAPSHOT_TABLE],
            ).fetchall()
        }
        for f in feats:
            if f.name not in have:
                con.execute(f'ALTER TABLE "{SNAPSHOT_TABLE}" ADD COLUMN "{f.name}" {_SQL_TYPES[f.dtype]}')
        con.execute(
            f'DELETE FROM "{SNAPSHOT_TABLE}" WHERE as_of = ? AND feature_set = ?', [as_of.month, fs.name]
        )
        cols = ", ".join(f'"{f.name}"' for f in feats)
        for i, source_sql in enumerate(sources):
            con.execute(
                f'INSERT INTO "{SNAPSHOT_TABLE}" (as_of, feature_set, version, subscriber_id, {cols}) '
                f"SELECT ?::DATE, ?, ?, subscriber_id, {cols} FROM ({source_sql}) AS src",
                [as_of.month, fs.name, fs.full_version],
            )
            inserted(i + 1)
        rows = con.execute(
            f'SELECT count(*) FROM "{SNAPSHOT_TABLE}" WHERE as_of = ? AND feature_set = ?',
            [as_of.month, fs.name],
        ).fetchone()[0]
        con.execute(
            f'CREATE TABLE IF NOT EXISTS "{SKIPPED_TABLE}" (as_of DATE NOT NULL, feature_set VARCHAR NOT NULL, '
            "feature VARCHAR NOT NULL, missing VARCHAR NOT NULL)"
        )
        con.execute(
            f'DELETE FROM "{SKIPPED_TABLE}" WHERE as_of = ? AND feature_set = ?', [as_of.month, fs.name]
        )
        if plan.skipped:
            con.executemany(
                f'INSERT INTO "{SKIPPED_TABLE}" VALUES (?, ?, ?, ?)',
                [[as_of.month, fs.name, f, ", ".join(m)] for f, m in plan.skipped.items()],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(rows)


def write_snapshot(
    store: str | Path,
    as_of: str | date | AsOf,
    feature_set: str | FeatureSet | Sequence[str] = "core",
    *,
    backend: str = "duckdb",
    partitions: int | None = None,
    progress: Callable[[str, float, float | None], None] | None = None,
) -> SnapshotResult:
    """Compute ``feature_set`` for ``as_of`` on ``backend`` and store it in ``feature_snapshot``.

    On DuckDB the computation and the insert run inside the store, in ``partitions`` subscriber
    partitions (None: as many as keep it within the connection's ``memory_limit``, see
    :mod:`churnradar.features.partitions`; usually one query); on Spark the features are computed
    from the store's Parquet export and the result is inserted into the store.
    """
    import ibis

    from churnradar.store.backends import BACKENDS, Backend, open_backend
    from churnradar.store.connection import memory_limit_of

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    store, as_of, fs = Path(store), AsOf.parse(as_of), _feature_set(feature_set)
    partitions = check_partitions(partitions)
    report = progress or (lambda task, done, total=None: None)
    started = time.perf_counter()
    steps = 3
    report("features", 0, steps)
    used = 1
    if backend == "duckdb":
        con = _connect_writable(store)
        try:
            con.execute("SET TimeZone = 'UTC'")
            ib = ibis.duckdb.from_connection(con)
            be = Backend("duckdb", ib, store)
            plan = plan_features(be, fs)
            used = partitions or partitions_for(_subscriptions(con), memory_limit_of(con))
            shared = _materialise_shared(con, ib, be, as_of, fs) if used > 1 else {}
            sources = [
                str(
                    ibis.to_sql(
                        compute_features(be, as_of, fs, partition=Partition(i, used), shared=shared),
                        dialect="duckdb",
                    )
                )
                for i in range(used)
            ]
            steps = used + 2
            report("features", 1, steps)
            rows = _publish(con, sources, fs, as_of, plan, lambda i: report("features", 1 + i, steps))
            for name in shared:
                con.execute(f'DROP TABLE IF EXISTS "{_SHARED_PREFIX}{name}"')
        finally:
            con.close()
    else:
        be = open_backend(store, backend)
        plan = plan_features(be, fs)
        expr = compute_features(be, as_of, fs)
        report("features", 1, steps)
        table = be.to_pyarrow(expr)
        con = _connect_writable(store)
        try:
            con.register("_features_src", table)
            rows = _publish(con, ["SELECT * FROM _features_src"], fs, as_of, plan)
        finally:
            con.close()
    report("features", steps, steps)
    feats = list(plan.computed)
    return SnapshotResult(
        store=store,
        as_of=str(as_of),
        feature_set=fs.name,
        version=fs.full_version,
        backend=backend,
        rows=rows,
        columns=4 + len(feats),
        seconds=time.perf_counter() - started,
        features=feats,
        skipped=dict(plan.skipped),
        partitions=used,
    )


_SHARED_PREFIX = "_features_shared_"


def _subscriptions(con: Any) -> int:
    """Subscriptions in the store (what a feature computation's memory grows with)."""
    from churnradar.store.connection import has_table

    return (
        int(con.execute("SELECT count(*) FROM subscription").fetchone()[0])
        if has_table(con, "subscription")
        else 0
    )


def _materialise_shared(con: Any, ib: Any, be: Any, as_of: AsOf, fs: FeatureSet) -> dict[str, Any]:
    """The nodes across subscribers, each computed once into a temporary table."""
    import ibis

    out = {}
    for name, expr in shared_expressions(be, as_of, fs).items():
        table = f"{_SHARED_PREFIX}{name}"
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{table}" AS {ibis.to_sql(expr, dialect="duckdb")}')
        out[name] = ib.sql(f'SELECT * FROM "{table}"', dialect="duckdb")
    return out
