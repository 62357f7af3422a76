"""Levers: what retention offers act on and value weighs, beyond the other themes.

Home county (campaign strata and contact lists per region), a promotion package (a lever offers
replace), own-network contacts (number dependency, part of the switching cost) and recent
unresolved complaints. Retention reads these with the other themes' features as one feature set
(``retention``, :mod:`churnradar.features.sets`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import fingerprint
from churnradar.features.registry import feature
from churnradar.features.timeframe import AsOf
from churnradar.schema.enums import OPERATOR_OWN

RECENT = 3  # months T-2..T


@feature(
    theme="levers",
    driver="convenience",
    dtype="string",
    requires=("subscription.grid_id", "region.grid_id"),
)
def home_county(population: ir.Table, region: ir.Table) -> ir.Table:
    """County of the subscription's home grid (null when the grid is not in the region table)."""
    p = population.select("subscriber_id", home_grid=population.grid_id)
    r = region.select(r_grid=region.grid_id, r_county=region.county_id)
    j = p.left_join(r, p.home_grid == r.r_grid)
    return j.select("subscriber_id", home_county=j.r_county)


@feature(theme="levers", driver="price", dtype="boolean", requires=("package.package_id",))
def is_promotion_package(billing_recent: ir.Table, package: ir.Table) -> ir.Table:
    """The package billed in T is a promotion package (false when T has no bill)."""
    b = billing_recent.select(b_sub=billing_recent.subscriber_id, b_package=billing_recent.package_0)
    k = package.select(k_package=package.package_id, k_promo=package.is_promotion)
    j = b.left_join(k, b.b_package == k.k_package)
    return j.select(subscriber_id=j.b_sub, is_promotion_package=j.k_promo.fill_null(False))


@feature(theme="levers", driver="social", dtype="int64", fill=0, requires=("call_edge.peer_operator",))
def onnet_contacts_3m(call_edge: ir.Table, as_of: AsOf) -> ir.Table:
    """Distinct own-network numbers (网内) in the subscriber's call graph over T-2..T (number dependency)."""
    e = call_edge.filter(
        call_edge.month >= ibis.date(as_of.month_start(RECENT - 1)),
        call_edge.month < ibis.date(as_of.end),
        call_edge.peer_operator == OPERATOR_OWN,
    )
    # distinct peers by their 128-bit fingerprint: grouping two integers takes a fraction of the
    # memory of the 64-hex-digit strings
    pairs = e.select("subscriber_id", **fingerprint(e.peer_hash, "peer")).distinct()
    return pairs.group_by("subscriber_id").agg(onnet_contacts_3m=pairs.peer_h1.count().cast("int64"))


@feature(theme="levers", driver="quality", dtype="int64", fill=0, requires=("interaction.kind",))
def complaints_unresolved_3m(interaction: ir.Table, as_of: AsOf) -> ir.Table:
    """Complaints lodged in T-2..T that are not resolved."""
    i = interaction.filter(
        interaction.kind == "complaint",
        interaction.interaction_time >= ibis.timestamp(as_of.ts_start(RECENT - 1)),
        interaction.interaction_time < ibis.timestamp(as_of.end_ts),
        ~interaction.resolved,
    )
    return i.group_by("subscriber_id").agg(complaints_unresolved_3m=i.interaction_id.count().cast("int64"))
