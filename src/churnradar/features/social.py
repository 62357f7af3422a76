"""Call-graph ties (交往圈): contacts, on-net / off-net / competitor shares, churned neighbours."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import fingerprint, months, rel_change, safe_div, total
from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf, months_back
from churnradar.schema.enums import END_EVENTS, OPERATOR_OWN, SUSPEND_EVENTS

WINDOW = 6  # months T-5..T
RECENT = 3  # months T-2..T: how recent a neighbour's departure counts as "just left"
#: A line leaves by being closed, ported out or suspended (停机: the arrears route, where it is
#: deregistered only months later); a (re)activation after it means it came back.
DEPARTURE_EVENTS = (*SUSPEND_EVENTS, *END_EVENTS)
RETURN_EVENTS = ("activate", "reactivate")


@node
def call_pairs(call_edge: ir.Table, as_of: AsOf) -> ir.Table:
    """Distinct (subscriber, peer) pairs called in T-5..T with the last month back they were in touch.

    The peer is kept as its 128-bit fingerprint (``peer_h1``, ``peer_h2``), not as the 64-hex-digit
    string: grouping and joining on two integers takes a fraction of the memory (the 10M-subscriber
    run spilled on the strings).
    """
    e = call_edge.filter(
        call_edge.month >= ibis.date(as_of.month_start(WINDOW - 1)), call_edge.month < ibis.date(as_of.end)
    )
    e = e.select("subscriber_id", back=months_back(e.month, as_of), **fingerprint(e.peer_hash, "peer"))
    return e.group_by("subscriber_id", "peer_h1", "peer_h2").agg(last_back=e.back.min())


@node
def call_stats(call_edge: ir.Table, call_pairs: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, call peers in T and T-1 (one edge per peer and month), competitor peers in T, peers in T-2..T."""
    e = call_edge.filter(
        call_edge.month >= ibis.date(as_of.month_start(1)), call_edge.month < ibis.date(as_of.end)
    )
    in_t = e.month == ibis.date(as_of.month)
    monthly = e.group_by("subscriber_id").agg(
        peers_0=e.peer_hash.count(where=in_t),
        peers_1=e.peer_hash.count(where=~in_t),
        comp_peers_0=e.peer_hash.count(where=in_t & (e.peer_operator != OPERATOR_OWN)),
    )
    p = call_pairs.filter(call_pairs.last_back <= 2)
    recent = p.group_by(sub3=p.subscriber_id).agg(peers_3m=p.peer_h1.count())
    j = recent.left_join(monthly, recent.sub3 == monthly.subscriber_id)
    return j.select(
        subscriber_id=j.sub3,
        peers_0=j.peers_0.fill_null(0),
        peers_1=j.peers_1.fill_null(0),
        comp_peers_0=j.comp_peers_0.fill_null(0),
        peers_3m=j.peers_3m,
    )


@node(across_subscribers=True)
def number_status(subscriptions_known: ir.Table, churned: ir.Table) -> ir.Table:
    """Per pseudonymised number of ours (by fingerprint): whether every subscription on it ended by T, and how."""
    s = subscriptions_known.left_join(churned, "subscriber_id")
    g = s.group_by(msisdn=s.msisdn_hash).agg(
        lines=s.subscriber_id.count(),
        ended=s.churn_time.count(),
        ported=s.ported.fill_null(False).any(),
    )
    return g.select(
        **fingerprint(g.msisdn, "num"), gone=g.ended == g.lines, ported_out=(g.ended == g.lines) & g.ported
    )


@node(requires=("call_edge",))
def neighbour_stats(call_pairs: ir.Table, number_status: ir.Table) -> ir.Table:
    """Per subscriber, our numbers called in T-5..T, and how many of them ended or ported out by T."""
    pairs, num = call_pairs, number_status
    j = pairs.join(num, (pairs.peer_h1 == num.num_h1) & (pairs.peer_h2 == num.num_h2))
    return j.group_by("subscriber_id").agg(
        own_peers=j.peer_h1.count(),
        churned_peers=ibis.ifelse(j.gone, 1, 0).sum(),
        ported_peers=ibis.ifelse(j.ported_out, 1, 0).sum(),
    )


