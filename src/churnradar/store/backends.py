"""Analytical backends behind one Ibis interface: DuckDB (default) and Apache Spark.

Labels, features and reports are Ibis expressions over the canonical tables; they run unchanged on
either backend. DuckDB reads the store file (or a folder of Parquet files); Spark reads Parquet — a
DuckDB store is exported to Parquet once (``export_parquet``) and Spark reads that folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnradar.errors import ConfigError, StoreError
from churnradar.store.connection import apply_limits, duckdb_out_of_memory

if TYPE_CHECKING:
    import ibis.expr.types as ir

BACKENDS = ("duckdb", "spark")

log = logging.getLogger("churnradar.store")

_SPARK_SESSION: Any = None


@dataclass
class Backend:
    """An Ibis connection with the canonical tables registered under their own names."""

    name: str
    con: Any
    source: Path
    #: DuckDB SQL compiled from an expression, by the expression: compiling a feature set takes
    #: 0.1–0.5 s, so running the same expression again (another run of a report, a benchmark
    #: repeat) reuses it. Expressions are compared structurally, so a rebuilt one hits too.
    _sql: dict[Any, str] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> ir.Table:
        return self.con.table(name)

    def has_table(self, name: str) -> bool:
        return name in self.con.list_tables()

    def to_pyarrow(self, expr: ir.Expr) -> Any:
        if self.name != "duckdb":
            return self.con.to_pyarrow(expr)
        from ibis.backends.duckdb.converter import DuckDBPyArrowData

        table_expr = expr.as_table()
        self.con._run_pre_execute_hooks(table_expr)  # registers in-memory tables, as to_pyarrow does
        op = table_expr.op()
        sql = self._sql.get(op)
        if sql is None:
            if len(self._sql) >= 64:
                self._sql.pop(next(iter(self._sql)))
            sql = self._sql[op] = self.con.compile(table_expr)
        table = arrow_within_memory(self.con.con, sql)
        return expr.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)

    def close(self) -> None:
        # drop the tables of ``.cache()`` while the connection is open: left to the garbage
        # collector, their finalizers would run after it closed and print tracebacks at exit
        for name in list(getattr(self.con, "_cache_name_to_entry", {})):
            with contextlib.suppress(Exception):
                self.con._finalize_cached_table(name)
        if self.name == "duckdb":
            self.con.disconnect()


def arrow_within_memory(con: Any, sql: str) -> Any:
    """The Arrow table of a DuckDB query; run again on one thread if it ran out of memory on more.

    Under a ``memory_limit`` each of DuckDB's threads pins its own blocks (hash tables, sort runs,
    the result being collected), so a query that cannot spill enough on two threads may fit on one
    (a month's features of the 3,000-line test operator pinned 580 MiB on two threads, 360 MiB on
    one). The threads setting is restored; a second failure is raised as it is."""
    import duckdb

    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        if not duckdb_out_of_memory(exc):
            raise
        threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
        if threads <= 1:
            raise
        log.warning(
            "DuckDB ran out of memory on %d threads (%s); running the query again on one",
            threads,
            str(exc).splitlines()[0][:200],
        )
        con.execute("SET threads = 1")
        try:
            return con.sql(sql).to_arrow_table()
        finally:
            con.execute(f"SET threads = {threads}")


def spark_session(master: str = "local[2]") -> Any:
    """The process-wide Spark session (started once; starting takes ~10 s)."""
    global _SPARK_SESSION
    if _SPARK_SESSION is not None:
        return _SPARK_SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "the spark backend needs PySpark: pip install 'churnradar[spark]' (and Java 17)"
        ) from exc
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
    session = (
        SparkSession.builder.master(master)
        .appName("churnradar")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", os.environ.get("CHURNRADAR_SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    _SPARK_SESSION = session
    return session


def export_parquet(store_path: Path, out_dir: Path, tables: list[str] | None = None) -> Path:
    """Write every table of a DuckDB store to ``out_dir/<table>.parquet`` (what Spark reads)."""
    import duckdb

    store_path, out_dir = Path(store_path), Path(out_dir)
    if not store_path.exists():
        raise StoreError(f"{store_path}: no such store")
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        names = tables or [
            r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()
        ]
        for name in names:
            if name.startswith("_"):
                continue
            target = out_dir / f"{name}.parquet"
            tmp = out_dir / f".{name}.parquet.tmp"
            con.sql(f"COPY \"{name}\" TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
            tmp.replace(target)
    finally:
        con.close()
    return out_dir


def _parquet_tables(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob("*.parquet")) if not p.name.startswith(".")}


def open_backend(source: Path | str, backend: str = "duckdb") -> Backend:
    """Open ``source`` (a DuckDB store file or a folder of ``<table>.parquet``) on ``backend``."""
    import ibis

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    source = Path(source)
    if not source.exists():
        raise StoreError(f"{source}: no such store or Parquet folder")
    if backend == "duckdb":
        if source.is_dir():
            con = ibis.duckdb.connect()
            for name, path in _parquet_tables(source).items():
                con.read_parquet(str(path), table_name=name)
        else:
            con = ibis.duckdb.connect(str(source), read_only=True)
        con.raw_sql("SET TimeZone = 'UTC'")
        apply_limits(con.con)
        return Backend("duckdb", con, source)
    # spark
    folder = source
    if not source.is_dir():
        folder = source.with_name(source.name + ".parquet")
        if not folder.exists() or folder.stat().st_mtime < source.stat().st_mtime:
            export_parquet(source, folder)
    session = spark_session()
    for name, path in _parquet_tables(folder).items():
        session.read.parquet(str(path)).createOrReplaceTempView(name)
    return Backend("spark", ibis.pyspark.connect(session), folder)
