"""Reason codes and intent for churn events, from the evidence in the data.

The BSS records *how* a line ended (arrears, customer request, port-out), rarely *why*. The reason
is inferred from evidence, first matching rule wins:

1. a ``fraud_block`` event → ``fraud`` (malicious);
2. a ``lost_sim`` event → ``lost_sim`` (involuntary);
3. ported out → ``competitor`` (voluntary);
4. a promotion-package line dropped at tenure ≤ 4 months after hardly any use (mean active days
   below 5 over its active months) → ``fraud`` (commission fraud, 养卡; malicious);
5. a migrant customer who went quiet in the Spring-Festival month or the month after →
   ``seasonal_migrant`` (involuntary);
6. a promotion-package line dropped at tenure 3–9 months → ``arrears`` (induced by our promotion);
7. arrears while still active in the last three active months → ``arrears`` (involuntary);
8. competitor evidence in the last three active months — at least ``COMPETITOR_SHARE`` of voice
   minutes with competitors, a competitor's second SIM in the handset, an unresolved complaint, or
   a contract or subsidy ending within a month of leaving → ``competitor`` (voluntary);
9. otherwise ``unknown`` (voluntary).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from churnradar.periods import spring_festival_months
from churnradar.store.backends import Backend

COMPETITOR_SHARE = 0.35
LOW_USE_ACTIVE_DAYS = 5.0


def _recent_usage(bk: Backend, exits: ir.Table) -> ir.Table:
    """Usage evidence over the three months before each exit's effective month."""
    u = bk.table("usage_monthly")
    e = exits.select("subscriber_id", "effective_month")
    j = u.join(e, "subscriber_id")
    win = j.filter(
        (j.month < j.effective_month)
        & (j.month >= (j.effective_month - ibis.interval(months=3)).cast("date"))
    )
    voice = win.voice_out_min + win.voice_in_min
    return win.group_by("subscriber_id").agg(
        voice_min=voice.sum(),
        competitor_min=win.competitor_min.sum(),
        competitor_sim=(win.second_sim_operator.notnull() & (win.second_sim_operator != "own")).any(),
    )


def _recent_arrears(bk: Backend, exits: ir.Table) -> ir.Table:
    b = bk.table("billing_monthly").select("subscriber_id", "month", "arrears")
    u = bk.table("usage_monthly").select("subscriber_id", "month", "active_days")
    e = exits.select("subscriber_id", "effective_month")
    # the three months before each exit first (a few rows per exit), then their activity
    j = b.join(e, "subscriber_id")
    recent = j.filter(
        (j.month < j.effective_month)
        & (j.month >= (j.effective_month - ibis.interval(months=3)).cast("date"))
    ).select("subscriber_id", "month", "arrears")
    win = recent.join(u, ["subscriber_id", "month"]).filter(_.active_days > 0)
    return win.group_by("subscriber_id").agg(arrears_while_active=(win.arrears > 0).any())


def _flag_events(bk: Backend, event_type: str, name: str) -> ir.Table:
    ev = bk.table("status_event")
    hit = ev.filter((ev.event_type == event_type) | (ev.reason == event_type))
    return hit.select("subscriber_id").distinct().mutate(**{name: ibis.literal(True)})


def _complaints(bk: Backend, exits: ir.Table) -> ir.Table:
    it = bk.table("interaction")
    e = exits.select("subscriber_id", "effective_month")
    j = it.join(e, "subscriber_id")
    t = j.interaction_time.cast("date")
    win = j.filter(
        (j.kind == "complaint")
        & ~j.resolved
        & (t < j.effective_month)
        & (t >= (j.effective_month - ibis.interval(months=3)).cast("date"))
    )
    return win.select("subscriber_id").distinct().mutate(unresolved_complaint=ibis.literal(True))