@feature(theme="social", driver="social", reason="competitor", dtype="int64", fill=0)
def call_peers_1m(call_stats: ir.Table) -> ir.Table:
    """Distinct numbers called or calling in month T."""
    c = call_stats
    return c.select("subscriber_id", call_peers_1m=c.peers_0.cast("int64"))


@feature(theme="social", driver="social", reason="competitor", dtype="int64", fill=0)
def call_peers_3m(call_stats: ir.Table) -> ir.Table:
    """Distinct numbers called or calling in T-2..T."""
    c = call_stats
    return c.select("subscriber_id", call_peers_3m=c.peers_3m.cast("int64"))


@feature(theme="social", driver="social", reason="relocation")
def call_peers_mom_change(call_stats: ir.Table) -> ir.Table:
    """Relative change of distinct call peers from T-1 to T."""
    c = call_stats
    return c.select("subscriber_id", call_peers_mom_change=rel_change(c.peers_0, c.peers_1))


@feature(theme="social", driver="social", reason="competitor")
def competitor_peer_share_1m(call_stats: ir.Table) -> ir.Table:
    """Share of the distinct call peers in T that are on a competitor's network (异网)."""
    c = call_stats
    return c.select("subscriber_id", competitor_peer_share_1m=safe_div(c.comp_peers_0, c.peers_0))


def _share_3m(u: ir.Table, part: str) -> ir.FloatingValue:
    """Share of ``part`` (onnet, offnet or comp) in all voice minutes over T-2..T: a ratio of the
    window's sums (``onnet_3m`` …), two aggregates instead of nine monthly pivot columns."""
    return safe_div(u[f"{part}_3m"].fill_null(0.0), u.calls_3m)


def _share_months(u: ir.Table, n: int, skip: int = 0) -> ir.FloatingValue:
    """Competitor share of voice minutes over months T-skip … T-skip-n+1, from the monthly pivots.

    A change of shares subtracts two ratios that are often equal; summed from the pivots in a fixed
    order they are equal to the bit on every engine, so an unchanged share gives exactly 0 (sums
    in an engine's own order may differ in the last bit)."""
    return safe_div(total(months(u, "comp", n, skip)), total(months(u, "calls", n, skip)))


@feature(theme="social", driver="social", reason="competitor")
def onnet_share_3m(usage_recent: ir.Table) -> ir.Table:
    """Share of voice minutes over T-2..T with our own subscribers (网内)."""
    return usage_recent.select("subscriber_id", onnet_share_3m=_share_3m(usage_recent, "onnet"))


@feature(theme="social", driver="social", reason="competitor")
def offnet_share_3m(usage_recent: ir.Table) -> ir.Table:
    """Share of voice minutes over T-2..T with fixed lines and other non-competitor networks."""
    return usage_recent.select("subscriber_id", offnet_share_3m=_share_3m(usage_recent, "offnet"))


@feature(theme="social", driver="social", reason="competitor")
def competitor_share_3m(usage_recent: ir.Table) -> ir.Table:
    """Share of voice minutes over T-2..T with competitors' mobile numbers (异网)."""
    return usage_recent.select("subscriber_id", competitor_share_3m=_share_3m(usage_recent, "comp"))


@feature(theme="social", driver="social", reason="competitor")
def competitor_share_change(usage_months: ir.Table) -> ir.Table:
    """Competitor share of voice minutes in T minus the share over T-3..T-1 (rising = positive)."""
    u = usage_months
    return u.select(
        "subscriber_id", competitor_share_change=_share_months(u, 1) - _share_months(u, 3, skip=1)
    )


@feature(theme="social", driver="social", reason="competitor", dtype="int64", fill=0)
def churned_neighbours_6m(neighbour_stats: ir.Table) -> ir.Table:
    """Our numbers called in T-5..T whose subscriptions were deregistered or ported out by the end of T."""
    n = neighbour_stats
    return n.select("subscriber_id", churned_neighbours_6m=n.churned_peers.cast("int64"))


