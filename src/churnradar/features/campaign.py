"""Retention campaign history: assignments, contacts and accepted offers before the end of T."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import safe_div
from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf, months_back

HISTORY = 24  # months of campaign history looked at


@node
def contact_stats(contact: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, campaign assignments and contacts made before the end of T."""
    c = contact.filter(
        contact.assigned_date >= ibis.date(as_of.month_start(HISTORY - 1)),
        contact.assigned_date < ibis.date(as_of.end),
    )
    made = (
        c.contacted
        & c.contact_time.notnull()
        & (c.contact_time < ibis.timestamp(as_of.end_ts))
        & (c.contact_time >= ibis.timestamp(as_of.ts_start(HISTORY - 1)))
    )
    contact_back = months_back(c.contact_time, as_of)
    assigned_back = months_back(c.assigned_date, as_of)
    return c.group_by("subscriber_id").agg(
        assigned_12m=c.contact_id.count(where=assigned_back <= 11),
        control_12m=c.contact_id.count(where=c.is_control & (assigned_back <= 11)),
        contacted_6m=c.contact_id.count(where=made & (contact_back <= 5)),
        offered_12m=c.contact_id.count(where=made & c.offer_id.notnull() & (contact_back <= 11)),
        contact_back=contact_back.min(where=made),
    )


@node
def outcome_stats(outcome: ir.Table, contact: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, offers accepted as recorded in T-11..T."""
    o = outcome.filter(
        outcome.recorded_time >= ibis.timestamp(as_of.ts_start(11)),
        outcome.recorded_time < ibis.timestamp(as_of.end_ts),
        outcome.accepted,
    )
    c = contact.select(c_id=contact.contact_id, subscriber_id=contact.subscriber_id)
    j = o.join(c, o.contact_id == c.c_id)
    return j.group_by("subscriber_id").agg(accepted_12m=j.outcome_id.nunique())


@feature(theme="campaign", driver="convenience", dtype="int64", fill=0)
def campaign_assignments_12m(contact_stats: ir.Table) -> ir.Table:
    """Retention-campaign assignments (treatment or control) dated T-11..T."""
    c = contact_stats
    return c.select("subscriber_id", campaign_assignments_12m=c.assigned_12m.cast("int64"))


@feature(theme="campaign", driver="convenience", dtype="int64", fill=0)
def campaign_control_12m(contact_stats: ir.Table) -> ir.Table:
    """Retention-campaign assignments to a randomised control group dated T-11..T."""
    c = contact_stats
    return c.select("subscriber_id", campaign_control_12m=c.control_12m.cast("int64"))


@feature(theme="campaign", driver="convenience", dtype="int64", fill=0)
def campaign_contacts_6m(contact_stats: ir.Table) -> ir.Table:
    """Campaign contacts actually made in T-5..T."""
    c = contact_stats
    return c.select("subscriber_id", campaign_contacts_6m=c.contacted_6m.cast("int64"))


@feature(theme="campaign", driver="convenience", dtype="int64", fill=HISTORY)
def months_since_campaign_contact(contact_stats: ir.Table) -> ir.Table:
    """Months since the last campaign contact made (0 = in T; 24 when none in T-23..T)."""
    c = contact_stats
    return c.select(
        "subscriber_id", months_since_campaign_contact=c.contact_back.cast("int64").fill_null(HISTORY)
    )


@feature(theme="campaign", driver="convenience", dtype="int64", fill=0, requires=("contact",))
def offers_accepted_12m(outcome_stats: ir.Table) -> ir.Table:
    """Retention offers accepted, as recorded in T-11..T."""
    o = outcome_stats
    return o.select("subscriber_id", offers_accepted_12m=o.accepted_12m.cast("int64"))


@feature(theme="campaign", driver="convenience", reason="competitor")
def offer_acceptance_rate_12m(contact_stats: ir.Table, outcome_stats: ir.Table) -> ir.Table:
    """Offers accepted (recorded T-11..T) per offer contact made in T-11..T (null when none made)."""
    c, o = contact_stats, outcome_stats
    j = c.left_join(o, c.subscriber_id == o.subscriber_id)
    return j.select(
        subscriber_id=c.subscriber_id,
        offer_acceptance_rate_12m=safe_div(o.accepted_12m.fill_null(0), c.offered_12m),
    )


@feature(theme="campaign", driver="convenience", dtype="int64", fill=0)
def retention_contacts_6m(interaction_stats: ir.Table) -> ir.Table:
    """Retention contacts (维系接触) logged as interactions in T-5..T."""
    s = interaction_stats
    return s.select("subscriber_id", retention_contacts_6m=s.retention_6m.cast("int64"))
