"""Nodes every theme shares: who churned by T, who is in the population at T.

Both are the one definition of :mod:`churnradar.metrics.population` (line ends and the lines in
network at the end of a month), seen as of T; features never write their own.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features.registry import node
from churnradar.features.timeframe import AsOf
from churnradar.metrics.population import lifespans, line_ends, open_at


@node
def churned(status_event: ir.Table, as_of: AsOf) -> ir.Table:
    """Subscriptions deregistered or ported out on or before the end of T, with when and how."""
    ends = line_ends(status_event)
    e = ends.filter(ends.end_time < ibis.timestamp(as_of.end_ts))
    return e.select("subscriber_id", churn_time=e.end_time, ported=e.end_type == "port_out")


@node
def subscriptions_known(subscription: ir.Table, as_of: AsOf) -> ir.Table:
    """Subscriptions activated on or before the end of T (later ones do not exist yet at T)."""
    return subscription.filter(subscription.activation_date < ibis.date(as_of.end))


@node
def population(subscription: ir.Table, status_event: ir.Table, as_of: AsOf) -> ir.Table:
    """Subscribers in network at the end of T: activated by then, not deregistered or ported out by
    then (:func:`churnradar.metrics.population.population`)."""
    life = lifespans(subscription, status_event)
    in_network = life.filter(open_at(life, as_of.month)).select("subscriber_id")
    return subscription.semi_join(in_network, "subscriber_id")
