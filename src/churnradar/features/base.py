"""Nodes every theme shares: who churned by T, who is in the population at T.

Both are the one definition of :mod:`churnradar.metrics.population` (line ends and the lines in
network at the end of a month), seen as of T; features never write their own.
"""

from __future__ import annotations

import ibis.expr.types as ir

from churnradar.features.registry import node
from churnradar.features.timeframe import AsOf
from churnradar.metrics.population import ended_by, in_network, known_at


@node
def churned(status_event: ir.Table, as_of: AsOf) -> ir.Table:
    """Subscriptions deregistered or ported out on or before the end of T, with when and how."""
    e = ended_by(status_event, as_of.month)
    return e.select("subscriber_id", churn_time=e.end_time, ported=e.end_type == "port_out")


@node
def subscriptions_known(subscription: ir.Table, as_of: AsOf) -> ir.Table:
    """Subscriptions activated on or before the end of T (later ones do not exist yet at T)."""
    return known_at(subscription, as_of.month)


@node
def population(subscriptions_known: ir.Table, churned: ir.Table) -> ir.Table:
    """Subscribers in network at the end of T: activated by then, not deregistered or ported out by
    then (:func:`churnradar.metrics.population.in_network`)."""
    return in_network(subscriptions_known, churned)
