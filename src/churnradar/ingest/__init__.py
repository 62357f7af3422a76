"""Ingest: read CSV/Parquet files, validate them against the canonical schema, pseudonymise
identifiers with keyed HMAC-SHA256 and publish them atomically into the analytical store.

>>> from churnradar.ingest import ingest
>>> result = ingest(["data/"], store="operator.duckdb", on_error="quarantine")  # doctest: +SKIP
>>> result.counts()  # doctest: +SKIP
{'read': ..., 'loaded': ..., 'rejected': ..., 'tables': {...}}
"""

from churnradar.ingest.batch import Counts, FileReport, IngestResult, RowError, ingest
from churnradar.ingest.pseudonymise import KEY_ENV, KEY_FILE_ENV, hmac_hex, resolve_key

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "Counts",
    "FileReport",
    "IngestResult",
    "RowError",
    "hmac_hex",
    "ingest",
    "resolve_key",
]
