"""Churn counts and rates: totals by month and kind, breakdowns by segment, cohorts × tenure.

Every builder takes a :class:`~churnradar.reports.context.ReportContext` and returns a tidy
``pandas.DataFrame`` (one row per cell, codes in ``*_id``/code columns, display names in ``label``).
Rates carry Wilson 95% intervals; small cells are suppressed (``suppressed``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnradar.periods import format_month
from churnradar.reports._stats import add_rate, suppress_counts
from churnradar.reports.context import (
    ReportContext,
    month_index,
    month_indices,
    month_strings,
    tenure_band,
)
from churnradar.schema import enums as E

#: Segment dimensions a breakdown can use, with the enumeration (or name table) that labels them.
DIMENSIONS: dict[str, dict[str, tuple[str, str]] | None] = {
    "county_id": None,
    "grid_id": None,
    "package_id": None,
    "brand": E.BRAND,
    "payment_type": E.PAYMENT_TYPE,
    "customer_group": E.CUSTOMER_GROUP,
    "channel_id": None,
    "channel_type": E.CHANNEL_TYPE,
}

T_PLUS_N = (0, 1, 2, 3, 6, 12)


def label_of(ctx: ReportContext, dim: str, code: object) -> str:
    """Display name of a dimension code in the context's language."""
    labels = DIMENSIONS.get(dim)
    if labels is not None:
        return ctx.label(labels, code)
    if dim == "reason_code":
        return ctx.label(E.REASON_CODE, code)
    if dim == "kind":
        return ctx.label(E.CHURN_KIND, code)
    return ctx.names.get(dim, {}).get(str(code), str(code))


def _provisional(ctx: ReportContext, df: pd.DataFrame) -> pd.DataFrame:
    prov = {format_month(m): ctx.is_provisional(m) for m in ctx.months}
    df["provisional"] = df["month"].map(prov).fillna(False).astype(bool)
    return df


def churn_rate(ctx: ReportContext, dims: list[str] | None = None) -> pd.DataFrame:
    """Off-net churn by ``dims`` and month: base (上月末在网数), churners, lost monthly revenue, rate + CI."""
    dims = list(dims or [])
    df = ctx.rates(dims)
    months = {format_month(m) for m in ctx.months}
    df = df[df["month"].isin(months)]
    df = add_rate(df, "churners", "base", min_count=ctx.min_count)
    df.loc[df["suppressed"], "revenue"] = np.nan
    if dims:
        df["label"] = df[dims[-1]].map(lambda c: label_of(ctx, dims[-1], c))
    df = _provisional(ctx, df)
    return df.sort_values([*dims, "month"]).reset_index(drop=True)


def churn_totals(ctx: ReportContext) -> pd.DataFrame:
    """Churn of every kind by month: lines (subscribers), accounts (distinct customers) and revenue.

    ``revenue`` is the affected lines' mean monthly billed revenue over the three months before the
    event (yuan per month). Re-selection kinds are listed but are not losses.
    """
    ev = ctx.kind_events()
    df = ctx.run(
        ev.group_by(["event_month", "kind"]).agg(
            lines=ev.count(), accounts=ev.customer_id.nunique(), revenue=ev.revenue_3m.sum()
        )
    )
    df["month"] = month_strings(df.pop("event_month"))
    full = pd.MultiIndex.from_product(
        [[format_month(m) for m in ctx.months], list(E.CHURN_KIND)], names=["month", "kind"]
    ).to_frame(index=False)
    df = full.merge(df, on=["month", "kind"], how="left").fillna({"lines": 0, "accounts": 0, "revenue": 0.0})
    df["is_loss"] = ~df["kind"].isin(E.RESELECTION_KINDS)
    df["label"] = df["kind"].map(lambda k: label_of(ctx, "kind", k))
    df = suppress_counts(df, ["lines", "accounts"], ctx.min_count)
    df.loc[df["suppressed"], "revenue"] = np.nan
    return _provisional(ctx, df).sort_values(["month", "kind"]).reset_index(drop=True)


def churn_by_reason(ctx: ReportContext) -> pd.DataFrame:
    """Off-net churners by reason code and month, with the reason's share of the month's churn."""
    ch = ctx.churn()
    import ibis

    ch = ch.filter(ch.churn_month.between(ibis.literal(ctx.start), ibis.literal(ctx.as_of)))
    df = ctx.run(
        ch.group_by(["churn_month", "reason_code"]).agg(churners=ch.count(), revenue=ch.revenue_3m.sum())
    )
    df["month"] = month_strings(df.pop("churn_month"))
    tot = df.groupby("month")["churners"].transform("sum")
    df = add_rate(df.assign(total=tot), "churners", "total", prefix="share", min_count=ctx.min_count)
    df["label"] = df["reason_code"].map(lambda c: label_of(ctx, "reason_code", c))
    return _provisional(ctx, df).sort_values(["month", "reason_code"]).reset_index(drop=True)


def cohort_tenure(ctx: ReportContext, dims: list[str] | None = None) -> pd.DataFrame:
    """Churn rate by acquisition cohort (activation month) × tenure month, for cohorts in the window."""
    dims = list(dims or [])
    df = ctx.rates(dims, by_cohort=True)
    first = format_month(ctx.first_data_month) if ctx.first_data_month else ""
    df = df[df["cohort"] >= first]
    df["tenure"] = (month_indices(df["month"]) - month_indices(df["cohort"])).astype(int)
    df = add_rate(df, "churners", "base", min_count=ctx.min_count)
    df["tenure_band"] = tenure_band(df["tenure"])
    return _provisional(ctx, df).sort_values([*dims, "cohort", "tenure"]).reset_index(drop=True)


def t_plus_n(ctx: ReportContext, dim: str = "channel_id") -> pd.DataFrame:
    """T+n 拆机率: share of lines acquired in a month that are closed (recorded) n months later.

    For n in ``T_PLUS_N``: lines activated in cohort c with a recorded deregistration or port-out by
    the end of month c+n, over all lines activated in c; pooled over every cohort in the window
    with c+n ≤ as-of, by ``dim`` (channel or package) — the 入网质量 view of channels and packages.
    """
    ln = ctx.lines()
    df = ctx.run(ln.group_by([dim, "cohort", "close_month"]).agg(n=ln.count()))
    df["ci"] = month_indices(df["cohort"])
    df["cl"] = month_indices(df["close_month"])
    lo = month_index(ctx.first_data_month)
    hi = month_index(ctx.as_of)
    df = df[df["ci"] >= lo]
    rows = []
    for n in T_PLUS_N:
        part = df[df["ci"] + n <= hi]
        if part.empty:
            continue
        closed = part["n"].where(part["cl"] <= part["ci"] + n, 0)
        g = part.assign(closed=closed).groupby(dim, as_index=False)[["n", "closed"]].sum()
        g["n_months"] = n
        rows.append(g)
    if not rows:
        return pd.DataFrame(
            columns=[dim, "n_months", "acquired", "closed", "rate", "rate_lo", "rate_hi", "suppressed"]
        )
    out = pd.concat(rows, ignore_index=True).rename(columns={"n": "acquired"})
    out = add_rate(out, "closed", "acquired", min_count=ctx.min_count)
    out["label"] = out[dim].map(lambda c: label_of(ctx, dim, c))
    return out.sort_values([dim, "n_months"]).reset_index(drop=True)


def month_labels(ctx: ReportContext) -> list[str]:
    return [format_month(m) for m in ctx.months]
