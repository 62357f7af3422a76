"""Fixtures of the operational-store tests: a fresh store on SQLite and (when
``CHURNRADAR_TEST_POSTGRES_URL`` is set, as scripts/test.sh does) on PostgreSQL."""

from __future__ import annotations

import os
import secrets

import pytest

POSTGRES_ENV = "CHURNRADAR_TEST_POSTGRES_URL"


def _postgres_database(url: str) -> str:
    """A fresh database on the test server; returns its URL."""
    import psycopg
    import sqlalchemy as sa

    base = sa.engine.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"churnradar_ops_{secrets.token_hex(4)}"
    with psycopg.connect(
        host=base.host,
        port=base.port,
        user=base.username,
        password=base.password,
        dbname=base.database or "postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False)


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
        got = _postgres_database(server)
    yield got
    dispose_all()
