"""Nodes every theme shares: who churned by T, who is in the population at T."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features.registry import node
from churnradar.features.timeframe import AsOf
from churnradar.schema.enums import END_EVENTS


@node
def churned(status_event: ir.Table, as_of: AsOf) -> ir.Table:
    """Subscriptions deregistered or ported out on or before the end of T, with when and how."""
    e = status_event.filter(
        status_event.event_type.isin(END_EVENTS), status_event.event_time < ibis.timestamp(as_of.end_ts)
    )
    return e.group_by("subscriber_id").agg(
        churn_time=e.event_time.min(),
        ported=(e.event_type == "port_out").any(),
    )


@node
def subscriptions_known(subscription: ir.Table, as_of: AsOf) -> ir.Table:
    """Subscriptions activated on or before the end of T (later ones do not exist yet at T)."""
    return subscription.filter(subscription.activation_date < ibis.date(as_of.end))


@node
def population(subscriptions_known: ir.Table, churned: ir.Table) -> ir.Table:
    """Subscribers active at T: activated by the end of T, not deregistered or ported out by then."""
    active = subscriptions_known.anti_join(churned, "subscriber_id")
    return active.select(*subscriptions_known.columns)
