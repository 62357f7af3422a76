"""Fixtures of the feature tests: stores to compute on (synthetic always, simulated when available)."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnradar.features.synthetic import SyntheticOperator, write_store


def _simulator_missing() -> str | None:
    try:
        from churnradar.ingest import ingest  # noqa: F401
        from churnradar.simulate import simulate  # noqa: F401
    except ImportError as exc:
        return f"the simulator or ingest is not available ({exc})"
    return None


@pytest.fixture(scope="session")
def synthetic_feature_store(tmp_path_factory) -> Path:
    """3,000 random canonical-shaped subscribers × 12 months from 2024-01 (features.synthetic)."""
    path = tmp_path_factory.mktemp("features_synthetic") / "store.duckdb"
    return write_store(SyntheticOperator(subscribers=3_000, months=12, seed=3), path)


@pytest.fixture(scope="session", params=["synthetic", "simulated"])
def any_store(request) -> Path:
    """Each store the point-in-time guarantees are checked on (simulated: tests/conftest.py)."""
    if request.param == "synthetic":
        return request.getfixturevalue("synthetic_feature_store")
    reason = _simulator_missing()
    if reason:
        pytest.skip(reason)
    return request.getfixturevalue("small_operator").store
