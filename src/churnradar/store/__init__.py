"""Analytical store: the canonical tables in one DuckDB file, plus ingest metadata."""

from churnradar.store.connection import connect, has_table
from churnradar.store.duckdb_store import FORMAT, FORMAT_VERSION, META_TABLES, Store

__all__ = ["FORMAT", "FORMAT_VERSION", "META_TABLES", "Store", "connect", "has_table"]