@feature(theme="social", driver="social", reason="competitor")
def churned_neighbour_share_6m(neighbour_stats: ir.Table) -> ir.Table:
    """Of our numbers called in T-5..T, the share deregistered or ported out by the end of T."""
    n = neighbour_stats
    return n.select("subscriber_id", churned_neighbour_share_6m=safe_div(n.churned_peers, n.own_peers))


@feature(theme="social", driver="social", reason="competitor", dtype="int64", fill=0)
def ported_neighbours_6m(neighbour_stats: ir.Table) -> ir.Table:
    """Our numbers called in T-5..T that were ported out to a competitor (携号转网) by the end of T."""
    n = neighbour_stats
    return n.select("subscriber_id", ported_neighbours_6m=n.ported_peers.cast("int64"))


@node
def line_departures(status_event: ir.Table, as_of: AsOf) -> ir.Table:
    """Lines that have left by the end of T (closed, ported out, or suspended and not reactivated since),
    with the time they left: the first such event in T-5..T after their last (re)activation."""
    e = status_event.filter(
        status_event.event_time >= ibis.timestamp(as_of.ts_start(WINDOW - 1)),
        status_event.event_time < ibis.timestamp(as_of.end_ts),
    )
    back = e.group_by(sub_b=e.subscriber_id).agg(
        last_return=e.event_time.max(where=e.event_type.isin(RETURN_EVENTS))
    )
    j = e.join(back, e.subscriber_id == back.sub_b)
    gone = j.filter(
        j.event_type.isin(DEPARTURE_EVENTS) & (j.last_return.isnull() | (j.event_time > j.last_return))
    )
    return gone.group_by("subscriber_id").agg(left_time=gone.event_time.min())


@node(across_subscribers=True)
def number_departures(
    subscriptions_known: ir.Table, churned: ir.Table, line_departures: ir.Table, as_of: AsOf
) -> ir.Table:
    """Per pseudonymised number of ours (by fingerprint): whether every line on it that was still open
    at the start of T-5 has left by the end of T, and whether the last of them left in T-2..T."""
    subs = subscriptions_known.select("subscriber_id", "msisdn_hash")
    s = subs.left_join(churned, "subscriber_id").select("subscriber_id", "msisdn_hash", "churn_time")
    s = s.filter(s.churn_time.isnull() | (s.churn_time >= ibis.timestamp(as_of.ts_start(WINDOW - 1))))
    s = s.left_join(line_departures, "subscriber_id").select("msisdn_hash", "left_time")
    g = s.group_by(msisdn=s.msisdn_hash).agg(
        lines=s.msisdn_hash.count(), left=s.left_time.count(), last_left=s.left_time.max()
    )
    recent = (g.left == g.lines) & (g.last_left >= ibis.timestamp(as_of.ts_start(RECENT - 1)))
    return g.select(**fingerprint(g.msisdn, "num"), left_recently=recent)


@node(requires=("call_edge", "status_event"))
def neighbour_departures(call_pairs: ir.Table, number_departures: ir.Table) -> ir.Table:
    """Per subscriber, our numbers called in T-5..T, and how many of them left in T-2..T."""
    pairs, num = call_pairs, number_departures
    j = pairs.join(num, (pairs.peer_h1 == num.num_h1) & (pairs.peer_h2 == num.num_h2))
    return j.group_by("subscriber_id").agg(
        own_peers=j.peer_h1.count(), left_peers=ibis.ifelse(j.left_recently, 1, 0).sum()
    )


@feature(theme="social", driver="social", reason="competitor", dtype="int64", fill=0)
def left_neighbours_3m(neighbour_departures: ir.Table) -> ir.Table:
    """Our numbers called in T-5..T that left in T-2..T: closed, ported out, or suspended and not back."""
    # a line leaving down the arrears route is suspended (停机) months before it is deregistered
    n = neighbour_departures
    return n.select("subscriber_id", left_neighbours_3m=n.left_peers.cast("int64"))


@feature(theme="social", driver="social", reason="competitor")
def left_neighbour_share_3m(neighbour_departures: ir.Table) -> ir.Table:
    """Of our numbers called in T-5..T, the share whose lines left in T-2..T (see ``left_neighbours_3m``)."""
    n = neighbour_departures
    return n.select("subscriber_id", left_neighbour_share_3m=safe_div(n.left_peers, n.own_peers))
