"""Multi-SIM handset signals (一机多卡): shared IMEIs, competitor second SIMs, handset changes."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import months, total_int
from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf


def _handsets_in_t(usage_monthly: ir.Table, as_of: AsOf) -> ir.Table:
    u = usage_monthly
    return u.filter(u.month == ibis.date(as_of.month), u.imei_hash.notnull()).select(
        "subscriber_id", "imei_hash"
    )


@node(requires=("usage_monthly.imei_hash",), across_subscribers=True)
def imei_lines(usage_monthly: ir.Table, as_of: AsOf) -> ir.Table:
    """Per handset (IMEI) seen in T: how many of our subscriptions used it in T."""
    u = _handsets_in_t(usage_monthly, as_of)
    return u.group_by(imei=u.imei_hash).agg(lines=u.subscriber_id.nunique())


@node(requires=("usage_monthly.imei_hash",))
def imei_sharing(usage_monthly: ir.Table, imei_lines: ir.Table, as_of: AsOf) -> ir.Table:
    """Per subscriber with a handset seen in T: how many of our subscriptions used that IMEI in T."""
    u = _handsets_in_t(usage_monthly, as_of)
    j = u.join(imei_lines, u.imei_hash == imei_lines.imei)
    return j.group_by("subscriber_id").agg(others=(j.lines - 1).max())


@feature(theme="handset", driver="technology", reason="number_reselection", dtype="int64", fill=0)
def imei_shared_subscriptions_1m(imei_sharing: ir.Table) -> ir.Table:
    """Other subscriptions of ours whose usage in T shows the same handset IMEI."""
    s = imei_sharing
    return s.select("subscriber_id", imei_shared_subscriptions_1m=s.others.cast("int64"))


@feature(theme="handset", driver="technology", reason="competitor", dtype="boolean", fill=False)
def competitor_second_sim_1m(usage_recent: ir.Table) -> ir.Table:
    """In T the handset also carried a SIM of a competitor (second SIM not ours)."""
    u = usage_recent
    return u.select("subscriber_id", competitor_second_sim_1m=(u.csim_0 == 1).fill_null(False))


@feature(theme="handset", driver="technology", reason="competitor", dtype="int64", fill=0)
def competitor_second_sim_months_3m(usage_recent: ir.Table) -> ir.Table:
    """Of the months T-2..T, how many the handset carried a competitor's second SIM."""
    u = usage_recent
    return u.select("subscriber_id", competitor_second_sim_months_3m=total_int(months(u, "csim", 3)))


@feature(theme="handset", driver="technology", reason="competitor", dtype="int64", fill=0)
def handset_changes_3m(usage_recent: ir.Table) -> ir.Table:
    """Distinct handsets (IMEIs) seen in T-2..T minus one (0 when one or none)."""
    u = usage_recent
    return u.select(
        "subscriber_id",
        handset_changes_3m=ibis.greatest(u.imeis_3m.cast("int64") - 1, ibis.literal(0, type="int64")),
    )
