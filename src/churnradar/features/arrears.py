"""Arrears history: unpaid amounts, suspensions (停机) and reactivations (复机)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import count_true, mean, months, safe_div
from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf, months_back

SUSPENSIONS = ("suspend_oneway", "suspend_twoway", "pre_deregister")
RESUMPTIONS = ("activate", "reactivate")
HISTORY = 24  # months of status history looked at


@node
def status_stats(status_event: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber, lifecycle-event counts and latest times over the 24 months up to the end of T."""
    e = status_event.filter(
        status_event.event_time >= ibis.timestamp(as_of.ts_start(HISTORY - 1)),
        status_event.event_time < ibis.timestamp(as_of.end_ts),
    )
    back = months_back(e.event_time, as_of)
    suspended = e.event_type.isin(SUSPENSIONS)
    in_6m = back <= 5
    return e.group_by("subscriber_id").agg(
        suspensions_6m=e.event_type.count(where=suspended & in_6m),
        reactivations_6m=e.event_type.count(where=(e.event_type == "reactivate") & in_6m),
        package_changes_6m=e.event_type.count(where=(e.event_type == "package_change") & in_6m),
        downgrades_6m=e.event_type.count(
            where=(e.event_type == "package_change") & (e.reason == "downgrade") & in_6m
        ),
        suspend_back=back.min(where=suspended),
        last_suspend=e.event_time.max(where=suspended),
        last_resume=e.event_time.max(where=e.event_type.isin(RESUMPTIONS)),
    )


@feature(theme="arrears", driver="price", reason="arrears", fill=0.0)
def arrears_1m(billing_recent: ir.Table) -> ir.Table:
    """Unpaid amount at the end of month T (yuan)."""
    b = billing_recent
    return b.select("subscriber_id", arrears_1m=b.arrears_0.fill_null(0.0))


@feature(theme="arrears", driver="price", reason="arrears", fill=0.0)
def arrears_max_6m(billing_months: ir.Table) -> ir.Table:
    """Largest month-end unpaid amount over T-5..T (yuan)."""
    b = billing_months
    vals = [v.fill_null(0.0) for v in months(b, "arrears", 6)]
    return b.select("subscriber_id", arrears_max_6m=ibis.greatest(*vals))


@feature(theme="arrears", driver="price", reason="arrears", dtype="int64", fill=0)
def arrears_months_6m(billing_months: ir.Table) -> ir.Table:
    """Of the months T-5..T, how many ended with an unpaid amount."""
    b = billing_months
    return b.select("subscriber_id", arrears_months_6m=count_true([a > 0 for a in months(b, "arrears", 6)]))


@feature(theme="arrears", driver="price", reason="arrears")
def arrears_to_arpu(billing_recent: ir.Table) -> ir.Table:
    """Unpaid amount at the end of T divided by the mean monthly revenue over T-2..T."""
    b = billing_recent
    return b.select("subscriber_id", arrears_to_arpu=safe_div(b.arrears_0, mean(months(b, "rev", 3))))


@feature(theme="arrears", driver="price", reason="arrears", dtype="int64", fill=0)
def suspensions_6m(status_stats: ir.Table) -> ir.Table:
    """Suspensions and pre-deregistrations recorded in T-5..T."""
    s = status_stats
    return s.select("subscriber_id", suspensions_6m=s.suspensions_6m.cast("int64"))


@feature(theme="arrears", driver="price", reason="arrears", dtype="int64", fill=0)
def reactivations_6m(status_stats: ir.Table) -> ir.Table:
    """Reactivations (复机, after payment) recorded in T-5..T."""
    s = status_stats
    return s.select("subscriber_id", reactivations_6m=s.reactivations_6m.cast("int64"))


@feature(theme="arrears", driver="price", reason="arrears", dtype="int64", fill=HISTORY)
def months_since_suspension(status_stats: ir.Table) -> ir.Table:
    """Months since the last suspension (0 = in T; 24 when none in T-23..T)."""
    s = status_stats
    return s.select("subscriber_id", months_since_suspension=s.suspend_back.cast("int64").fill_null(HISTORY))


@feature(theme="arrears", driver="price", reason="arrears", dtype="boolean", fill=False)
def is_suspended(status_stats: ir.Table) -> ir.Table:
    """Suspended at the end of T: the latest suspension is later than the latest (re)activation."""
    s = status_stats
    return s.select(
        "subscriber_id",
        is_suspended=s.last_suspend.notnull() & (s.last_resume.isnull() | (s.last_suspend > s.last_resume)),
    )
