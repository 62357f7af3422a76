"""The analytical store on DuckDB: one file holding the canonical tables and ingest metadata.

Layout of a store file:

* every canonical table of :data:`churnradar.schema.TABLES`, created from ``Table.create_sql``;
* ``_meta(key, value)``: ``format`` (``churnradar-store``), ``format_version`` and, once a batch
  with raw identifiers was pseudonymised, ``key_fingerprint`` (an HMAC of a fixed text, never the
  key itself), so that a batch hashed under a different key is refused;
* ``_batch``: one row per published batch: id, time, on-error mode, per-table counts (JSON) and the
  files with their content SHA-256 (JSON);
* ``_rejects``: one row per problem of a quarantined input row: batch, table, file, line, column,
  value (masked for identifiers), expected/reason.
"""

from __future__ import annotations

import contextlib
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from churnradar.errors import StoreError
from churnradar.schema import TABLES
from churnradar.store.connection import apply_limits

if TYPE_CHECKING:
    import ibis.backends.duckdb


@functools.cache
def _digest_compression() -> str | None:
    """``fsst`` when this DuckDB takes a column's compression in ``CREATE TABLE`` (``USING
    COMPRESSION``), else None (DuckDB then chooses per segment, as for every other column). Writing
    6,000,000 digests costs about a third less CPU when DuckDB need not try dictionaries first; the
    file is the same size."""
    with duckdb.connect() as con:
        try:
            con.execute('CREATE TABLE t ("h" VARCHAR USING COMPRESSION fsst)')
        except duckdb.Error:
            return None
    return "fsst"


FORMAT = "churnradar-store"
FORMAT_VERSION = "1"

META_TABLES: dict[str, str] = {
    "_meta": 'CREATE TABLE IF NOT EXISTS "_meta" (key VARCHAR NOT NULL, value VARCHAR)',
    "_batch": """CREATE TABLE IF NOT EXISTS "_batch" (
  batch_id VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL,
  on_error VARCHAR NOT NULL,
  "read" BIGINT NOT NULL,
  loaded BIGINT NOT NULL,
  rejected BIGINT NOT NULL,
  tables VARCHAR NOT NULL,
  files VARCHAR NOT NULL
)""",
    "_rejects": """CREATE TABLE IF NOT EXISTS "_rejects" (
  batch_id VARCHAR NOT NULL,
  table_name VARCHAR NOT NULL,
  file VARCHAR NOT NULL,
  line BIGINT,
  column_name VARCHAR,
  value VARCHAR,
  reason VARCHAR NOT NULL
)""",
}


class Store:
    """An open analytical store (a DuckDB file). Create or open one with :meth:`Store.open`."""

    def __init__(self, path: Path, connection: duckdb.DuckDBPyConnection):
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = connection

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Store:
        """Open the store at ``path``, creating the file and all canonical tables when missing.

        Raises :class:`StoreError` when the file is not a DuckDB file, is a DuckDB file that is not a
        churnradar store, or is locked by another process.
        """
        path = Path(path)
        existed = path.exists() and path.stat().st_size > 0
        if read_only and not existed:
            raise StoreError(f"store {path} does not exist")
        if path.is_dir():
            raise StoreError(f"store {path} is a folder; expected a DuckDB file such as operator.duckdb")
        if not path.parent.exists():
            raise StoreError(f"store {path}: folder {path.parent} does not exist")
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            msg = str(exc)
            if "lock" in msg.lower():
                raise StoreError(
                    f"store {path} is locked by another process (another ingest or an open session); "
                    "close it and retry"
                ) from None
            if "not a valid DuckDB database" in msg or "invalid" in msg.lower():
                raise StoreError(f"{path} is not a churnradar store (not a DuckDB database file)") from None
            raise StoreError(f"cannot open store {path}: {msg}") from None
        apply_limits(con)
        store = cls(path, con)
        try:
            store._check_or_create(existed, read_only)
        except BaseException:
            con.close()
            raise
        return store

    def _check_or_create(self, existed: bool, read_only: bool) -> None:
        con = self.connection
        names = {
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()
        }
        if "_meta" in names:
            fmt = dict(con.execute("SELECT key, value FROM _meta").fetchall())
            if fmt.get("format") != FORMAT:
                raise StoreError(
                    f"{self.path} is not a churnradar store (its _meta table has no store format)"
                )
            if fmt.get("format_version") != FORMAT_VERSION:
                raise StoreError(
                    f"store {self.path} has format version {fmt.get('format_version')!r}; "
                    f"this churnradar reads version {FORMAT_VERSION}"
                )
            missing = [t for t in (*TABLES, *META_TABLES) if t not in names]
            if not missing or read_only:
                return
        elif names:
            raise StoreError(
                f"{self.path} is not a churnradar store: it is a DuckDB database with other tables "
                f"({', '.join(sorted(names)[:5])}…)"
            )
        elif read_only:
            raise StoreError(f"{self.path} is not a churnradar store (empty database)")
        # create everything in one transaction: a store is either complete or not a store
        con.execute("BEGIN TRANSACTION")
        try:
            for ddl in META_TABLES.values():
                con.execute(ddl)
            compression = _digest_compression()
            for table in TABLES.values():
                con.execute(table.create_sql(digest_compression=compression))
            if "_meta" not in names:
                con.execute(
                    "INSERT INTO _meta VALUES ('format', ?), ('format_version', ?)", [FORMAT, FORMAT_VERSION]
                )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # -- accessors ---------------------------------------------------------------------------
    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (one per store object)."""
        if self._con is None:
            raise StoreError(f"store {self.path} is closed")
        return self._con

    def ibis(self) -> ibis.backends.duckdb.Backend:
        """An Ibis DuckDB backend sharing this store's connection (for labels, features, reports)."""
        import ibis

        return ibis.duckdb.from_connection(self.connection)

    def table_counts(self) -> dict[str, int]:
        """Row count of every canonical table, in load order."""
        con = self.connection
        return {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in TABLES}

    def meta(self) -> dict[str, str]:
        return dict(self.connection.execute("SELECT key, value FROM _meta").fetchall())

    def batches(self) -> list[dict[str, Any]]:
        """Published batches, oldest first, with their per-table counts and files."""
        rows = self.connection.execute(
            'SELECT batch_id, created_at, on_error, "read", loaded, rejected, tables, files '
            "FROM _batch ORDER BY created_at, batch_id"
        ).fetchall()
        return [
            {
                "batch_id": r[0],
                "created_at": r[1],
                "on_error": r[2],
                "read": r[3],
                "loaded": r[4],
                "rejected": r[5],
                "tables": json.loads(r[6]),
                "files": json.loads(r[7]),
            }
            for r in rows
        ]

    def rejects(self, batch_id: str | None = None) -> list[dict[str, Any]]:
        """Rows of ``_rejects`` (all batches, or one)."""
        sql = "SELECT batch_id, table_name, file, line, column_name, value, reason FROM _rejects"
        params: list[Any] = []
        if batch_id is not None:
            sql += " WHERE batch_id = ?"
            params.append(batch_id)
        cur = self.connection.execute(sql + " ORDER BY file, line, column_name", params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def close(self) -> None:
        if self._con is not None:
            with contextlib.suppress(duckdb.Error):
                self._con.close()
            self._con = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"
