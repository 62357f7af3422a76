"""Recharge behaviour and prepaid balance (from the shared ``billing_months`` pivot)."""

from __future__ import annotations

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
from churnradar.features.registry import feature


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
