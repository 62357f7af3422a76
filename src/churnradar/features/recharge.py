"""Recharge behaviour and prepaid balance: monthly counts and amounts from the shared
``billing_months`` pivot, recharge days from the (optional) recharge table."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import (
    first_true_back,
    mean,
    months,
    safe_div,
    slope,
    total,
    total_int,
)
from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf


@feature(theme="recharge", driver="price", reason="competitor", dtype="int64", fill=0)
def recharge_count_3m(billing_recent: ir.Table) -> ir.Table:
    """Number of recharges over T-2..T."""
    b = billing_recent
    return b.select("subscriber_id", recharge_count_3m=total_int(months(b, "rc_count", 3)))


@feature(theme="recharge", driver="price", reason="competitor", fill=0.0)
def recharge_amount_3m(billing_recent: ir.Table) -> ir.Table:
    """Amount recharged over T-2..T (yuan)."""
    b = billing_recent
    return b.select("subscriber_id", recharge_amount_3m=total(months(b, "rc_amount", 3)))


@feature(theme="recharge", driver="price", reason="competitor")
def recharge_amount_trend_3m(billing_recent: ir.Table) -> ir.Table:
    """Least-squares slope of the monthly recharge amount over T-2..T (yuan per month)."""
    b = billing_recent
    return b.select("subscriber_id", recharge_amount_trend_3m=slope(months(b, "rc_amount", 3)))


@feature(theme="recharge", driver="price", reason="competitor")
def recharge_count_3m_vs_prior_3m(billing_months: ir.Table) -> ir.Table:
    """Recharges over T-2..T divided by recharges over T-5..T-3."""
    b = billing_months
    return b.select(
        "subscriber_id",
        recharge_count_3m_vs_prior_3m=safe_div(
            total_int(months(b, "rc_count", 3)), total_int(months(b, "rc_count", 3, skip=3))
        ),
    )


@feature(theme="recharge", driver="price", reason="arrears", dtype="int64", fill=6)
def months_since_recharge(billing_months: ir.Table) -> ir.Table:
    """Months since the last month with a recharge (0 = recharged in T; 6 when none in T-5..T)."""
    b = billing_months
    return b.select(
        "subscriber_id",
        months_since_recharge=first_true_back([c > 0 for c in months(b, "rc_count", 6)], 6),
    )


@feature(theme="recharge", driver="price", reason="arrears")
def balance_1m(billing_recent: ir.Table) -> ir.Table:
    """Prepaid balance at the end of month T (yuan)."""
    b = billing_recent
    return b.select("subscriber_id", balance_1m=b.balance_0)


@feature(theme="recharge", driver="price", reason="arrears")
def balance_trend_3m(billing_recent: ir.Table) -> ir.Table:
    """Least-squares slope of the month-end balance over T-2..T (yuan per month)."""
    b = billing_recent
    return b.select("subscriber_id", balance_trend_3m=slope(months(b, "balance", 3)))


@feature(theme="recharge", driver="price", reason="arrears")
def balance_months_of_spend(billing_recent: ir.Table) -> ir.Table:
    """Balance at the end of T divided by the mean monthly revenue over T-2..T (months covered)."""
    b = billing_recent
    return b.select("subscriber_id", balance_months_of_spend=safe_div(b.balance_0, mean(months(b, "rev", 3))))


#: Months of the recharge table looked at (T-5..T).
RECHARGE_HISTORY = 6
#: ``days_since_recharge`` of a line with no recharge day in T-5..T (more than any such gap).
NO_RECHARGE_DAYS = 190


@node
def recharge_days(recharge: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, from the recharge table over T-5..T: the last recharge day, its amount and
    the recharge days of T-2..T."""
    r = recharge.filter(
        recharge.recharge_date >= ibis.date(as_of.month_start(RECHARGE_HISTORY - 1)),
        recharge.recharge_date < ibis.date(as_of.end),
    )
    recent = r.recharge_date >= ibis.date(as_of.month_start(2))
    last = r.recharge_date.max()
    return r.group_by("subscriber_id").agg(
        last_day=last,
        last_amount=r.amount.argmax(r.recharge_date),
        days_3m=r.recharge_date.count(where=recent),
    )


@feature(theme="recharge", driver="price", reason="arrears", dtype="int64", fill=NO_RECHARGE_DAYS)
def days_since_recharge(recharge_days: ir.Table, as_of: AsOf) -> ir.Table:
    """Days from the last recharge day to the last day of T (0 = recharged on it; 190 when none in T-5..T)."""
    r = recharge_days
    last_day_of_t = ibis.date(as_of.end) - ibis.interval(days=1)
    return r.select(
        "subscriber_id", days_since_recharge=last_day_of_t.delta(r.last_day, unit="day").cast("int64")
    )


@feature(theme="recharge", driver="price", reason="competitor")
def last_recharge_amount(recharge_days: ir.Table) -> ir.Table:
    """Amount recharged on the last recharge day in T-5..T (yuan)."""
    r = recharge_days
    return r.select("subscriber_id", last_recharge_amount=r.last_amount)


@feature(theme="recharge", driver="price", reason="competitor", dtype="int64", fill=0)
def recharge_days_3m(recharge_days: ir.Table) -> ir.Table:
    """Days with a recharge over T-2..T."""
    r = recharge_days
    return r.select("subscriber_id", recharge_days_3m=r.days_3m)
