"""Competitor view from the call graph: traffic between our subscribers and
each competitor's numbers by county and month — competitor scale and where it is pushing — with
port-outs to each competitor beside it."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from churnradar.periods import format_month
from churnradar.reports.churn import label_of
from churnradar.reports.context import ReportContext


def competitor_traffic(ctx: ReportContext) -> pd.DataFrame:
    """Calls, minutes and distinct subscribers (HyperLogLog estimate) with each competitor by county and month.

    ``minute_share`` = minutes with the competitor / all call-graph minutes of our subscribers in the
    county that month; ``share_change_3m`` = its relative change over three months (log ratio);
    ``excess_change_3m`` = that change minus the competitor's median change across counties the same
    month (a county rising faster than the competitor's general trend is an early sign of a push);
    ``port_outs`` = numbers ported to that competitor (recorded month).
    """
    e = ctx.table("call_edge")
    e = e.filter(e.month.between(ibis.literal(ctx.months[0]), ibis.literal(ctx.as_of)))
    s = ctx.table("subscription").select("subscriber_id", "grid_id")
    r = ctx.table("region").select("grid_id", "county_id")
    j = e.join(s, "subscriber_id").join(r, "grid_id")
    df = ctx.run(
        j.group_by(["county_id", "month", "peer_operator"]).agg(
            calls=j.calls.sum(), minutes=j.minutes.sum(), subscribers=j.subscriber_id.approx_nunique()
        )
    )
    df["month"] = df["month"].map(lambda d: format_month(pd.Timestamp(d).date()))
    tot = df.groupby(["county_id", "month"])["minutes"].transform("sum")
    df["minute_share"] = np.where(tot > 0, df["minutes"] / tot, np.nan)
    df = df[df["peer_operator"] != "own"].rename(columns={"peer_operator": "competitor_id"})
    ev = ctx.table("status_event")
    po = ev.filter((ev.event_type == "port_out") & ev.destination_operator.notnull())
    po = po.mutate(month=po.event_time.cast("date").truncate("M")).join(s, "subscriber_id").join(r, "grid_id")
    pdf = ctx.run(
        po.group_by(["county_id", "month", po.destination_operator.name("competitor_id")]).agg(
            port_outs=po.count()
        )
    )
    if len(pdf):
        pdf["month"] = pdf["month"].map(lambda d: format_month(pd.Timestamp(d).date()))
    df = df.merge(pdf, on=["county_id", "month", "competitor_id"], how="left").fillna({"port_outs": 0})
    df = df.sort_values(["competitor_id", "county_id", "month"])
    logs = np.log(df["minute_share"].where(df["minute_share"] > 0))
    df["share_change_3m"] = logs.groupby([df["competitor_id"], df["county_id"]]).diff(3)
    med = df.groupby(["competitor_id", "month"])["share_change_3m"].transform("median")
    df["excess_change_3m"] = df["share_change_3m"] - med
    df["county"] = df["county_id"].map(lambda c: label_of(ctx, "county_id", c))
    df["label"] = df["competitor_id"].map(lambda c: label_of(ctx, "competitor_id", c))
    return df.reset_index(drop=True)


def push_signals(traffic: pd.DataFrame, min_excess: float = 0.12) -> pd.DataFrame:
    """County × competitor cells whose minute share rose at least ``min_excess`` (log ratio, ≈12%)
    faster over three months than the competitor's median county."""
    f = traffic[traffic["excess_change_3m"] >= min_excess]
    if f.empty:
        return f
    g = f.groupby(["competitor_id", "label", "county_id", "county"], as_index=False).agg(
        first_month=("month", "min"),
        last_month=("month", "max"),
        peak_rise=("excess_change_3m", "max"),
        months=("month", "nunique"),
    )
    return g.sort_values("peak_rise", ascending=False).reset_index(drop=True)
