"""Fixtures of the operational-store tests: a fresh store on SQLite and (when
``CHURNRADAR_TEST_POSTGRES_URL`` is set, as scripts/test.sh does) on PostgreSQL."""

from __future__ import annotations

import os

import pytest
from tests.conftest import postgres_database

POSTGRES_ENV = "CHURNRADAR_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path, monkeypatch) -> str:
    """A fresh operational store: a SQLite file, or a new PostgreSQL database."""
    from churnradar.opstore import dispose_all

    monkeypatch.delenv("CHURNRADAR_DATABASE_URL", raising=False)
    if request.param == "sqlite":
        got = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    else:
        server = os.environ.get(POSTGRES_ENV)
        if not server:
            pytest.skip(
                f"{POSTGRES_ENV} is not set (scripts/test.sh starts a throwaway PostgreSQL and sets it)"
            )
        got = postgres_database(server, "churnradar_ops")
    yield got
    dispose_all()
