"""The operational store: what the web app and retention write concurrently (users, sessions,
tokens, audit log; campaigns, assignments, contacts, outcomes, do-not-contact flags).

SQLAlchemy Core on SQLite by default (a file beside the analytical store) or PostgreSQL when
``CHURNRADAR_DATABASE_URL`` (or an explicit URL) says so. There is one engine per URL and process
(:func:`open_engine`, :func:`open_ops`), migrated for every component when it is opened; the
schema is built by small versioned migrations per component (:mod:`~churnradar.opstore.web`,
:mod:`~churnradar.opstore.retention`) whose applied versions are kept in ``schema_migration``.
Every SQLite transaction starts with ``BEGIN IMMEDIATE`` (:mod:`~churnradar.opstore.engine`).

>>> from churnradar.opstore import audit, open_engine, read_audit
>>> engine = open_engine("sqlite://")            # in memory, migrated
>>> audit(engine, actor="admin", action="user.add", target="ana")
>>> read_audit(engine)[0]["target"]
'ana'
"""

from __future__ import annotations

from churnradar.opstore.engine import (
    COMPONENTS,
    DATABASE_URL_ENV,
    default_url,
    dispose_all,
    open_engine,
    open_ops,
    ops_url,
)
from churnradar.opstore.migrations import current_version, migrate, now, schema_migration, serialise
from churnradar.opstore.retention import (
    RETENTION_MIGRATIONS,
    TABLES,
    campaign_header,
    campaign_offer,
    contact_assignment,
    contact_dnc,
    contact_event,
    outcome_record,
)
from churnradar.opstore.web import (
    WEB_MIGRATIONS,
    api_token,
    app_user,
    audit,
    audit_actions,
    audit_log,
    audit_page,
    login_attempt,
    read_audit,
    web_session,
)

__all__ = [
    "COMPONENTS",
    "DATABASE_URL_ENV",
    "RETENTION_MIGRATIONS",
    "TABLES",
    "WEB_MIGRATIONS",
    "api_token",
    "app_user",
    "audit",
    "audit_actions",
    "audit_log",
    "audit_page",
    "campaign_header",
    "campaign_offer",
    "contact_assignment",
    "contact_dnc",
    "contact_event",
    "current_version",
    "default_url",
    "dispose_all",
    "login_attempt",
    "migrate",
    "now",
    "open_engine",
    "open_ops",
    "ops_url",
    "outcome_record",
    "read_audit",
    "schema_migration",
    "serialise",
    "web_session",
]
