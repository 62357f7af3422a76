"""The web app's component: users, sessions, API tokens, login attempts and the audit log.

``audit_log`` is shared: every component appends to it (retention records each write there, in the
same transaction as the write).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from churnradar.errors import ConfigError
from churnradar.opstore.migrations import now

COMPONENT = "web"

metadata = sa.MetaData()

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


#: rows per page of :func:`audit_page` at most
MAX_AUDIT_PAGE = 500


def audit_page(
    engine: Engine,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: date | None = None,
    until: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> dict[str, Any]:
    """One page of the audit log, newest first, with the number of matching rows.

    ``actor`` matches the account exactly; ``action`` matches an action (``user.add``) or a family
    of them (``user``: ``user.add``, ``user.remove``...); ``since`` and ``until`` are days (UTC),
    both included. Returns ``{"total", "page", "page_size", "rows"}``.
    """
    if page < 1:
        raise ConfigError(f"audit page {page} is not valid; expected 1 or more")
    if not 1 <= page_size <= MAX_AUDIT_PAGE:
        raise ConfigError(f"audit page size {page_size} is not valid; expected 1 to {MAX_AUDIT_PAGE}")
    if since is not None and until is not None and until < since:
        raise ConfigError(f"audit period ends ({until}) before it starts ({since})")
    c = audit_log.c
    where = []
    if actor:
        where.append(c.actor == actor)
    if action:
        where.append(sa.or_(c.action == action, c.action.startswith(action + ".", autoescape=True)))
    if since is not None:
        where.append(c.at >= datetime.combine(since, time(0), UTC))
    if until is not None and until < date.max:
        where.append(c.at < datetime.combine(until + timedelta(days=1), time(0), UTC))
    q = sa.select(audit_log).where(*where).order_by(c.audit_id.desc())
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(*where)).scalar()
        rows = conn.execute(q.limit(page_size).offset((page - 1) * page_size)).mappings().all()
    return {
        "total": int(total or 0),
        "page": page,
        "page_size": page_size,
        "rows": [{**r, "detail": json.loads(r["detail"] or "{}")} for r in rows],
    }


def audit_actions(engine: Engine) -> list[str]:
    """Every action the audit log holds, sorted (the choices of a filter)."""
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(audit_log.c.action).distinct()).scalars())
