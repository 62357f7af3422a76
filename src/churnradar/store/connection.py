"""The one place a DuckDB connection is opened: the store file, or an in-memory scratch database.

Every module that reads or writes the analytical store goes through :func:`connect`, so the store's
settings (read-only opening, a clear error for a missing file, memory and temp-directory limits)
are applied in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from churnradar.errors import ChurnRadarError, StoreError

#: DuckDB's ``memory_limit`` (bytes) for every store connection opened within :func:`memory_limit`.
_LIMIT: list[int] = []


@contextlib.contextmanager
def memory_limit(nbytes: int | None) -> Iterator[None]:
    """Within the block, every store connection gets DuckDB's ``memory_limit`` of ``nbytes``
    (None: DuckDB's own default). The monthly cycle runs each stage within its budget's DuckDB share,
    so a stage that has no budget of its own (labels, features, metrics, monitoring) still spills
    to disk beyond it rather than growing to DuckDB's default of 80% of the machine."""
    if nbytes is None:
        yield
        return
    _LIMIT.append(int(nbytes))
    try:
        yield
    finally:
        _LIMIT.pop()


def set_memory_limit(con: Any, nbytes: int) -> None:
    """Set DuckDB's ``memory_limit`` of a connection to ``nbytes`` (whole MiB)."""
    con.execute(f"SET memory_limit = '{int(nbytes) // 2**20}MiB'")


def memory_limit_of(con: Any) -> int | None:
    """A connection's DuckDB ``memory_limit`` in bytes (None when unlimited)."""
    from churnradar.models.memory import parse_memory

    text = str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
    try:
        return parse_memory(text)
    except ChurnRadarError:
        return None


def duckdb_out_of_memory(exc: BaseException) -> bool:
    """True for DuckDB's out-of-memory errors (raised when ``memory_limit`` cannot be kept)."""
    name = type(exc).__name__
    return name == "OutOfMemoryException" or "out of memory" in str(exc).lower()


def apply_limits(con: Any) -> None:
    """The store's settings on a DuckDB connection: DuckDB's own progress bar off (it prints to
    stdout, into a command's ``--json`` output, once a query runs over two seconds; the commands
    show their own), and the current :func:`memory_limit` (none outside one)."""
    con.execute("SET enable_progress_bar = false")
    if _LIMIT:
        set_memory_limit(con, _LIMIT[-1])


def connect(
    path: str | Path | None = None, *, read_only: bool = False, config: dict[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to the store at ``path``, or to a fresh in-memory database when
    ``path`` is None (scratch work: reading a file, comparing two tables).

    Opening a store read-only that does not exist is an error naming the file (DuckDB would
    otherwise say only that it cannot open it).
    """
    if path is None:
        return duckdb.connect(config=config or {})
    p = Path(path)
    if read_only and not p.exists():
        raise StoreError(f"{p}: no such store (run `churnradar ingest` first, or check --store)")
    try:
        con = duckdb.connect(str(p), read_only=read_only, config=config or {})
    except duckdb.IOException as e:
        raise StoreError(f"{p}: cannot open the store: {e}") from e
    apply_limits(con)
    return con


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Does the connected store hold a (non-internal) table named ``table``?"""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT internal", [table]
    ).fetchone()
    return bool(row and row[0])
