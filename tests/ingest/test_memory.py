"""``ingest --memory``: the batch runs within DuckDB's memory_limit from the budget, spilling to its
private folder, and the store's own setting is restored afterwards."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tests.ingest.conftest import KEY

from churnradar.cli import main
from churnradar.errors import ConfigError
from churnradar.ingest import ingest
from churnradar.simulate import simulate
from churnradar.store import Store


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("memory")
    simulate(subscribers=600, months=3, seed=3, out=out, fmt="parquet")
    return out


def test_a_small_budget_loads_the_same_rows(data: Path, tmp_path: Path) -> None:
    a = ingest([data], tmp_path / "a.duckdb", key=KEY)
    with Store.open(tmp_path / "b.duckdb") as st:
        before = st.connection.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        b = ingest([data], st, key=KEY, memory="64MB")
        assert st.connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] == before
    assert a.counts() == b.counts() and b.published
    rows = [
        duckdb.connect(str(p), read_only=True)
        .execute("SELECT count(*), round(sum(revenue), 2) FROM billing_monthly")
        .fetchone()
        for p in (tmp_path / "a.duckdb", tmp_path / "b.duckdb")
    ]
    assert rows[0] == rows[1]


def test_a_bad_budget_is_refused_before_anything_is_read(data: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(ConfigError, match="is not a size"):
        ingest([data], tmp_path / "c.duckdb", key=KEY, memory="lots")
    assert main(["ingest", str(data), "--store", str(tmp_path / "d.duckdb"), "--memory", "lots"]) == 1
    assert "--memory 'lots' is not a size" in capsys.readouterr().err


def test_running_out_of_the_budget_is_a_clear_error_and_publishes_nothing(
    data: Path, tmp_path: Path, monkeypatch
) -> None:
    from churnradar.errors import IngestError
    from churnradar.ingest import batch

    real = batch._Batch._check_tables

    def starved(self) -> None:  # DuckDB's error when an operator cannot spill within memory_limit
        real(self)
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate data of size 256.0 KiB")

    monkeypatch.setattr(batch._Batch, "_check_tables", starved)
    store = tmp_path / "e.duckdb"
    with pytest.raises(
        IngestError,
        match=r"needs more memory than --memory 953.7 MiB \(DuckDB 572.2 MiB\) allows; nothing was published",
    ):
        ingest([data], store, key=KEY, memory="1GB")
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM subscription").fetchone()[0] == 0
