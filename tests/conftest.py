"""Shared fixtures: small simulated operators, ingested once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

TEST_KEY = "churnradar-test-key-not-secret"


@dataclass(frozen=True)
class SimulatedOperator:
    """A simulated operator on disk: raw files, ground truth and the ingested store."""

    data_dir: Path
    store: Path
    truth: Path
    subscribers: int
    months: int
    start: str
    seed: int


def build_operator(
    root: Path, subscribers: int, months: int, seed: int, start: str = "2024-01"
) -> SimulatedOperator:
    from churnradar.ingest import ingest
    from churnradar.simulate import simulate

    data = root / "data"
    simulate(subscribers=subscribers, months=months, seed=seed, out=data, fmt="parquet", start=start)
    store = root / "store.duckdb"
    ingest([data], store=store, key=TEST_KEY)
    return SimulatedOperator(
        data, store, data / "_truth" / "churn_truth.parquet", subscribers, months, start, seed
    )


@pytest.fixture(scope="session")
def small_operator(tmp_path_factory) -> SimulatedOperator:
    """3,000 subscribers × 12 months from 2024-01 (seed 11), simulated and ingested once."""
    return build_operator(tmp_path_factory.mktemp("small_operator"), subscribers=3_000, months=12, seed=11)


@pytest.fixture(scope="session")
def chromium_args() -> list[str]:
    """Command-line flags for Debian's headless chromium in the browser tests (SETUP-NOTES)."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
