"""Record contacts and outcomes exactly once per idempotency key, each with an audit row.

The key is the primary key of the record; the insert and the audit row share one transaction. A
second call with the same key (a retried request, a double click, two agents syncing the same
sheet) finds the first record and returns it with ``created=False``; the same key with *different*
content (the note included) raises :class:`IdempotencyConflictError`. Its message names the
differing fields only when the key was used for the same contact; a key used for another contact
is refused without naming that contact or anything recorded for it. Several processes may record
at once (the concurrency test runs them against one SQLite file).

Outcomes are refused for control-group members (:class:`ControlGroupError`): they get no offer,
so there is nothing to accept, and an outcome would make the control arm look contacted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from churnradar import opstore as ops
from churnradar.retention.errors import CampaignError, ControlGroupError, IdempotencyConflictError


@dataclass(frozen=True)
class Recorded:
    """What a recording call did: ``created`` is False when the key was already recorded."""

    key: str
    created: bool
    record: dict[str, Any]


def _contact_exists(conn: Connection, contact_id: str) -> Any:
    a = ops.contact_assignment
    row = conn.execute(sa.select(a.c.contact_id, a.c.is_control).where(a.c.contact_id == contact_id)).first()
    if row is None:
        raise CampaignError(f"contact {contact_id!r} does not exist in the operational store")
    return row


def _not_control(conn: Connection, contact_id: str) -> None:
    if bool(_contact_exists(conn, contact_id).is_control):
        raise ControlGroupError(
            f"contact {contact_id!r} is in the control group: it gets no offer, so no outcome is "
            "recorded for it (its retention is measured from the store)"
        )


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= 128:
        raise CampaignError(f"idempotency key {key!r} is invalid; expected 1 to 128 characters")
    return key


def _insert_once(
    engine: Engine,
    table: sa.Table,
    key_col: str,
    row: dict[str, Any],
    compare: tuple[str, ...],
    action: str,
    actor: str,
    check: Any = _contact_exists,
) -> Recorded:
    key = row[key_col]
    col = table.c[key_col]
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                check(conn, row["contact_id"])
                existing = conn.execute(sa.select(table).where(col == key)).mappings().first()
                if existing is None:
                    conn.execute(table.insert().values(**row))
                    ops.audit(
                        conn,
                        actor=actor,
                        action=action,
                        target=row["contact_id"],
                        detail={"key": key, **{c: row[c] for c in compare}},
                    )
                    return Recorded(key, True, row)
            break
        except sa.exc.IntegrityError:
            # a concurrent writer inserted the same key between our read and our insert
            if attempt:
                raise
    with engine.connect() as conn:
        existing = conn.execute(sa.select(table).where(col == key)).mappings().first()
    assert existing is not None
    if existing["contact_id"] != row["contact_id"]:
        # another contact's record: say nothing about it (it may lie outside the caller's regions)
        raise IdempotencyConflictError(
            f"idempotency key {key!r} was already used for another contact; use a new key for a new record"
        )
    diff = {c: (existing[c], row[c]) for c in compare if existing[c] != row[c]}
    if diff:
        raise IdempotencyConflictError(
            f"idempotency key {key!r} was already used for a different record of contact "
            f"{row['contact_id']!r} (recorded {', '.join(f'{c}={v[0]!r}' for c, v in diff.items())}; "
            f"got {', '.join(f'{c}={v[1]!r}' for c, v in diff.items())}); use a new key for a new record"
        )
    return Recorded(key, False, dict(existing))


def record_contact(
    engine: Engine,
    contact_id: str,
    *,
    key: str,
    contacted: bool = True,
    contact_time: datetime | None = None,
    actor: str = "cli",
) -> Recorded:
    """Record one contact attempt of ``contact_id`` (made or not) under idempotency ``key``."""
    now = datetime.now(UTC)
    row = {
        "idempotency_key": _check_key(key),
        "contact_id": contact_id,
        "contacted": bool(contacted),
        "contact_time": contact_time or now,
        "recorded_by": actor,
        "recorded_at": now,
    }
    return _insert_once(
        engine,
        ops.contact_event,
        "idempotency_key",
        row,
        ("contact_id", "contacted"),
        "contact.record",
        actor,
    )


def record_outcome(
    engine: Engine,
    contact_id: str,
    *,
    key: str,
    accepted: bool,
    retained: bool | None = None,
    churned: bool | None = None,
    verified: bool = False,
    note: str = "",
    actor: str = "cli",
) -> Recorded:
    """Record the outcome of ``contact_id`` under idempotency ``key``.

    ``retained``/``churned`` may be unknown (None) until the follow-up window ends; ``verified`` says
    a call-back confirmed it. A record saying both retained and churned is refused, and so is any
    outcome of a control-group member (:class:`ControlGroupError`).
    """
    if retained is not None and churned is not None and retained == churned:
        raise CampaignError(
            f"outcome of {contact_id!r}: retained={retained} and churned={churned} contradict; "
            "expected at most one of them true"
        )
    row = {
        "outcome_id": _check_key(key),
        "contact_id": contact_id,
        "accepted": bool(accepted),
        "retained": retained if retained is None else bool(retained),
        "churned": churned if churned is None else bool(churned),
        "verified": bool(verified),
        "note": note[:500],
        "recorded_by": actor,
        "recorded_time": datetime.now(UTC),
    }
    return _insert_once(
        engine,
        ops.outcome_record,
        "outcome_id",
        row,
        ("contact_id", "accepted", "retained", "churned", "verified", "note"),
        "outcome.record",
        actor,
        check=_not_control,
    )


def set_do_not_contact(
    engine: Engine, subscriber_id: str, *, reason: str = "", flag: bool = True, actor: str = "cli"
) -> bool:
    """Set (or with ``flag=False`` clear) a do-not-contact flag; returns whether anything changed."""
    d = ops.contact_dnc
    with engine.begin() as conn:
        exists = conn.execute(sa.select(d.c.subscriber_id).where(d.c.subscriber_id == subscriber_id)).first()
        if flag and exists is None:
            conn.execute(
                d.insert().values(
                    subscriber_id=subscriber_id, reason=reason, set_by=actor, set_at=datetime.now(UTC)
                )
            )
        elif not flag and exists is not None:
            conn.execute(d.delete().where(d.c.subscriber_id == subscriber_id))
        else:
            return False
        ops.audit(
            conn,
            actor=actor,
            action="dnc.set" if flag else "dnc.clear",
            target=subscriber_id,
            detail={"reason": reason},
        )
    return True
