"""Spend: billed revenue (ARPU) levels, trends, volatility and overage."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import (
    count_true,
    cv,
    mean,
    months,
    pivot_months,
    rel_change,
    safe_div,
    slope,
    total,
)
from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf, months_back

WINDOW = 6  # months T-5..T


def _billing_pivot(billing_monthly: ir.Table, as_of: AsOf, window: int) -> ir.Table:
    b = billing_monthly.filter(
        billing_monthly.month >= ibis.date(as_of.month_start(window - 1)),
        billing_monthly.month < ibis.date(as_of.end),
    )
    b = b.mutate(_back=months_back(b.month, as_of))  # computed once per row, not per pivot column
    back = b._back
    measures = {
        "rev": b.revenue,
        "arrears": b.arrears,
        "balance": b.balance,
        "rc_count": b.recharge_count,
        "rc_amount": b.recharge_amount,
        "overage": b.overage,
    }
    return b.group_by("subscriber_id").agg(
        **pivot_months(b, back, measures, window),
        package_0=b.package_id.max(where=back == 0),
    )


@node(covered_by="billing_months")
def billing_recent(billing_monthly: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, each billing measure pivoted by month back over T-2..T (``rev_0`` is month T)."""
    return _billing_pivot(billing_monthly, as_of, 3)


@node
def billing_months(billing_monthly: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, each billing measure pivoted by month back over T-5..T (for 4- to 6-month features)."""
    return _billing_pivot(billing_monthly, as_of, WINDOW)


@feature(theme="spend", driver="price", reason="competitor")
def arpu_1m(billing_recent: ir.Table) -> ir.Table:
    """Billed revenue in month T (yuan)."""
    b = billing_recent
    return b.select("subscriber_id", arpu_1m=b.rev_0)


@feature(theme="spend", driver="price", reason="competitor")
def arpu_3m_mean(billing_recent: ir.Table) -> ir.Table:
    """Mean monthly billed revenue over T-2..T (yuan; months with a bill)."""
    b = billing_recent
    return b.select("subscriber_id", arpu_3m_mean=mean(months(b, "rev", 3)))


@feature(theme="spend", driver="price", reason="competitor")
def arpu_6m_mean(billing_months: ir.Table) -> ir.Table:
    """Mean monthly billed revenue over T-5..T (yuan; months with a bill)."""
    b = billing_months
    return b.select("subscriber_id", arpu_6m_mean=mean(months(b, "rev", 6)))


@feature(theme="spend", driver="price", reason="competitor")
def arpu_trend_3m(billing_recent: ir.Table) -> ir.Table:
    """Least-squares slope of monthly revenue over T-2..T (yuan per month)."""
    b = billing_recent
    return b.select("subscriber_id", arpu_trend_3m=slope(months(b, "rev", 3)))


@feature(theme="spend", driver="price", reason="competitor")
def arpu_trend_6m(billing_months: ir.Table) -> ir.Table:
    """Least-squares slope of monthly revenue over T-5..T (yuan per month)."""
    b = billing_months
    return b.select("subscriber_id", arpu_trend_6m=slope(months(b, "rev", 6)))


@feature(theme="spend", driver="price", reason="competitor")
def arpu_mom_change(billing_recent: ir.Table) -> ir.Table:
    """Relative change of revenue from T-1 to T ((T - (T-1)) / (T-1))."""
    b = billing_recent
    return b.select("subscriber_id", arpu_mom_change=rel_change(b.rev_0, b.rev_1))


@feature(theme="spend", driver="price", reason="competitor")
def arpu_3m_vs_prior_3m(billing_months: ir.Table) -> ir.Table:
    """Mean revenue over T-2..T divided by the mean over T-5..T-3."""
    b = billing_months
    return b.select(
        "subscriber_id",
        arpu_3m_vs_prior_3m=safe_div(mean(months(b, "rev", 3)), mean(months(b, "rev", 3, skip=3))),
    )


@feature(theme="spend", driver="price", reason="tariff_reselection")
def arpu_6m_cv(billing_months: ir.Table) -> ir.Table:
    """Coefficient of variation (sample std / mean) of monthly revenue over T-5..T."""
    b = billing_months
    return b.select("subscriber_id", arpu_6m_cv=cv(months(b, "rev", 6)))


@feature(theme="spend", driver="price", reason="competitor", dtype="int64", fill=0)
def arpu_decline_months_3m(billing_months: ir.Table) -> ir.Table:
    """Of the months T-2..T, how many had lower revenue than the month before."""
    b = billing_months
    r = months(b, "rev", 4)
    return b.select("subscriber_id", arpu_decline_months_3m=count_true([r[k] < r[k + 1] for k in range(3)]))


@feature(theme="spend", driver="price", reason="tariff_reselection")
def overage_3m_mean(billing_recent: ir.Table) -> ir.Table:
    """Mean monthly charges beyond the package over T-2..T (yuan)."""
    b = billing_recent
    return b.select("subscriber_id", overage_3m_mean=mean(months(b, "overage", 3)))


@feature(theme="spend", driver="price", reason="tariff_reselection")
def overage_share_3m(billing_recent: ir.Table) -> ir.Table:
    """Share of revenue over T-2..T that was charged beyond the package."""
    b = billing_recent
    return b.select(
        "subscriber_id",
        overage_share_3m=safe_div(total(months(b, "overage", 3)), total(months(b, "rev", 3))),
    )
