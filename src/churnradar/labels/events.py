"""Churn events of every kind, as Ibis expressions over the canonical tables.

Each function returns one row per event with ``subscriber_id``, ``kind`` and ``event_month`` (the
first day of the month the change happened, under the definition's dating). They read only the
canonical tables, so they run unchanged on DuckDB and Spark.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from churnradar.labels.definitions import ChurnDefinition
from churnradar.metrics.population import line_ends
from churnradar.schema.enums import END_EVENTS, SUSPEND_EVENTS
from churnradar.store.backends import Backend

BRAND_RANK = {"premium": 3, "youth": 2, "budget": 1}


def _month_of(ts: ir.Value) -> ir.Value:
    """First day of the month of a date or timestamp, as a DATE on every engine (DuckDB's
    ``date_trunc`` returns a TIMESTAMP, which would leak into materialised tables)."""
    return ibis.date(ts.year(), ts.month(), 1)


def subscription_ends(bk: Backend) -> ir.Table:
    """First deregistration or port-out of each subscriber: when, which, and to whom
    (:func:`churnradar.metrics.population.line_ends` with the event's reason and destination)."""
    return line_ends(
        bk.table("status_event"),
        details={"end_reason": "reason", "destination_operator": "destination_operator"},
    )


def last_active_months(bk: Backend) -> ir.Table:
    """Last month with billable activity (``active_days > 0``) of each subscriber, and the mean active
    days over its active months (read in the same pass; the exit reasons use it)."""
    u = bk.table("usage_monthly")
    active = u.filter(u.active_days > 0)
    return active.group_by("subscriber_id").agg(
        last_active_month=active.month.max(), mean_active_days=active.active_days.mean()
    )


def offnet_exits(bk: Backend, d: ChurnDefinition) -> ir.Table:
    """Deregistrations and port-outs, dated by last activity or by the recorded event.

    ``effective_month`` is the last month with billable activity, when the customer actually left
    (never later than the recorded event; the activation month, or the first month of data, when no
    activity was seen); ``recorded_month`` is the month of the recorded event. ``event_month`` is one of the two, per ``d.dating``.
    """
    ends = subscription_ends(bk)
    last = last_active_months(bk)
    coverage_start = bk.table("usage_monthly").month.min().as_scalar()
    subs = bk.table("subscription").select("subscriber_id", "activation_date")
    j = ends.join(subs, "subscriber_id").left_join(last, "subscriber_id")
    recorded = _month_of(j.end_time)
    # no activity seen: the line went quiet when it opened, or before our data starts
    never_active = ibis.greatest(_month_of(j.activation_date), coverage_start)
    effective = ibis.least(ibis.coalesce(j.last_active_month, never_active), recorded)
    t = j.select(
        "subscriber_id",
        kind=ibis.cases((j.end_type == "port_out", "port_out"), else_="offnet"),
        recorded_month=recorded,
        effective_month=effective,
        end_time=j.end_time,
        end_reason=j.end_reason,
        destination_operator=j.destination_operator,
        mean_active_days=j.mean_active_days,
    )
    return t.mutate(event_month=t.effective_month if d.dating == "left" else t.recorded_month)


def reselections(bk: Backend, d: ChurnDefinition, exits: ir.Table | None = None) -> ir.Table:
    """Ended subscriptions whose person (certificate) or handset (IMEI) reappears on a new number of ours.

    The new subscription must be activated after the old one and between ``d.reselection_days``
    before the old number went quiet and ``d.reselection_days`` after it was closed. It is
    **tariff re-selection** when the new package is cheaper or a promotion package, otherwise
    **number re-selection**. One row per old subscriber (the earliest such new subscription).
    """
    exits = exits if exits is not None else offnet_exits(bk, d)
    subs = bk.table("subscription")
    cust = bk.table("customer").select("customer_id", "certificate_hash")
    pk = bk.table("package").select("package_id", "monthly_fee", "is_promotion")
    days = ibis.interval(days=d.reselection_days)

    old = (
        exits.filter(exits.kind == "offnet")
        .join(
            subs.select("subscriber_id", "customer_id", "activation_date", old_package="package_id"),
            "subscriber_id",
        )
        .join(cust, "customer_id")
        .select(
            old_id=_.subscriber_id,
            old_activation=_.activation_date,
            old_package=_.old_package,
            certificate_hash=_.certificate_hash,
            window_start=(_.effective_month - days).cast("date"),
            window_end=(_.end_time.cast("date") + days).cast("date"),
        )
    )
    new = subs.join(cust, "customer_id").select(
        new_id=_.subscriber_id,
        new_activation=_.activation_date,
        new_package=_.package_id,
        certificate_hash=_.certificate_hash,
    )
    by_certificate = old.join(new, "certificate_hash").select(
        "old_id",
        "old_activation",
        "old_package",
        "window_start",
        "window_end",
        "new_id",
        "new_activation",
        "new_package",
    )

    u = bk.table("usage_monthly").filter(_.imei_hash.notnull())
    handsets = u.select("subscriber_id", "imei_hash").distinct()
    old_h = old.join(handsets, old.old_id == handsets.subscriber_id).select(
        "old_id", "old_activation", "old_package", "window_start", "window_end", "imei_hash"
    )
    new_h = new.join(handsets, new.new_id == handsets.subscriber_id).select(
        "new_id", "new_activation", "new_package", "imei_hash"
    )
    by_handset = old_h.join(new_h, "imei_hash").select(
        "old_id",
        "old_activation",
        "old_package",
        "window_start",
        "window_end",
        "new_id",
        "new_activation",
        "new_package",
    )

    pairs = by_certificate.union(by_handset, distinct=True)
    pairs = pairs.filter(
        (pairs.new_id != pairs.old_id)
        & (pairs.new_activation >= pairs.old_activation)
        & pairs.new_activation.between(pairs.window_start, pairs.window_end)
    )
    first = pairs.group_by("old_id").agg(
        new_subscriber_id=pairs.new_id.argmin(pairs.new_activation.cast("string").concat(pairs.new_id)),
    )
    first = first.join(
        pairs, (first.old_id == pairs.old_id) & (first.new_subscriber_id == pairs.new_id)
    ).select(
        subscriber_id=first.old_id,
        new_subscriber_id=first.new_subscriber_id,
        old_package=pairs.old_package,
        new_package=pairs.new_package,
    )
    op = pk.select(old_package=pk.package_id, old_fee=pk.monthly_fee)
    np_ = pk.select(new_package=pk.package_id, new_fee=pk.monthly_fee, new_promo=pk.is_promotion)
    f = first.join(op, "old_package").join(np_, "new_package")
    return f.select(
        "subscriber_id",
        "new_subscriber_id",
        kind=ibis.cases(
            ((f.new_fee < f.old_fee) | f.new_promo, "tariff_reselection"), else_="number_reselection"
        ),
    )


def exits_and_reselections(bk: Backend, d: ChurnDefinition, cache: bool = False) -> tuple[ir.Table, ir.Table]:
    """Off-net exits that are churn, and the in-network re-selections: the one split every count of
    离网 (labels, metrics, reports, retention) reads.

    The first table is :func:`offnet_exits` without the old numbers of re-selections (kind
    ``offnet`` or ``port_out``); the second is one row per re-selection (kind ``number_reselection``
    or ``tariff_reselection``, ``new_subscriber_id``) with the old number's ``event_month``,
    ``effective_month`` and ``recorded_month``. ``cache`` materialises exits and re-selections once
    (worth it when both tables feed several branches of one query).
    """
    exits = offnet_exits(bk, d)
    if cache:
        exits = exits.cache()
    resel = reselections(bk, d, exits)
    if cache:
        resel = resel.cache()
    offnet = exits.anti_join(resel, "subscriber_id")
    dates = exits.select("subscriber_id", "event_month", "effective_month", "recorded_month")
    return offnet, resel.join(dates, "subscriber_id")


def _billing_with_rank(bk: Backend) -> ir.Table:
    b = bk.table("billing_monthly")
    pk = bk.table("package").select("package_id", "brand")
    rank = ibis.cases(*[(pk.brand == name, r) for name, r in BRAND_RANK.items()], else_=0)
    pk = pk.mutate(brand_rank=rank)
    return b.join(pk, "package_id")


def brand_downgrades(bk: Backend) -> ir.Table:
    """Months in which the billed package's brand is lower than the previous month's."""
    b = _billing_with_rank(bk)
    w = ibis.window(group_by="subscriber_id", order_by="month")
    b = b.mutate(prev_rank=b.brand_rank.lag().over(w))
    hit = b.filter(b.brand_rank < b.prev_rank)
    return hit.select("subscriber_id", kind=ibis.literal("brand_downgrade"), event_month=hit.month)


def value_declines(bk: Backend, d: ChurnDefinition) -> ir.Table:
    """Starts of runs of ``d.value_decline_months`` months with revenue below the share of the own baseline.

    The baseline of month m is the mean revenue of months m-3..m-1 (all three must exist and the
    baseline must be positive); the run starts at m when months m..m+K-1 all fall below it and the
    month before did not already start such a run. The line must stay active (billable activity) in
    every month of the run, so lines on their way out through arrears are not counted.

    Both conditions (a run at m, none at m-1) are read from one window pass of lags and leads: one
    sort of the billing rows instead of one per step.
    """
    b = bk.table("billing_monthly").select("subscriber_id", "month", "revenue")
    u = bk.table("usage_monthly").select("subscriber_id", "month", "active_days")
    b = b.join(u, ["subscriber_id", "month"])
    w = ibis.window(group_by="subscriber_id", order_by="month")
    k = d.value_decline_months

    def shifted(col: ir.Column, offset: int) -> ir.Value:
        if offset == 0:
            return col
        return (col.lag(-offset) if offset < 0 else col.lead(offset)).over(w)

    revenue = {o: shifted(b.revenue, o) for o in range(-4, k)}
    active = {o: shifted(b.active_days, o) for o in range(-1, k)}

    def run_starts(o: int) -> ir.BooleanValue:
        """A run of ``k`` low months starts ``o`` rows from this one (``o`` is 0 or -1)."""
        baseline = (revenue[o - 1] + revenue[o - 2] + revenue[o - 3]) / 3.0
        run = [revenue[i] for i in range(o, o + k)]
        run_max = ibis.greatest(*run) if len(run) > 1 else run[0]
        complete = revenue[o + k - 1].notnull() if o + k - 1 != 0 else ibis.literal(True)
        still_active = active[o] > 0
        for i in range(o + 1, o + k):
            still_active = still_active & (active[i] > 0)
        return (
            (baseline > 0)
            & complete
            & still_active.fill_null(False)
            & (run_max < baseline * d.value_decline_share)
        )

    b = b.mutate(hit=run_starts(0), prev_hit=run_starts(-1))
    start = b.filter(b.hit & ~b.prev_hit.fill_null(False))
    return start.select("subscriber_id", kind=ibis.literal("value_decline"), event_month=start.month)


def activity(u: ir.Table) -> ir.Value:
    """Days with billable activity in a usage month: ``active_days`` where the operator's data has it,
    otherwise 1 for a month with any minutes, data or SMS and 0 for a month without."""
    used = (
        u.voice_out_min.fill_null(0)
        + u.voice_in_min.fill_null(0)
        + u.data_mb.fill_null(0)
        + u.sms_count.fill_null(0)
    ) > 0
    return u.active_days.coalesce(used.ifelse(1, 0)).cast("int64")


def _with_missing_months(bk: Backend, u: ir.Table) -> ir.Table:
    """Usage rows plus a row of no activity for every month after a line's last usage row, up to the
    data's last month, for lines with no lifecycle event at all: in an export without events (one row
    per number and month columns) a number that stops using the network simply has no more months."""
    ev = bk.table("status_event").select("subscriber_id").distinct()
    last = u.group_by("subscriber_id").aggregate(last_month=u.month.max())
    last = last.anti_join(ev, last.subscriber_id == ev.subscriber_id)
    months = u.select("month").distinct()
    gaps = last.cross_join(months).filter(_.month > _.last_month)
    gaps = gaps.select(
        subscriber_id=gaps.subscriber_id.cast("string"),
        month=gaps.month.cast("date"),
        act=ibis.literal(0, type="int64"),
    )
    rows = u.select(subscriber_id=u.subscriber_id.cast("string"), month=u.month.cast("date"), act=u.act)
    return rows.union(gaps)


def silent_spells(bk: Backend, d: ChurnDefinition) -> ir.Table:
    """Starts of runs of ``d.silent_months`` months without billable activity while not suspended or closed."""
    raw = bk.table("usage_monthly")
    u = _with_missing_months(bk, raw.select("subscriber_id", "month", act=activity(raw)))
    w = ibis.window(group_by="subscriber_id", order_by="month")
    k = d.silent_months
    idle = u.act == 0
    leads = [u.act.lead(i).over(w) for i in range(1, k)]
    run_idle = idle
    for lead in leads:
        run_idle = run_idle & (lead == 0)
    u = u.mutate(run_idle=run_idle.fill_null(False), prev_active=u.act.lag().over(w))
    start = u.filter(u.run_idle & (u.prev_active > 0))
    start = start.mutate(run_end=(start.month + ibis.interval(months=k)).cast("date"))
    ev = bk.table("status_event")
    blocking = ev.filter(ev.event_type.isin((*SUSPEND_EVENTS, *END_EVENTS))).select(
        "subscriber_id", blk_month=_month_of(ev.event_time)
    )
    blocked = (
        start.join(
            blocking,
            (start.subscriber_id == blocking.subscriber_id)
            & (blocking.blk_month >= start.month)
            & (blocking.blk_month < start.run_end),
        )
        .select(start.subscriber_id, start.month)
        .distinct()
    )
    ok = start.anti_join(
        blocked, (start.subscriber_id == blocked.subscriber_id) & (start.month == blocked.month)
    )
    return ok.select("subscriber_id", kind=ibis.literal("silent"), event_month=ok.month)
