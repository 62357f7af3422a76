"""One SQLAlchemy engine per operational-store URL, migrated for every component, one transaction
discipline.

SQLite (the default: a file beside the analytical store) runs in WAL mode with foreign keys on, and
every transaction starts with ``BEGIN IMMEDIATE``: writers queue on the database lock (30 s
timeout) instead of failing when a read transaction tries to upgrade to a write. PostgreSQL uses
its own transactions (read committed) with a pre-ping pool.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from churnradar.errors import ConfigError
from churnradar.opstore.migrations import migrate
from churnradar.opstore.retention import RETENTION_MIGRATIONS
from churnradar.opstore.web import WEB_MIGRATIONS

DATABASE_URL_ENV = "CHURNRADAR_DATABASE_URL"

#: Every component's migrations, applied in this order when an engine is opened.
COMPONENTS: dict[str, tuple[Any, ...]] = {"web": WEB_MIGRATIONS, "retention": RETENTION_MIGRATIONS}

#: SQLite's wait for the database lock (seconds).
SQLITE_TIMEOUT = 30

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def default_url(store_path: str | Path | None) -> str:
    """``CHURNRADAR_DATABASE_URL`` if set, else a SQLite file beside the analytical store."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    if store_path is None:
        raise ConfigError(f"no operational store: set {DATABASE_URL_ENV} or give the analytical store path")
    p = Path(store_path)
    return f"sqlite:///{p.with_name(p.stem + '.ops.sqlite')}"


def ops_url(store_path: str | Path | None = None, url: str | None = None) -> str:
    """``url`` if given, else ``CHURNRADAR_DATABASE_URL``, else ``<store>.ops.sqlite`` beside the store."""
    return url or default_url(store_path)


def _normalise(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _in_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:")


def _create(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(
                url, connect_args={"check_same_thread": False, "timeout": SQLITE_TIMEOUT}
            )
            _sqlite_discipline(engine, wal=not _in_memory(url))
            return engine
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"operational store URL {_redact(url)!r} is not usable: {exc}") from None


def _sqlite_discipline(engine: Engine, wal: bool) -> None:
    """Foreign keys, WAL, and ``BEGIN IMMEDIATE`` emitted by SQLAlchemy itself (the driver's own
    deferred ``BEGIN`` is switched off)."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_con: Any, _rec: Any) -> None:
        dbapi_con.isolation_level = None  # autocommit driver: SQLAlchemy emits BEGIN below
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(url: str) -> Engine:
    """The engine of ``url`` (``sqlite:///file``, ``sqlite://`` or ``postgresql://...``), migrated
    for every component (:data:`COMPONENTS`): one per URL and process. An in-memory SQLite URL
    gives a new database each time."""
    url = _normalise(url)
    if _in_memory(url):
        engine = _create(url)
        _migrate_all(engine)
        return engine
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _create(url)
            try:
                _migrate_all(engine)
            except Exception:
                engine.dispose()
                raise
            _ENGINES[url] = engine
    return engine


def open_ops(store_path: str | Path | None = None, url: str | None = None) -> Engine:
    """The operational store of the analytical store at ``store_path`` (or of ``url``):
    :func:`open_engine` of :func:`ops_url`."""
    return open_engine(ops_url(store_path, url))


def _migrate_all(engine: Engine) -> None:
    for component, steps in COMPONENTS.items():
        migrate(engine, component, steps)


def dispose_all() -> None:
    """Close every cached engine (tests, forked workers); the next open creates them again."""
    with _LOCK:
        for e in _ENGINES.values():
            e.dispose()
        _ENGINES.clear()


def _redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid URL>"
