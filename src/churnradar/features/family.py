"""Family plan (家庭V网): membership, size, churned members and calls within the family."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import fingerprint
from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf


@node(requires=("subscription.family_group_id",), across_subscribers=True)
def family_groups(
    population: ir.Table, subscriptions_known: ir.Table, churned: ir.Table, as_of: AsOf
) -> ir.Table:
    """Per family group with members at T (``fg_size``): members in network at T, members churned in T-5..T."""
    p = population.filter(population.family_group_id.notnull())
    size = p.group_by(fg_size=p.family_group_id).agg(members=p.subscriber_id.count())
    gone = subscriptions_known.filter(subscriptions_known.family_group_id.notnull()).join(
        churned.filter(churned.churn_time >= ibis.timestamp(as_of.ts_start(5))), "subscriber_id"
    )
    left = gone.group_by(fg_gone=gone.family_group_id).agg(churned=gone.subscriber_id.count())
    j = size.left_join(left, size.fg_size == left.fg_gone)
    return j.select("fg_size", "members", "churned")


@node(requires=("subscription.family_group_id",), across_subscribers=True)
def family_numbers(subscriptions_known: ir.Table) -> ir.Table:
    """Our numbers (by fingerprint) whose subscriptions known at T are in a family group, with the group."""
    sk = subscriptions_known.filter(subscriptions_known.family_group_id.notnull())
    return sk.select(**fingerprint(sk.msisdn_hash, "pm"), peer_family=sk.family_group_id)


@node(requires=("subscription.family_group_id",))
def family_stats(
    population: ir.Table, family_groups: ir.Table, family_numbers: ir.Table, call_pairs: ir.Table
) -> ir.Table:
    """Per subscriber in a family group: active members at T, members churned in T-5..T, members called."""
    p = population.filter(population.family_group_id.notnull())
    e = call_pairs.filter(call_pairs.last_back <= 2)
    peers = family_numbers
    me = p.select(me_id=p.subscriber_id, me_family=p.family_group_id)
    fam = e.join(peers, (e.peer_h1 == peers.pm_h1) & (e.peer_h2 == peers.pm_h2)).join(
        me, (e.subscriber_id == me.me_id) & (peers.peer_family == me.me_family)
    )
    # one row per (subscriber, peer): a number with two subscriptions in the group counts once
    called = fam.select(deg_id=fam.subscriber_id, h1=fam.peer_h1, h2=fam.peer_h2).distinct()
    degree = called.group_by("deg_id").agg(called=called.h1.count())

    j = p.left_join(family_groups, p.family_group_id == family_groups.fg_size)
    j = j.left_join(degree, j.subscriber_id == degree.deg_id)
    return j.select("subscriber_id", "members", "churned", "called")


@feature(theme="family", driver="social", reason="competitor", dtype="boolean")
def in_family_group(population: ir.Table) -> ir.Table:
    """Member of a family plan group (家庭V网)."""
    p = population
    return p.select("subscriber_id", in_family_group=p.family_group_id.notnull())


@feature(theme="family", driver="social", reason="competitor", dtype="int64", fill=0)
def family_group_size(family_stats: ir.Table) -> ir.Table:
    """Active subscriptions at T in the subscriber's family group (itself included; 0 = no group)."""
    f = family_stats
    return f.select("subscriber_id", family_group_size=f.members.cast("int64").fill_null(0))


@feature(theme="family", driver="social", reason="competitor", dtype="int64", fill=0)
def family_churned_6m(family_stats: ir.Table) -> ir.Table:
    """Members of the subscriber's family group deregistered or ported out in T-5..T."""
    f = family_stats
    return f.select("subscriber_id", family_churned_6m=f.churned.cast("int64").fill_null(0))


@feature(theme="family", driver="social", reason="competitor", dtype="int64", fill=0)
def family_call_degree_3m(family_stats: ir.Table) -> ir.Table:
    """Distinct members of the subscriber's family group called in T-2..T (degree within the group)."""
    f = family_stats
    return f.select("subscriber_id", family_call_degree_3m=f.called.cast("int64").fill_null(0))
