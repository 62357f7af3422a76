"""Revenue views: stock revenue churn (收保率 / 客保率), package-customer revenue churn month over
month, and the product matrix (share of stock revenue × stock retention)."""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pandas as pd

from churnradar.periods import add_months, format_month, months_between, parse_month
from churnradar.reports._stats import add_rate
from churnradar.reports.churn import label_of
from churnradar.reports.context import ReportContext
from churnradar.reports.kpi import report_metrics


def snapshot_month(ctx: ReportContext, month: date) -> date:
    """The snapshot (拍照) month for ``month``: the metrics layer's
    (:func:`churnradar.metrics.compute.snapshot_month`), December of the previous year or the first
    month of data when that December is not in the store."""
    from churnradar.metrics.compute import snapshot_month as metrics_snapshot_month

    assert ctx.first_data_month is not None
    return metrics_snapshot_month(month, ctx.first_data_month)


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


def _snapshot_series(
    ctx: ReportContext, snap: date, months: list[date], by: str | None = None
) -> pd.DataFrame:
    """One row per group of ``by`` (one row without) and month of ``months`` (all after ``snap``):
    the snapshot lines' revenue and billed lines in the month, and their revenue summed over every
    month from the one after ``snap`` to the month (``ytd_revenue``, ``ytd_months``) — whatever the
    report's window, so 收保率 of a month is the same in every report that shows it."""
    cells, base0 = _snapshot_cells(ctx, snap)
    key = {"package_id": "snap_package", "customer_group": "customer_group", None: None}[by]
    if key == "customer_group":  # lines without a customer group are not in any group
        cells = cells[cells[key].notna()]
        base0 = base0[base0[key].notna()]
    cells = cells.assign(month=[format_month(pd.Timestamp(d).date()) for d in cells["month"]])
    if key:
        b0 = base0.groupby(key, as_index=False, dropna=False)[["lines0", "revenue0"]].sum()
    else:
        b0 = pd.DataFrame(
            {"lines0": [int(base0["lines0"].sum())], "revenue0": [float(base0["revenue0"].sum())]}
        )
    groups = [key] if key else []
    every = [format_month(add_months(snap, i)) for i in range(1, months_between(snap, ctx.as_of) + 1)]
    grid = b0.merge(pd.DataFrame({"month": every}), how="cross")
    per_month = cells.groupby(["month", *groups], as_index=False, dropna=False)[["revenue", "billed"]].sum()
    df = grid.merge(per_month, on=["month", *groups], how="left")
    df[["revenue", "billed"]] = df[["revenue", "billed"]].fillna(0)
    df = df.sort_values([*groups, "month"])
    df["ytd_revenue"] = df.groupby(groups)["revenue"].cumsum() if groups else df["revenue"].cumsum()
    df["ytd_months"] = [months_between(snap, parse_month(m)) for m in df["month"]]
    df = df[df["month"].isin({format_month(m) for m in months})]
    if key:
        df = df.rename(columns={key: by})
    df["snapshot"] = format_month(snap)
    return df


#: The figures of the stock section that are the metrics layer's (``churnradar metrics``), by id.
STOCK_METRICS = (
    "snapshot_lines",
    "retained_lines",
    "customer_retention",
    "revenue_retention",
    "stock_revenue_churn_rate",
)


def stock_revenue_churn(ctx: ReportContext, by: str | None = None) -> pd.DataFrame:
    """收保率, 客保率 and 存量收入流失率 by month (optionally by ``package_id`` or ``customer_group``).

    The definitions are the metrics layer's (:mod:`churnradar.metrics.catalogue`): for month m with
    snapshot s (December of the previous year), 客保率 = snapshot lines billed (revenue > 0) in m /
    snapshot lines; 收保率 = (revenue of the snapshot lines from the month after s to m ÷ those
    months) / their revenue in s; 存量收入流失率 = 1 − 收保率. Without ``by`` the three rates are the
    metrics layer's own values for the month and the report's scope; by package or group they are
    the same formulas over the group's snapshot lines. Months of the window that are their own
    snapshot month have no value and no row.
    """
    snaps: dict[date, list[date]] = {}
    for m in ctx.months:
        s = snapshot_month(ctx, m)
        if m > s:
            snaps.setdefault(s, []).append(m)
    cols = ["snapshot", "month", *([by] if by else []), "lines0", "revenue0", "revenue", "billed"]
    parts = [_snapshot_series(ctx, s, ms, by) for s, ms in sorted(snaps.items())]
    df = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=[*cols, "ytd_revenue", "ytd_months"])
    )
    df = df.sort_values(["snapshot", *([by] if by else []), "month"]).reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        df["revenue_retention"] = (df["ytd_revenue"] / df["ytd_months"]) / df["revenue0"].where(
            df["revenue0"] > 0
        )
    df["stock_revenue_churn_rate"] = 1 - df["revenue_retention"]
    df = add_rate(df, "billed", "lines0", prefix="customer_retention", min_count=ctx.min_count)
    if by:
        df["label"] = df[by].map(lambda c: label_of(ctx, by, c))
    else:
        mm = report_metrics(ctx)
        for mid in ("revenue_retention", "stock_revenue_churn_rate"):
            df[mid] = df["month"].map(mm[mid]).astype(float)
        shown = df["customer_retention"].notna()
        df.loc[shown, "customer_retention"] = (
            df.loc[shown, "month"].map(mm["customer_retention"]).astype(float)
        )
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
