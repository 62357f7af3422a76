from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from tests.ingest._data import parent_sizes, write_csv_dataset

from churnradar.ingest import ingest
from churnradar.schema import TABLES
from churnradar.store import Store

KEY = b"test-key-0123456789abcdef-0123456789"


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their key explicitly; a key exported in the developer's shell must not leak in."""
    monkeypatch.delenv("CHURNRADAR_HMAC_KEY", raising=False)
    monkeypatch.delenv("CHURNRADAR_HMAC_KEY_FILE", raising=False)


@pytest.fixture
def parents(tmp_path: Path) -> Path:
    """A folder with valid region, package, channel, customer and subscription CSV files."""
    folder = tmp_path / "parents"
    write_csv_dataset(folder, parent_sizes(20))
    return folder


@pytest.fixture
def store_path(tmp_path: Path, parents: Path) -> Path:
    """A store already holding the parent tables (one published batch)."""
    path = tmp_path / "store.duckdb"
    ingest([parents], path, key=KEY)
    return path


def snapshot(store: Path | Store, with_batches: bool = True) -> dict[str, tuple[int, str]]:
    """Row count and a digest of the sorted rows of every table: equal snapshots, equal contents."""
    own = not isinstance(store, Store)
    con = duckdb.connect(str(store), read_only=True) if own else store.connection
    try:
        names = list(TABLES) + ["_meta", "_rejects"] + (["_batch"] if with_batches else [])
        out = {}
        for name in names:
            rows = con.execute(f'SELECT CAST(t AS VARCHAR) AS r FROM "{name}" t ORDER BY r').fetchall()
            h = hashlib.sha256("\n".join(r[0] for r in rows).encode()).hexdigest()
            out[name] = (len(rows), h)
        return out
    finally:
        if own:
            con.close()