def exit_reasons(bk: Backend, exits: ir.Table) -> ir.Table:
    """``subscriber_id, reason_code, intent, voluntary`` for off-net exits (deregistrations and port-outs;
    rows of :func:`~churnradar.labels.events.offnet_exits`)."""
    subs = bk.table("subscription").select(
        "subscriber_id", "customer_id", "package_id", "activation_date", "contract_end", "subsidy_end"
    )
    cust = bk.table("customer").select("customer_id", "customer_group")
    pk = bk.table("package").select("package_id", "is_promotion")
    j = (
        exits.select("subscriber_id", "kind", "effective_month", "mean_active_days")
        .join(subs, "subscriber_id")
        .join(cust, "customer_id")
        .join(pk, "package_id")
        .left_join(_recent_usage(bk, exits), "subscriber_id")
        .left_join(_recent_arrears(bk, exits), "subscriber_id")
        .left_join(_flag_events(bk, "fraud_block", "fraud_flag"), "subscriber_id")
        .left_join(_flag_events(bk, "lost_sim", "lost_flag"), "subscriber_id")
        .left_join(_complaints(bk, exits), "subscriber_id")
    )
    tenure = j.activation_date.truncate("M").delta(j.effective_month, unit="month")
    share = ibis.cases((j.voice_min > 0, j.competitor_min / j.voice_min), else_=0.0)
    eff = j.effective_month
    near = (eff - ibis.interval(months=1)).cast("date")
    far = (eff + ibis.interval(months=1)).cast("date")
    ends_near = j.contract_end.between(near, far).fill_null(False) | j.subsidy_end.between(
        near, far
    ).fill_null(False)
    competitor_evidence = (
        (share >= COMPETITOR_SHARE)
        | j.competitor_sim.fill_null(False)
        | j.unresolved_complaint.fill_null(False)
        | ends_near
    )
    promo = j.is_promotion
    rules = [
        (j.fraud_flag.fill_null(False), "fraud", "malicious"),
        (j.lost_flag.fill_null(False), "lost_sim", "involuntary"),
        (j.kind == "port_out", "competitor", "voluntary"),
        (
            promo & (tenure <= 4) & (j.mean_active_days.fill_null(0.0) < LOW_USE_ACTIVE_DAYS),
            "fraud",
            "malicious",
        ),
        (
            (j.customer_group == "migrant") & eff.isin(spring_festival_months()),
            "seasonal_migrant",
            "involuntary",
        ),
        (promo & tenure.between(3, 9), "arrears", "induced"),
        (j.arrears_while_active.fill_null(False), "arrears", "involuntary"),
        (competitor_evidence, "competitor", "voluntary"),
    ]
    reason = ibis.cases(*[(cond, code) for cond, code, _ in rules], else_="unknown")
    intent = ibis.cases(*[(cond, it) for cond, _, it in rules], else_="voluntary")
    t = j.select("subscriber_id", reason_code=reason, intent=intent)
    return t.mutate(voluntary=t.intent.isin(("voluntary", "induced")))


def change_reasons(bk: Backend, events: ir.Table) -> ir.Table:
    """Reasons for in-network changes (brand downgrade, value decline, silence): competitor or unknown."""
    u = bk.table("usage_monthly")
    e = events.select("subscriber_id", "kind", "event_month")
    j = u.join(e, "subscriber_id")
    win = j.filter(
        (j.month < j.event_month) & (j.month >= (j.event_month - ibis.interval(months=3)).cast("date"))
    )
    voice = win.voice_out_min + win.voice_in_min
    ev = win.group_by("subscriber_id", "kind", "event_month").agg(
        voice_min=voice.sum(),
        competitor_min=win.competitor_min.sum(),
        competitor_sim=(win.second_sim_operator.notnull() & (win.second_sim_operator != "own")).any(),
    )
    share = ibis.cases((ev.voice_min > 0, ev.competitor_min / ev.voice_min), else_=0.0)
    comp = (share >= COMPETITOR_SHARE) | ev.competitor_sim.fill_null(False)
    return ev.select(
        "subscriber_id",
        "kind",
        "event_month",
        reason_code=ibis.cases((comp, "competitor"), else_="unknown"),
        intent=ibis.literal("voluntary"),
        voluntary=ibis.literal(True),
    )
