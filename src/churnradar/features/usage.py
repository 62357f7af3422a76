"""Usage: voice minutes (MOU), data, SMS and active days; levels, trends, volatility."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import (
    count_true,
    cv,
    first_true_back,
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
from churnradar.schema.enums import OPERATOR_OWN

WINDOW = 6  # months T-5..T


def _usage_pivot(usage_monthly: ir.Table, as_of: AsOf, window: int) -> ir.Table:
    u = usage_monthly.filter(
        usage_monthly.month >= ibis.date(as_of.month_start(window - 1)),
        usage_monthly.month < ibis.date(as_of.end),
    )
    u = u.mutate(_back=months_back(u.month, as_of))  # computed once per row, not per pivot column
    back = u._back
    competitor_sim = u.second_sim_operator.notnull() & (u.second_sim_operator != OPERATOR_OWN)
    # all voice minutes by kind of peer: our own subscribers, other networks, competitors' mobiles
    calls = u.onnet_min.fill_null(0.0) + u.offnet_min.fill_null(0.0) + u.competitor_min.fill_null(0.0)
    measures = {
        "mou": u.voice_out_min + u.voice_in_min,
        "out": u.voice_out_min,
        "data": u.data_mb,
        "sms": u.sms_count,
        "days": u.active_days,
        "comp": u.competitor_min,
        "calls": calls,
        "csim": ibis.ifelse(competitor_sim, 1, 0),
    }
    recent = back <= 2
    return u.group_by("subscriber_id").agg(
        **pivot_months(u, back, measures, window),
        # voice minutes by kind of peer over T-2..T, for the shares: plain sums, as a share is a
        # ratio of sums (see social.py on why the change of a share reads the monthly pivots)
        onnet_3m=ibis.cases((recent, u.onnet_min)).sum(),
        offnet_3m=ibis.cases((recent, u.offnet_min)).sum(),
        comp_3m=ibis.cases((recent, u.competitor_min)).sum(),
        calls_3m=ibis.cases((recent, calls)).sum(),
        imeis_3m=u.imei_hash.nunique(where=recent),
    )


@node(covered_by="usage_months")
def usage_recent(usage_monthly: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, each usage measure pivoted by month back over T-2..T (``mou_0`` is month T)."""
    return _usage_pivot(usage_monthly, as_of, 3)


