"""Revenue views: stock revenue churn (收保率 / 客保率), package-customer revenue churn month over
month, and the product matrix (share of stock revenue × stock retention)."""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pandas as pd

from churnradar.periods import format_month
from churnradar.reports._stats import add_rate
from churnradar.reports.churn import label_of
from churnradar.reports.context import ReportContext


def snapshot_month(ctx: ReportContext, month: date) -> date:
    """The snapshot (拍照) month for ``month``: December of the previous year, or the first month of
    data when that December is not in the store (documented project convention)."""
    dec = date(month.year - 1, 12, 1)
    assert ctx.first_data_month is not None
    return dec if dec >= ctx.first_data_month else ctx.first_data_month


def _snapshot_cells(ctx: ReportContext, snap: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The snapshot lines of ``snap`` by snapshot package × customer group: their revenue and billed
    lines in every later month up to the as-of month, and their count and revenue in ``snap``.
    Read once per snapshot and run; every breakdown is summed from these cells."""

    def make() -> tuple[pd.DataFrame, pd.DataFrame]:
        b = ctx.table("billing_monthly")
        base = b.filter((b.month == ibis.literal(snap)) & (b.revenue > 0)).select(
            "subscriber_id", snap_package=b.package_id, rev0=b.revenue
        )
        ln = ctx.lines().select("subscriber_id", "customer_group")
        base = base.left_join(ln, "subscriber_id").select(
            "subscriber_id", "snap_package", "rev0", "customer_group"
        )
        later = b.filter((b.month > ibis.literal(snap)) & (b.month <= ibis.literal(ctx.as_of)))
        j = later.join(base, "subscriber_id")
        cells = ctx.run(
            j.group_by(["month", "snap_package", "customer_group"]).agg(
                revenue=j.revenue.sum(), billed=(j.revenue > 0).sum().cast("int64")
            )
        )
        base0 = ctx.run(
            base.group_by(["snap_package", "customer_group"]).agg(
                lines0=base.count(), revenue0=base.rev0.sum()
            )
        )
        return cells, base0

    return ctx._cached(f"revenue_snapshot:{snap.isoformat()}", make)


def _snapshot_series(ctx: ReportContext, snap: date, by: str | None = None) -> pd.DataFrame:
    cells, base0 = _snapshot_cells(ctx, snap)
    key = {"package_id": "snap_package", "customer_group": "customer_group", None: None}[by]
    if key == "customer_group":  # lines without a customer group are not in any group
        cells = cells[cells[key].notna()]
        base0 = base0[base0[key].notna()]
    groups = ["month"] + ([key] if key else [])
    df = cells.groupby(groups, as_index=False, dropna=False)[["revenue", "billed"]].sum()
    if key:
        b0 = base0.groupby(key, as_index=False)[["lines0", "revenue0"]].sum()
        df = df.merge(b0, on=key, how="right")
        df = df.rename(columns={key: by})
    else:
        df = df.assign(lines0=int(base0["lines0"].sum()), revenue0=float(base0["revenue0"].sum()))
    df["snapshot"] = format_month(snap)
    df["month"] = df["month"].map(lambda d: format_month(pd.Timestamp(d).date()) if not pd.isna(d) else None)
    return df.dropna(subset=["month"])


def stock_revenue_churn(ctx: ReportContext, by: str | None = None) -> pd.DataFrame:
    """收保率, 客保率 and 存量收入流失率 by month (optionally by ``package_id`` or ``customer_group``).

    For month m with snapshot s (December of the previous year):
    客保率 = snapshot lines billed (revenue > 0) in m / snapshot lines;
    收保率 = (revenue of the snapshot lines from the month after s to m ÷ those months) / their
    revenue in s (the annualised form ÷ months × 12 over × 12); 存量收入流失率 = 1 − 收保率.
    """
    snaps = sorted({snapshot_month(ctx, m) for m in ctx.months})
    parts = [_snapshot_series(ctx, s, by) for s in snaps]
    df = pd.concat(parts, ignore_index=True)
    months = {format_month(m): format_month(snapshot_month(ctx, m)) for m in ctx.months}
    df = df[df["month"].map(months) == df["snapshot"]].copy()
    keys = ["snapshot"] + ([by] if by else [])
    df = df.sort_values([*keys, "month"])
    df["ytd_revenue"] = df.groupby(keys)["revenue"].cumsum()
    df["ytd_months"] = df.groupby(keys).cumcount() + 1
    df["revenue_retention"] = (df["ytd_revenue"] / df["ytd_months"]) / df["revenue0"]
    df["stock_revenue_churn_rate"] = 1 - df["revenue_retention"]
    df = add_rate(df, "billed", "lines0", prefix="customer_retention", min_count=ctx.min_count)
    if by:
        df["label"] = df[by].map(lambda c: label_of(ctx, by, c))
    return df.reset_index(drop=True)


def package_revenue_churn(ctx: ReportContext) -> pd.DataFrame:
    """Package-customer revenue churn rate = (this month's revenue − last month's) / last month's.

    The customers of a package are the lines billed on it last month; this month's revenue is
    theirs whatever package they are on now (zero when gone). ``change_mom`` is the difference of
    the rate from the previous month's (month over month).
    """
    b = ctx.table("billing_monthly").select("subscriber_id", "month", "package_id", "revenue")
    lo = ibis.literal(ctx.months[0])
    prev = b.filter(
        (b.month >= (lo - ibis.interval(months=1)).cast("date")) & (b.month < ibis.literal(ctx.as_of))
    )
    cur = b.select("subscriber_id", cur_month=b.month, cur_revenue=b.revenue)
    nxt = (prev.month + ibis.interval(months=1)).cast("date")
    j = prev.mutate(next_month=nxt).left_join(
        cur, (prev.subscriber_id == cur.subscriber_id) & (nxt == cur.cur_month)
    )
    df = ctx.run(
        j.group_by(["package_id", "next_month"]).agg(
            customers=j.count(), revenue_last=j.revenue.sum(), revenue_this=j.cur_revenue.sum()
        )
    )
    df["month"] = df.pop("next_month").map(lambda d: format_month(pd.Timestamp(d).date()))
    df = df[df["month"].isin({format_month(m) for m in ctx.months})]
    df["revenue_this"] = df["revenue_this"].fillna(0.0)
    df["revenue_churn_rate"] = np.where(
        df["revenue_last"] > 0, (df["revenue_this"] - df["revenue_last"]) / df["revenue_last"], np.nan
    )
    df = df.sort_values(["package_id", "month"])
    df["change_mom"] = df.groupby("package_id")["revenue_churn_rate"].diff()
    small = df["customers"] < ctx.min_count
    df.loc[small, ["revenue_churn_rate", "change_mom"]] = np.nan
    df["suppressed"] = small
    df["label"] = df["package_id"].map(lambda c: label_of(ctx, "package_id", c))
    return df.reset_index(drop=True)


def product_matrix(ctx: ReportContext) -> pd.DataFrame:
    """Each package's share of stock revenue × its stock retention rate at the as-of month.

    Stock = the snapshot lines of the as-of month's year (billed in the snapshot month, by their
    snapshot package). ``quadrant``: protect (high share, low retention), core (high, high),
    fix or drop (low, low), grow (low, high); thresholds are the mean share and overall retention.
    """
    df = stock_revenue_churn(ctx, by="package_id")
    df = df[df["month"] == format_month(ctx.as_of)].copy()
    if df.empty:
        return df
    df["revenue_share"] = df["revenue0"] / df["revenue0"].sum()
    overall = df["billed"].sum() / df["lines0"].sum()
    share_mid = 1 / len(df)
    hi_share = df["revenue_share"] >= share_mid
    hi_ret = df["customer_retention"].fillna(0) >= overall
    df["quadrant"] = np.select(
        [hi_share & ~hi_ret, hi_share & hi_ret, ~hi_share & hi_ret], ["protect", "core", "grow"], "fix"
    )
    df["retention_threshold"] = overall
    df["share_threshold"] = share_mid
    cols = [
        "package_id",
        "label",
        "snapshot",
        "month",
        "lines0",
        "revenue0",
        "revenue_share",
        "billed",
        "customer_retention",
        "customer_retention_lo",
        "customer_retention_hi",
        "revenue_retention",
        "quadrant",
        "share_threshold",
        "retention_threshold",
    ]
    return df[cols].sort_values("revenue_share", ascending=False).reset_index(drop=True)
