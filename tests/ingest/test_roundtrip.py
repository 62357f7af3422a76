"""Simulate an operator, ingest what the simulator wrote: every row arrives, nothing is rejected."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ingest.conftest import KEY

from churnradar.ingest import ingest
from churnradar.schema import TABLES
from churnradar.store import Store

simulate = pytest.importorskip("churnradar.simulate").simulate


def test_simulated_operator_round_trips_through_ingest(tmp_path: Path) -> None:
    sim = simulate(subscribers=2_000, months=6, seed=3, out=tmp_path / "sim")
    result = ingest([tmp_path / "sim"], tmp_path / "s.duckdb", key=KEY)
    written = {name: n for name, n in sim.rows.items() if name in TABLES}  # ground truth is not ingested
    assert result.rejected == 0, [str(e) for e in result.errors[:5]]
    assert {name: c.loaded for name, c in result.tables.items()} == written
    with Store.open(tmp_path / "s.duckdb") as store:
        counts = store.table_counts()
        assert {name: counts[name] for name in written} == written
        assert not store.connection.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'churn_truth'"
        ).fetchone()[0]
