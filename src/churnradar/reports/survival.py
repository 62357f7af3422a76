"""Kaplan–Meier retention curves by segment, with log-rank tests (lifelines).

Lines acquired from the first month of data on (so there is no left truncation) are followed from
activation to off-net churn (event) or to the last complete month (censored); lines closed by
in-network re-selection are censored at their closure. Time is in whole months of tenure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnradar.reports.churn import label_of
from churnradar.reports.context import ReportContext, month_index, month_indices

SEGMENTS = ("package_group", "channel_type", "customer_group", "payment_type")


def survival_frame(ctx: ReportContext) -> pd.DataFrame:
    """One row per line acquired in the data window: segments, duration (months) and event flag."""
    return ctx._cached("survival_frame", lambda: _survival_frame(ctx))


def _survival_frame(ctx: ReportContext) -> pd.DataFrame:
    import ibis

    ln = ctx.lines()
    ch = ctx.churn().select("subscriber_id", "churn_month")
    pk = ctx.table("package").select("package_id", "is_promotion")
    j = (
        ln.filter(ln.cohort >= ibis.literal(ctx.first_data_month))
        .left_join(ch, "subscriber_id")
        .join(pk, "package_id")
    )
    df = ctx.run(
        j.select(
            "cohort",
            "close_month",
            "churn_month",
            "channel_type",
            "customer_group",
            "payment_type",
            "is_promotion",
        )
    )
    end = month_index(ctx.complete_through)
    c = month_indices(df["cohort"])
    churn = month_indices(df["churn_month"])
    close = month_indices(df["close_month"])
    event = np.isfinite(churn) & (churn <= end)
    stop = np.where(event, churn, np.fmin(np.where(np.isfinite(close), close, end), end))
    df["duration"] = np.maximum(stop - c, 0).astype(int)
    df["event"] = event
    df["package_group"] = np.where(
        df["is_promotion"].fillna(False),
        "promotion",
        np.where(df["payment_type"] == "prepaid", "prepaid", "postpaid"),
    )
    return df[df["duration"] >= 0].reset_index(drop=True)


def retention_curves(
    ctx: ReportContext, segment: str = "package_group", max_months: int = 24
) -> pd.DataFrame:
    """Kaplan–Meier retention S(t) with 95% intervals per segment value, t = 0..max_months."""
    from lifelines import KaplanMeierFitter

    df = survival_frame(ctx)
    rows = []
    grid = np.arange(0, max_months + 1)
    for value, g in df.groupby(segment):
        if len(g) < ctx.min_count:
            continue
        km = KaplanMeierFitter().fit(g["duration"], g["event"])
        s = km.survival_function_at_times(grid).to_numpy()
        ci = km.confidence_interval_survival_function_
        lo = np.interp(grid, ci.index.to_numpy(dtype=float), ci.iloc[:, 0].to_numpy(), right=np.nan)
        hi = np.interp(grid, ci.index.to_numpy(dtype=float), ci.iloc[:, 1].to_numpy(), right=np.nan)
        d = np.sort(g["duration"].to_numpy())
        at_risk = len(d) - np.searchsorted(d, grid, side="left")
        for t, sv, lv, hv, n in zip(grid, s, lo, hi, at_risk, strict=False):
            rows.append(
                {
                    "segment": segment,
                    "value": value,
                    "label": _label(ctx, segment, value),
                    "tenure_month": int(t),
                    "retention": float(sv) if n >= ctx.min_count else np.nan,
                    "retention_lo": float(lv) if n >= ctx.min_count else np.nan,
                    "retention_hi": float(hv) if n >= ctx.min_count else np.nan,
                    "at_risk": int(n),
                    "lines": len(g),
                }
            )
    return pd.DataFrame(rows)


def logrank(ctx: ReportContext, segments=SEGMENTS) -> pd.DataFrame:
    """Multivariate log-rank test of equal retention across the values of each segment."""
    from lifelines.statistics import multivariate_logrank_test

    df = survival_frame(ctx)
    rows = []
    for seg in segments:
        g = df.groupby(seg)[seg].transform("size") >= ctx.min_count
        d = df[g]
        if d[seg].nunique() < 2:
            continue
        res = multivariate_logrank_test(d["duration"], d[seg], d["event"])
        rows.append(
            {
                "segment": seg,
                "groups": int(d[seg].nunique()),
                "lines": len(d),
                "events": int(d["event"].sum()),
                "chi2": float(res.test_statistic),
                "dof": int(res.degrees_of_freedom),
                "p_value": float(res.p_value),
            }
        )
    return pd.DataFrame(rows)


def _label(ctx: ReportContext, segment: str, value: object) -> str:
    if segment == "package_group":
        from churnradar.i18n import t

        return t(f"seg.{value}", ctx.lang)
    return label_of(ctx, segment, value)
