"""Versioned migrations per component, their applied versions kept in ``schema_migration``.

Each component (``web``, ``retention``) owns an ordered tuple of steps; a step is applied once, in
its own write transaction together with the new version, and a released step is never edited (a
change is a new step). Two processes migrating the same store at once apply each step once: the
version is read again inside the step's transaction, which SQLite serialises (``BEGIN
IMMEDIATE``) and PostgreSQL serialises with a transaction-level advisory lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

Step = Callable[[Connection], None]

metadata = sa.MetaData()

schema_migration = sa.Table(
    "schema_migration",
    metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

#: Key of the PostgreSQL advisory lock held while a migration step runs.
_PG_LOCK = 0x63726F7073  # "crops"


def now() -> datetime:
    return datetime.now(UTC)


def serialise(conn: Connection, key: int | str = _PG_LOCK) -> None:
    """Serialise the rest of ``conn``'s transaction against every other transaction that
    serialises on ``key`` (an integer, or a name hashed by the database).

    PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing to do, every transaction
    already holds the database's write lock from its start (``BEGIN IMMEDIATE``).
    """
    if conn.dialect.name != "postgresql":
        return
    if isinstance(key, int):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    else:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


def _version(conn: Connection, component: str) -> int:
    v = conn.execute(
        sa.select(schema_migration.c.version).where(schema_migration.c.component == component)
    ).scalar()
    return int(v or 0)


def migrate(engine: Engine, component: str, steps: Sequence[Step]) -> int:
    """Apply ``component``'s migrations not applied yet, each in its own transaction; return the version."""
    with engine.begin() as conn:
        serialise(conn)
        schema_migration.create(conn, checkfirst=True)
    version = 0
    for i in range(1, len(steps) + 1):
        with engine.begin() as conn:
            serialise(conn)
            version = _version(conn, component)
            if version >= i:
                continue
            steps[i - 1](conn)
            row = {"component": component, "version": i, "applied_at": now()}
            if version == 0:
                conn.execute(schema_migration.insert().values(**row))
            else:
                conn.execute(
                    schema_migration.update().where(schema_migration.c.component == component).values(**row)
                )
            version = i
    return max(version, len(steps))


def current_version(engine: Engine, component: str) -> int:
    """The applied version of ``component`` (0: none)."""
    if not sa.inspect(engine).has_table("schema_migration"):
        return 0
    with engine.connect() as conn:
        return _version(conn, component)