@node
def usage_months(usage_monthly: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, each usage measure pivoted by month back over T-5..T (for 4- to 6-month features)."""
    return _usage_pivot(usage_monthly, as_of, WINDOW)


# -- voice minutes --------------------------------------------------------------------------


@feature(theme="usage", driver="life_event", reason="relocation")
def mou_1m(usage_recent: ir.Table) -> ir.Table:
    """Voice minutes (outgoing + incoming) in month T."""
    u = usage_recent
    return u.select("subscriber_id", mou_1m=u.mou_0)


@feature(theme="usage", driver="life_event", reason="relocation")
def mou_3m_mean(usage_recent: ir.Table) -> ir.Table:
    """Mean monthly voice minutes over T-2..T (months with a usage row)."""
    u = usage_recent
    return u.select("subscriber_id", mou_3m_mean=mean(months(u, "mou", 3)))


@feature(theme="usage", driver="life_event", reason="relocation")
def mou_6m_mean(usage_months: ir.Table) -> ir.Table:
    """Mean monthly voice minutes over T-5..T (months with a usage row)."""
    u = usage_months
    return u.select("subscriber_id", mou_6m_mean=mean(months(u, "mou", 6)))


@feature(theme="usage", driver="life_event", reason="relocation")
def mou_trend_3m(usage_recent: ir.Table) -> ir.Table:
    """Least-squares slope of monthly voice minutes over T-2..T (minutes per month)."""
    u = usage_recent
    return u.select("subscriber_id", mou_trend_3m=slope(months(u, "mou", 3)))


@feature(theme="usage", driver="life_event", reason="relocation")
def mou_trend_6m(usage_months: ir.Table) -> ir.Table:
    """Least-squares slope of monthly voice minutes over T-5..T (minutes per month)."""
    u = usage_months
    return u.select("subscriber_id", mou_trend_6m=slope(months(u, "mou", 6)))


@feature(theme="usage", driver="life_event", reason="relocation")
def mou_mom_change(usage_recent: ir.Table) -> ir.Table:
    """Relative change of voice minutes from T-1 to T ((T - (T-1)) / (T-1))."""
    u = usage_recent
    return u.select("subscriber_id", mou_mom_change=rel_change(u.mou_0, u.mou_1))


@feature(theme="usage", driver="life_event", reason="relocation")
def mou_3m_vs_prior_3m(usage_months: ir.Table) -> ir.Table:
    """Mean voice minutes over T-2..T divided by the mean over T-5..T-3."""
    u = usage_months
    return u.select(
        "subscriber_id",
        mou_3m_vs_prior_3m=safe_div(mean(months(u, "mou", 3)), mean(months(u, "mou", 3, skip=3))),
    )


@feature(theme="usage", driver="life_event", reason="seasonal_migrant")
def mou_6m_cv(usage_months: ir.Table) -> ir.Table:
    """Coefficient of variation (sample std / mean) of monthly voice minutes over T-5..T."""
    u = usage_months
    return u.select("subscriber_id", mou_6m_cv=cv(months(u, "mou", 6)))


@feature(theme="usage", driver="life_event", reason="relocation", dtype="int64", fill=0)
def mou_decline_months_3m(usage_months: ir.Table) -> ir.Table:
    """Of the months T-2..T, how many had fewer voice minutes than the month before."""
    u = usage_months
    m = months(u, "mou", 4)
    return u.select("subscriber_id", mou_decline_months_3m=count_true([m[k] < m[k + 1] for k in range(3)]))


@feature(theme="usage", driver="social", reason="competitor")
def voice_out_share_3m(usage_recent: ir.Table) -> ir.Table:
    """Share of outgoing in all voice minutes over T-2..T."""
    u = usage_recent
    return u.select(
        "subscriber_id", voice_out_share_3m=safe_div(total(months(u, "out", 3)), total(months(u, "mou", 3)))
    )


# -- data and SMS ---------------------------------------------------------------------------


@feature(theme="usage", driver="technology", reason="competitor")
def data_mb_1m(usage_recent: ir.Table) -> ir.Table:
    """Mobile data used in month T (MB)."""
    u = usage_recent
    return u.select("subscriber_id", data_mb_1m=u.data_0)


@feature(theme="usage", driver="technology", reason="competitor")
def data_mb_3m_mean(usage_recent: ir.Table) -> ir.Table:
    """Mean monthly mobile data over T-2..T (MB)."""
    u = usage_recent
    return u.select("subscriber_id", data_mb_3m_mean=mean(months(u, "data", 3)))


@feature(theme="usage", driver="technology", reason="competitor")
def data_trend_3m(usage_recent: ir.Table) -> ir.Table:
    """Least-squares slope of monthly data over T-2..T (MB per month)."""
    u = usage_recent
    return u.select("subscriber_id", data_trend_3m=slope(months(u, "data", 3)))


@feature(theme="usage", driver="technology", reason="competitor")
def data_mom_change(usage_recent: ir.Table) -> ir.Table:
    """Relative change of mobile data from T-1 to T."""
    u = usage_recent
    return u.select("subscriber_id", data_mom_change=rel_change(u.data_0, u.data_1))


@feature(theme="usage", driver="life_event", reason="travel")
def data_6m_cv(usage_months: ir.Table) -> ir.Table:
    """Coefficient of variation (sample std / mean) of monthly data over T-5..T."""
    u = usage_months
    return u.select("subscriber_id", data_6m_cv=cv(months(u, "data", 6)))


@feature(theme="usage", driver="life_event")
def sms_3m_mean(usage_recent: ir.Table) -> ir.Table:
    """Mean monthly SMS sent over T-2..T."""
    u = usage_recent
    return u.select("subscriber_id", sms_3m_mean=mean(months(u, "sms", 3)))


# -- active days ----------------------------------------------------------------------------


@feature(theme="usage", driver="life_event", reason="relocation", dtype="int64")
def active_days_1m(usage_recent: ir.Table) -> ir.Table:
    """Days with any billable activity in month T."""
    u = usage_recent
    return u.select("subscriber_id", active_days_1m=u.days_0.cast("int64"))


@feature(theme="usage", driver="life_event", reason="relocation")
def active_days_3m_mean(usage_recent: ir.Table) -> ir.Table:
    """Mean active days per month over T-2..T."""
    u = usage_recent
    return u.select("subscriber_id", active_days_3m_mean=mean(months(u, "days", 3)))


@feature(theme="usage", driver="life_event", reason="relocation")
def active_days_trend_3m(usage_recent: ir.Table) -> ir.Table:
    """Least-squares slope of active days over T-2..T (days per month)."""
    u = usage_recent
    return u.select("subscriber_id", active_days_trend_3m=slope(months(u, "days", 3)))


@feature(theme="usage", driver="life_event", reason="travel", dtype="int64", fill=0)
def zero_activity_months_3m(usage_recent: ir.Table) -> ir.Table:
    """Of the months T-2..T, how many have a usage row with zero active days."""
    u = usage_recent
    return u.select(
        "subscriber_id", zero_activity_months_3m=count_true([d == 0 for d in months(u, "days", 3)])
    )


@feature(theme="usage", driver="life_event", reason="relocation", dtype="int64", fill=6)
def months_since_active(usage_months: ir.Table) -> ir.Table:
    """Months since the last month with an active day (0 = active in T; 6 when none in T-5..T)."""
    u = usage_months
    return u.select(
        "subscriber_id", months_since_active=first_true_back([d > 0 for d in months(u, "days", 6)], 6)
    )
