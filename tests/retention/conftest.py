"""Fixtures of the retention tests: a fresh operational store per test (SQLite file)."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def ops(tmp_path, monkeypatch):
    from churnradar.opstore import dispose_all, open_ops

    monkeypatch.delenv("CHURNRADAR_DATABASE_URL", raising=False)
    engine = open_ops(url=f"sqlite:///{tmp_path / 'ops.sqlite'}")
    yield engine
    dispose_all()


@pytest.fixture
def members():
    """200 members in 2 segments × 2 regions."""
    return pd.DataFrame(
        {
            "subscriber_id": [f"U{i:05d}" for i in range(200)],
            "segment": ["high×high", "mid×high"] * 100,
            "region": ["YC01"] * 100 + ["YC02"] * 100,
        }
    )
