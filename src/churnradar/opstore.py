"""The operational store: what the web app writes concurrently (users, sessions, tokens, audit log; retention adds campaigns and outcomes).

SQLAlchemy Core on SQLite by default (a file beside the analytical store) or PostgreSQL when
``CHURNRADAR_DATABASE_URL`` (or an explicit URL) says so. The schema is built by small versioned
migrations per *component* (``web`` here; other modules such as retention register their own), and
their applied versions are kept in ``schema_migration``:

>>> from churnradar.opstore import open_engine, migrate, WEB_MIGRATIONS
>>> engine = open_engine("sqlite://")            # in memory
>>> migrate(engine, "web", WEB_MIGRATIONS)
1
>>> audit(engine, actor="admin", action="user.add", target="ana")
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from churnradar.errors import ConfigError

DATABASE_URL_ENV = "CHURNRADAR_DATABASE_URL"

metadata = sa.MetaData()

schema_migration = sa.Table(
    "schema_migration",
    metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

app_user = sa.Table(
    "app_user",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    # comma-separated county or grid ids; empty for all-region roles
    sa.Column("regions", sa.String(1024), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

web_session = sa.Table(
    "web_session",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),  # sha256 of the cookie value
    sa.Column("user_id", sa.Integer, sa.ForeignKey("app_user.user_id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

api_token = sa.Table(
    "api_token",
    metadata,
    sa.Column("token_id", sa.String(16), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("app_user.user_id", ondelete="CASCADE"), nullable=False),
    sa.Column("label", sa.String(128), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)

login_attempt = sa.Table(
    "login_attempt",
    metadata,
    sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Index("ix_login_attempt_username_at", "username", "at"),
    sa.Index("ix_login_attempt_client_at", "client", "at"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(255), nullable=False, server_default=""),
    sa.Column("client", sa.String(64), nullable=False, server_default=""),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
    sa.Index("ix_audit_log_at", "at"),
)


def _web_v1(conn: Connection) -> None:
    for t in (app_user, web_session, api_token, login_attempt, audit_log):
        t.create(conn, checkfirst=True)


#: The web app's migrations, applied in order; append, never edit a released one.
WEB_MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_web_v1,)


def now() -> datetime:
    return datetime.now(UTC)


def default_url(store_path: str | Path | None) -> str:
    """``CHURNRADAR_DATABASE_URL`` if set, else a SQLite file beside the analytical store."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    if store_path is None:
        raise ConfigError(f"no operational store: set {DATABASE_URL_ENV} or give the analytical store path")
    p = Path(store_path)
    return f"sqlite:///{p.with_name(p.stem + '.ops.sqlite')}"


def open_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url`` (``sqlite:///file``, ``sqlite://`` or ``postgresql://...``)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_con: Any, _rec: Any) -> None:
                cur = dbapi_con.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                if url not in ("sqlite://", "sqlite:///:memory:"):
                    cur.execute("PRAGMA journal_mode=WAL")
                cur.close()

            return engine
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"operational store URL {_redact(url)!r} is not usable: {exc}") from None


def _redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid URL>"


def migrate(engine: Engine, component: str, steps: Sequence[Callable[[Connection], None]]) -> int:
    """Apply ``component``'s migrations not applied yet, each in its own transaction; return the version."""
    schema_migration.create(engine, checkfirst=True)
    version = current_version(engine, component)
    for i, step in enumerate(steps[version:], start=version + 1):
        with engine.begin() as conn:
            step(conn)
            row = {"component": component, "version": i, "applied_at": now()}
            if i == 1:
                conn.execute(schema_migration.insert().values(**row))
            else:
                conn.execute(
                    schema_migration.update().where(schema_migration.c.component == component).values(**row)
                )
    return max(version, len(steps))


def current_version(engine: Engine, component: str) -> int:
    with engine.connect() as conn:
        v = conn.execute(
            sa.select(schema_migration.c.version).where(schema_migration.c.component == component)
        ).scalar()
    return int(v or 0)


def audit(
    engine_or_conn: Engine | Connection,
    *,
    actor: str,
    action: str,
    target: str = "",
    client: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one row to ``audit_log`` (who did what to which thing, from where)."""
    row = {
        "at": now(),
        "actor": actor,
        "action": action,
        "target": str(target)[:255],
        "client": client[:64],
        "detail": json.dumps(detail or {}, ensure_ascii=False, default=str),
    }
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.begin() as conn:
            conn.execute(audit_log.insert().values(**row))
    else:
        engine_or_conn.execute(audit_log.insert().values(**row))


def read_audit(engine: Engine, limit: int = 100, action: str | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` audit rows, newest first."""
    q = sa.select(audit_log).order_by(audit_log.c.audit_id.desc()).limit(limit)
    if action:
        q = q.where(audit_log.c.action == action)
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [{**r, "detail": json.loads(r["detail"] or "{}")} for r in rows]
