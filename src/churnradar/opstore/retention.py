"""The retention component: campaigns, offers, assignments, contacts, outcomes and do-not-contact flags.

| table | key | holds |
|---|---|---|
| ``campaign_header`` | campaign_id | name, as-of month, control share, follow-up months, strata, seed, status |
| ``campaign_offer`` | offer_id | the campaign's offers: kind, channel, cost per accepted offer |
| ``contact_assignment`` | contact_id; unique (campaign_id, subscriber_id) | arm (offer or control), segment, region, eligibility and why not, when listed |
| ``contact_event`` | idempotency_key | a contact attempt recorded by an agent or the app: made or not, when |
| ``outcome_record`` | outcome_id (the idempotency key) | accepted, retained, churned, verified by call-back |
| ``contact_dnc`` | subscriber_id | do-not-contact flags |

Idempotency rests on the database: the key is a primary key or unique column, the insert and its
audit row share one transaction, and a second insert with the same key fails on the constraint and
returns the first record instead.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from churnradar.opstore.web import audit_log

COMPONENT = "retention"
metadata = sa.MetaData()

campaign_header = sa.Table(
    "campaign_header",
    metadata,
    sa.Column("campaign_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("as_of", sa.String(7), nullable=False),  # YYYY-MM: month whose scores chose the members
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("control_share", sa.Float, nullable=False),
    sa.Column("followup_months", sa.Integer, nullable=False),
    sa.Column("strata", sa.String(255), nullable=False, server_default="segment,region"),
    sa.Column("seed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False, server_default="running"),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

campaign_offer = sa.Table(
    "campaign_offer",
    metadata,
    sa.Column("offer_id", sa.String(64), primary_key=True),
    sa.Column(
        "campaign_id",
        sa.String(64),
        sa.ForeignKey("campaign_header.campaign_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("cost", sa.Float, nullable=False),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
)

contact_assignment = sa.Table(
    "contact_assignment",
    metadata,
    sa.Column("contact_id", sa.String(64), primary_key=True),
    sa.Column(
        "campaign_id",
        sa.String(64),
        sa.ForeignKey("campaign_header.campaign_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("subscriber_id", sa.String(64), nullable=False),
    sa.Column("offer_id", sa.String(64), nullable=True),  # null: control
    sa.Column("is_control", sa.Boolean, nullable=False),
    sa.Column("segment", sa.String(64), nullable=False, server_default=""),
    sa.Column("region", sa.String(64), nullable=False, server_default=""),
    sa.Column("assigned_date", sa.Date, nullable=False),
    sa.Column("eligible", sa.Boolean, nullable=False),  # may be put on a contact list
    sa.Column("exclusion", sa.String(64), nullable=False, server_default=""),  # why not
    sa.Column("listed_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("campaign_id", "subscriber_id", name="uq_contact_assignment_member"),
    sa.Index("ix_contact_assignment_subscriber", "subscriber_id"),
)

contact_event = sa.Table(
    "contact_event",
    metadata,
    sa.Column("idempotency_key", sa.String(128), primary_key=True),
    sa.Column("contact_id", sa.String(64), nullable=False),
    sa.Column("contacted", sa.Boolean, nullable=False),
    sa.Column("contact_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_contact_event_contact", "contact_id"),
)

outcome_record = sa.Table(
    "outcome_record",
    metadata,
    sa.Column("outcome_id", sa.String(128), primary_key=True),  # the idempotency key
    sa.Column("contact_id", sa.String(64), nullable=False),
    sa.Column("accepted", sa.Boolean, nullable=False),
    sa.Column("retained", sa.Boolean, nullable=True),
    sa.Column("churned", sa.Boolean, nullable=True),
    sa.Column("verified", sa.Boolean, nullable=False),
    sa.Column("note", sa.String(500), nullable=False, server_default=""),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("recorded_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_outcome_record_contact", "contact_id"),
)

contact_dnc = sa.Table(
    "contact_dnc",
    metadata,
    sa.Column("subscriber_id", sa.String(64), primary_key=True),
    sa.Column("reason", sa.String(255), nullable=False, server_default=""),
    sa.Column("set_by", sa.String(64), nullable=False),
    sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
)

TABLES = (campaign_header, campaign_offer, contact_assignment, contact_event, outcome_record, contact_dnc)


def _retention_v1(conn: Connection) -> None:
    audit_log.create(conn, checkfirst=True)  # shared with the web component; whoever migrates first
    for t in TABLES:
        t.create(conn, checkfirst=True)


def _retention_v2(conn: Connection) -> None:
    from churnradar.opstore.targets import retention_v2

    retention_v2(conn)


#: Migrations of the ``retention`` component, applied in order; append, never edit a released one.
RETENTION_MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_retention_v1, _retention_v2)
