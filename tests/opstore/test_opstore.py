"""One operational-store package: one engine per URL, every component migrated, one transaction
discipline (SQLite: BEGIN IMMEDIATE), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
import sqlalchemy as sa

from churnradar import opstore
from churnradar.errors import ConfigError
from churnradar.opstore import (
    COMPONENTS,
    RETENTION_MIGRATIONS,
    WEB_MIGRATIONS,
    current_version,
    migrate,
    open_engine,
    open_ops,
    schema_migration,
)


def test_one_engine_per_url_migrated_for_every_component(url):
    engine = open_engine(url)
    assert open_ops(url=url) is engine  # the web app and retention share it
    assert open_engine(url) is engine
    assert set(COMPONENTS) == {"web", "retention"}
    assert current_version(engine, "web") == len(WEB_MIGRATIONS)
    assert current_version(engine, "retention") == len(RETENTION_MIGRATIONS)
    tables = set(sa.inspect(engine).get_table_names())
    assert {"app_user", "web_session", "api_token", "login_attempt", "audit_log"} <= tables
    assert {t.name for t in opstore.TABLES} <= tables
    opstore.audit(engine, actor="admin", action="user.add", target="ana")
    assert opstore.read_audit(engine)[0]["target"] == "ana"


def test_dispose_all_forgets_the_engines(url):
    engine = open_engine(url)
    opstore.dispose_all()
    again = open_engine(url)
    assert again is not engine
    assert current_version(again, "retention") == len(RETENTION_MIGRATIONS)  # migrated once, kept


def test_in_memory_sqlite_is_a_new_migrated_database_each_time():
    a, b = open_engine("sqlite://"), open_engine("sqlite://")
    assert a is not b
    assert current_version(a, "web") == len(WEB_MIGRATIONS)


def test_a_migration_step_is_applied_once_and_new_steps_later(url):
    engine = open_engine(url)
    t1 = sa.Table("probe_one", sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True))
    t2 = sa.Table("probe_two", sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True))
    applied: list[str] = []

    def v1(conn):
        applied.append("v1")
        t1.create(conn)

    def v2(conn):
        applied.append("v2")
        t2.create(conn)

    assert migrate(engine, "probe", (v1,)) == 1
    assert migrate(engine, "probe", (v1,)) == 1
    assert migrate(engine, "probe", (v1, v2)) == 2
    assert applied == ["v1", "v2"]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema_migration.c.component, schema_migration.c.version)).all()
    assert ("probe", 2) in rows and len([r for r in rows if r[0] == "probe"]) == 1


def test_a_failed_step_leaves_nothing_behind(url):
    engine = open_engine(url)
    t = sa.Table("probe_failed", sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True))

    def bad(conn):
        t.create(conn)
        raise RuntimeError("step failed half way")

    with pytest.raises(RuntimeError, match="half way"):
        migrate(engine, "probe_bad", (bad,))
    assert current_version(engine, "probe_bad") == 0
    if engine.dialect.name == "postgresql" or engine.dialect.name == "sqlite":
        assert "probe_failed" not in sa.inspect(engine).get_table_names()  # DDL is transactional


def test_concurrent_first_opens_migrate_each_component_once(url):
    """Two processes open a fresh store at the same time: both succeed, each step applied once."""
    code = (
        "import sys; from churnradar.opstore import open_engine, current_version; "
        "e = open_engine(sys.argv[1]); print(current_version(e, 'web'), current_version(e, 'retention'))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    assert {out.strip() for out, _ in outs} == {f"{len(WEB_MIGRATIONS)} {len(RETENTION_MIGRATIONS)}"}
    with open_engine(url).connect() as conn:
        rows = conn.execute(sa.select(schema_migration.c.component)).scalars().all()
    assert sorted(rows) == ["retention", "web"]


def test_sqlite_transactions_begin_immediate(tmp_path, monkeypatch):
    """A transaction holds SQLite's write lock from its first statement, so a second writer waits
    for it (up to the timeout) instead of failing later on a lock upgrade."""
    monkeypatch.delenv("CHURNRADAR_DATABASE_URL", raising=False)
    path = tmp_path / "ops.sqlite"
    engine = open_engine(f"sqlite:///{path}")
    other = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    try:
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.count()).select_from(opstore.app_user))  # a read only
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free once the transaction ended
        other.execute("ROLLBACK")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        other.close()
        opstore.dispose_all()


def test_a_bad_url_is_named_without_its_password():
    with pytest.raises(
        ConfigError, match=r"operational store URL 'nosuch://ana:\*\*\*@host/db' is not usable"
    ):
        open_engine("nosuch://ana:secret@host/db")
