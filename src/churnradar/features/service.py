"""Complaints and service contacts: counts, recency, unresolved, topic and escalation."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf, months_back

HISTORY = 24  # months of interaction history looked at


def _recent_interactions(interaction: ir.Table, as_of: AsOf) -> ir.Table:
    i = interaction.filter(
        interaction.interaction_time >= ibis.timestamp(as_of.ts_start(HISTORY - 1)),
        interaction.interaction_time < ibis.timestamp(as_of.end_ts),
    )
    return i.mutate(_back=months_back(i.interaction_time, as_of))


@node
def complaint_stats(interaction: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, complaint counts by month back, topic and resolution over T-23..T.

    Complaints are a small share of all interactions: selecting them in the scan leaves far fewer
    rows to group than counting them among every contact."""
    i = _recent_interactions(interaction.filter(interaction.kind == "complaint"), as_of)
    back = i._back
    n = i.kind.count
    return i.group_by("subscriber_id").agg(
        complaints_1m=n(where=back == 0),
        complaints_3m=n(where=back <= 2),
        complaints_6m=n(where=back <= 5),
        complaints_prior_5m=n(where=(back >= 1) & (back <= 5)),
        unresolved_6m=n(where=(back <= 5) & ~i.resolved),
        complaint_back=back.min(),
        network_6m=n(where=(i.topic == "network") & (back <= 5)),
        billing_6m=n(where=i.topic.isin(("billing", "price")) & (back <= 5)),
    )


@node
def interaction_stats(interaction: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, counts of contacts of any kind by kind, channel and month back over T-23..T."""
    i = _recent_interactions(interaction, as_of)
    back = i._back
    complaint = i.kind == "complaint"
    n = i.kind.count
    return i.group_by("subscriber_id").agg(
        unresolved_2_5=n(where=complaint & (back >= 2) & (back <= 5) & ~i.resolved),
        contacts_2m=n(where=back <= 1),
        inquiries_3m=n(where=(i.kind == "inquiry") & (back <= 2)),
        regulator_12m=n(where=(i.channel == "regulator") & (back <= 11)),
        retention_6m=n(where=(i.kind == "retention_contact") & (back <= 5)),
    )


@feature(theme="service", driver="quality", dtype="int64", fill=0)
def complaints_1m(complaint_stats: ir.Table) -> ir.Table:
    """Complaints lodged in month T."""
    s = complaint_stats
    return s.select("subscriber_id", complaints_1m=s.complaints_1m.cast("int64"))


@feature(theme="service", driver="quality", dtype="int64", fill=0)
def complaints_3m(complaint_stats: ir.Table) -> ir.Table:
    """Complaints lodged in T-2..T."""
    s = complaint_stats
    return s.select("subscriber_id", complaints_3m=s.complaints_3m.cast("int64"))


@feature(theme="service", driver="quality", dtype="int64", fill=0)
def complaints_6m(complaint_stats: ir.Table) -> ir.Table:
    """Complaints lodged in T-5..T."""
    s = complaint_stats
    return s.select("subscriber_id", complaints_6m=s.complaints_6m.cast("int64"))


@feature(theme="service", driver="quality", fill=0.0)
def complaint_spike_1m(complaint_stats: ir.Table) -> ir.Table:
    """Complaints in T minus the mean monthly complaints over T-5..T-1."""
    s = complaint_stats
    return s.select(
        "subscriber_id",
        complaint_spike_1m=s.complaints_1m.cast("float64") - s.complaints_prior_5m.cast("float64") / 5.0,
    )


@feature(theme="service", driver="quality", dtype="int64", fill=0)
def complaints_unresolved_6m(complaint_stats: ir.Table) -> ir.Table:
    """Complaints lodged in T-5..T that are not resolved."""
    s = complaint_stats
    return s.select("subscriber_id", complaints_unresolved_6m=s.unresolved_6m.cast("int64"))


@feature(theme="service", driver="quality", dtype="int64", fill=HISTORY)
def months_since_complaint(complaint_stats: ir.Table) -> ir.Table:
    """Months since the last complaint (0 = in T; 24 when none in T-23..T)."""
    s = complaint_stats
    return s.select("subscriber_id", months_since_complaint=s.complaint_back.cast("int64").fill_null(HISTORY))


@feature(theme="service", driver="quality", dtype="boolean", fill=False)
def silent_after_unresolved_complaint(interaction_stats: ir.Table) -> ir.Table:
    """An unresolved complaint in T-5..T-2 followed by no contact of any kind in T-1..T."""
    s = interaction_stats
    return s.select(
        "subscriber_id", silent_after_unresolved_complaint=(s.unresolved_2_5 > 0) & (s.contacts_2m == 0)
    )


@feature(theme="service", driver="convenience", dtype="int64", fill=0)
def inquiries_3m(interaction_stats: ir.Table) -> ir.Table:
    """Inquiries (咨询) in T-2..T."""
    s = interaction_stats
    return s.select("subscriber_id", inquiries_3m=s.inquiries_3m.cast("int64"))


@feature(theme="service", driver="quality", dtype="int64", fill=0)
def network_complaints_6m(complaint_stats: ir.Table) -> ir.Table:
    """Complaints about network quality in T-5..T."""
    s = complaint_stats
    return s.select("subscriber_id", network_complaints_6m=s.network_6m.cast("int64"))


@feature(theme="service", driver="price", dtype="int64", fill=0)
def billing_complaints_6m(complaint_stats: ir.Table) -> ir.Table:
    """Complaints about billing or price in T-5..T."""
    s = complaint_stats
    return s.select("subscriber_id", billing_complaints_6m=s.billing_6m.cast("int64"))


@feature(theme="service", driver="quality", dtype="int64", fill=0)
def regulator_escalations_12m(interaction_stats: ir.Table) -> ir.Table:
    """Escalations to the regulator (工信部申诉) in T-11..T."""
    s = interaction_stats
    return s.select("subscriber_id", regulator_escalations_12m=s.regulator_12m.cast("int64"))
