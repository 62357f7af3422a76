"""Simulated operators shared by the simulator tests (each built once per session)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from churnradar.schema import TABLES
from churnradar.simulate import simulate

SMALL = {"subscribers": 3_000, "months": 14, "seed": 5, "start": "2024-01"}
LARGE = {"subscribers": 50_000, "months": 15, "seed": 3, "start": "2024-01"}


@pytest.fixture(scope="session")
def sim_parquet(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim_parquet")
    simulate(out=out, fmt="parquet", **SMALL)
    return out


@pytest.fixture(scope="session")
def sim_csv(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim_csv")
    simulate(out=out, fmt="csv", **SMALL)
    return out


@pytest.fixture(scope="session")
def sim_large(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim_large")
    simulate(out=out, fmt="parquet", **LARGE)
    return out


def connect(folder: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table of ``folder`` and ``truth`` for the ground truth."""
    con = duckdb.connect()
    for name in TABLES:
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{folder / (name + '.parquet')}')")
    con.sql(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{folder / '_truth' / 'churn_truth.parquet'}')")
    return con


@pytest.fixture(scope="session")
def db(sim_large):
    con = connect(sim_large)
    yield con
    con.close()
