"""Target lists reviewed in the dashboard and the agents contacts are assigned to (retention, v2).

| table | key | holds |
|---|---|---|
| ``target_plan`` | plan_id | one optimiser run: month, budget, segments, the creator's regions, its summary (JSON), the campaign created from it |
| ``target_plan_member`` | plan_id, subscriber_id | the plan's lines: rank, region, segment, offer, channel, expected cost and value |
| ``contact_agent`` | contact_id | the agent a campaign member is assigned to, by whom and when |

A plan is written once by the optimiser and read back for review; the campaign created from it
is a normal campaign (:mod:`~churnradar.opstore.retention`), its id kept on the plan.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from churnradar.opstore.retention import metadata

target_plan = sa.Table(
    "target_plan",
    metadata,
    sa.Column("plan_id", sa.String(64), primary_key=True),
    sa.Column("as_of", sa.String(7), nullable=False),  # YYYY-MM: the scored month
    sa.Column("budget", sa.Float, nullable=False),
    sa.Column("segments", sa.String(1024), nullable=False, server_default=""),  # comma-separated
    sa.Column("regions", sa.Text, nullable=False, server_default=""),  # grids of the creator; "" all
    sa.Column("summary", sa.Text, nullable=False),  # JSON of the optimiser's summary
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("campaign_id", sa.String(64), nullable=True),
)

target_plan_member = sa.Table(
    "target_plan_member",
    metadata,
    sa.Column(
        "plan_id", sa.String(64), sa.ForeignKey("target_plan.plan_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("subscriber_id", sa.String(64), primary_key=True),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("region", sa.String(64), nullable=False, server_default=""),
    sa.Column("segment", sa.String(64), nullable=False, server_default=""),
    sa.Column("offer_kind", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("offer_cost", sa.Float, nullable=False),  # per accepted offer
    sa.Column("cost", sa.Float, nullable=False),  # expected spend of listing the line
    sa.Column("uplift", sa.Float, nullable=False),
    sa.Column("clv", sa.Float, nullable=False),
    sa.Column("p_churn_3m", sa.Float, nullable=False),
    sa.Column("expected_value", sa.Float, nullable=False),
    sa.Column("net_value", sa.Float, nullable=False),
)

contact_agent = sa.Table(
    "contact_agent",
    metadata,
    sa.Column(
        "contact_id",
        sa.String(64),
        sa.ForeignKey("contact_assignment.contact_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("assigned_by", sa.String(64), nullable=False),
    sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_contact_agent_agent", "agent"),
)

TARGET_TABLES = (target_plan, target_plan_member, contact_agent)


def retention_v2(conn: Connection) -> None:
    """Target plans and agent assignment."""
    for t in TARGET_TABLES:
        t.create(conn, checkfirst=True)
