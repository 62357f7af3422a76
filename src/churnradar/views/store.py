"""The store the views read: one read-only connection with the catalogue and series cached.

:class:`ReadStore` wraps a DuckDB connection from :func:`churnradar.store.connect` (opened
read-only by :meth:`ReadStore.open`, or any connection handed in). Each read takes its own cursor
(DuckDB cursors are independent connections to the same database and safe to use from different
threads). The store does not change while it is open read-only, so the table list and columns,
the region rows, the months of data, the newest score batch and the metrics layer's series are
computed once and kept.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

from churnradar.errors import StoreError

#: series of the metrics layer kept per store (by months, grids, metric ids and breakdown)
SERIES_CACHE_SIZE = 256


class ReadStore:
    """Read access to one analytical store, shared by every view."""

    def __init__(self, con: Any, path: str | Path | None = None):
        self.con = con
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._tables: set[str] | None = None
        self._region_rows: list[tuple[str, str]] | None = None
        self._data_months: tuple[date, date] | None = None
        self._series: dict[tuple, Any] = {}
        self._memo: dict[str, Any] = {}

    @classmethod
    def open(cls, path: str | Path) -> ReadStore:
        """The store at ``path``, opened read-only (a clear error when it is missing or locked)."""
        from churnradar.store import connect

        p = Path(path)
        if not p.exists():
            raise StoreError(f"{p}: no such store; run `churnradar ingest` or `churnradar demo` first")
        return cls(connect(p, read_only=True), p)

    def cursor(self) -> Any:
        with self._lock:
            return self.con.cursor()

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """The rows of a query as dicts (NaN read as None)."""
        res = self.cursor().execute(sql, params or [])
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, (_plain(v) for v in r), strict=True)) for r in res.fetchall()]

    def value(self, sql: str, params: list[Any] | None = None) -> Any:
        """The first column of the first row of a query (None without rows)."""
        r = self.cursor().execute(sql, params or []).fetchone()
        return r[0] if r else None

    # -- catalogue --------------------------------------------------------------------------------
    def tables(self) -> set[str]:
        if self._tables is None:
            found = self.cursor().execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal")
            self._tables = {r[0] for r in found.fetchall()}
        return self._tables

    def has(self, table: str) -> bool:
        return table in self.tables()

    def columns(self, table: str) -> list[str]:
        def read() -> list[str]:
            found = self.cursor().execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]
            )
            return [r[0] for r in found.fetchall()]

        return list(self.memo(f"columns:{table}", read))

    def region_rows(self) -> list[tuple[str, str]]:
        """(grid_id, county_id) of every grid."""
        if self._region_rows is None:
            found = self.cursor().execute("SELECT grid_id, county_id FROM region")
            self._region_rows = [tuple(r) for r in found.fetchall()]
        return self._region_rows

    def memo(self, key: str, build: Any) -> Any:
        """``build()``, computed once per store under ``key`` (the store does not change)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = build()
        with self._lock:
            return self._memo.setdefault(key, value)

    # -- the metrics layer ------------------------------------------------------------------------
    def backend(self) -> Any:
        """An Ibis backend on a cursor of this store (the metrics layer reads through it)."""
        import ibis

        from churnradar.store.backends import Backend

        return Backend("duckdb", ibis.duckdb.from_connection(self.cursor()), self.path)

    def data_months(self) -> tuple[date, date]:
        """First and last month of usage data."""
        if self._data_months is None:
            from churnradar.metrics.compute import Scoped

            bk = self.backend()
            try:
                self._data_months = Scoped(bk).data_months
            finally:
                bk.close()
        return self._data_months

    def series(self, months: list[date], grids: frozenset[str] | None, ids: list[str], by: tuple = ()) -> Any:
        """:func:`churnradar.metrics.series` on this store (a copy of the kept frame)."""
        from churnradar.metrics import series

        key = (tuple(months), grids, tuple(ids), by)
        with self._lock:
            hit = self._series.get(key)
        if hit is not None:
            return hit.copy()
        bk = self.backend()
        try:
            df = series(bk, months, grids, ids, by)
        finally:
            bk.close()
        with self._lock:
            if len(self._series) >= SERIES_CACHE_SIZE:
                self._series.pop(next(iter(self._series)))
            self._series[key] = df
        return df.copy()


def as_store(store: ReadStore | Any, path: str | Path | None = None) -> ReadStore:
    """``store`` as a :class:`ReadStore`: itself, or a DuckDB connection wrapped."""
    return store if isinstance(store, ReadStore) else ReadStore(store, path)


def _plain(v: Any) -> Any:
    if isinstance(v, float) and v != v:  # NaN
        return None
    return v
