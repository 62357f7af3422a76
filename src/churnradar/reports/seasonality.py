"""Seasonality and anomaly view: each month's churn against its seasonal baseline, abnormal cells
and the drill-down that explains them.

Two baselines, both on off-net churn rates (churn / 上月末在网数) of complete months only:

- **Seasonal baseline** (own history): the cell's *level* is the median rate of its previous up to
  12 complete months outside Spring Festival; in a Spring-Festival month (the month of Chinese New
  Year and the month after — lunar, so not the same calendar month every year) the level is
  multiplied by the cell's own Spring-Festival factor measured in earlier Spring Festivals, when
  there were any. Expected = base × baseline rate.
- **Peer baseline** (structure): the rate of the other cells of the same dimension in the same
  month (and the same tenure band when the cell has one). It exposes a segment that churns far
  more than its peers from the month it appeared, which its own history cannot (e.g. a new package).

A cell-month is flagged when its churn exceeds a baseline by at least ``MIN_EXCESS`` churners with
a Poisson z-score above the threshold and a ratio above the minimum. A month whose total exceeds its
level but not its seasonal baseline is *seasonal*; one that exceeds its seasonal baseline is
*abnormal*.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from churnradar import periods
from churnradar.periods import add_months, format_month, months_between, parse_month
from churnradar.reports._stats import poisson_z
from churnradar.reports.churn import label_of
from churnradar.reports.context import ReportContext, month_indices, tenure_band

MIN_EXCESS = 10
Z_TEMPORAL = 3.0
RATIO_TEMPORAL = 1.25
Z_PEER = 4.0
RATIO_PEER = 1.5
MIN_HISTORY = 3

#: Dimensions (and tenure) searched for abnormal cells, most specific explanations last.
ANOMALY_DIMENSIONS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("county_id",), False),
    (("customer_group",), False),
    (("channel_type",), False),
    (("channel_id",), False),
    (("package_id",), False),
    ((), True),
    (("package_id",), True),
    (("channel_type",), True),
    (("county_id", "customer_group"), False),
)


def spring_festival_months(first: date, last: date) -> set[str]:
    """``YYYY-MM`` of every Spring-Festival month (CNY month and the month after,
    :func:`churnradar.periods.spring_festival_months`) between two months."""
    return {format_month(m) for m in periods.spring_festival_months() if first <= m <= last}


def cells(ctx: ReportContext, dims: tuple[str, ...] | list[str], tenure: bool = False) -> pd.DataFrame:
    """Unsuppressed churners and base by ``dims`` (+ ``tenure_band``) and month (analysis input)."""
    dims = list(dims)
    if tenure:
        df = ctx.rates(dims, by_cohort=True)
        df["tenure"] = (month_indices(df["month"]) - month_indices(df["cohort"])).astype(int)
        df["tenure_band"] = tenure_band(df["tenure"])
        dims = [*dims, "tenure_band"]
        df = df.groupby([*dims, "month"], as_index=False)[["base", "churners", "revenue"]].sum()
    else:
        df = ctx.rates(dims)
    months = {format_month(m) for m in ctx.months}
    return df[df["month"].isin(months)].reset_index(drop=True)


def _temporal(series: pd.DataFrame, sf: set[str], complete: set[str]) -> pd.DataFrame:
    """Seasonal baseline of one cell's monthly series.

    Level: median rate of the previous up to 12 complete months outside Spring Festival. Spring-
    Festival factor for a festival month m: mean over the earlier festival seasons (all their months
    before m) of the season's rate ÷ the rate of complete non-festival months within six months of
    it that are also before m (so only data known at m is used).
    """
    s = series.sort_values("month").reset_index(drop=True)
    months = list(s["month"])
    k = s["churners"].to_numpy(dtype=float)
    n = s["base"].to_numpy(dtype=float)
    rate = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    idx = {m: i for i, m in enumerate(months)}
    mi = month_indices(pd.Series(months))
    # festival seasons present in the series: runs of consecutive festival months
    seasons: list[list[int]] = []
    for i, m in enumerate(months):
        if m in sf and m in complete:
            if seasons and mi[seasons[-1][-1]] == mi[i] - 1:
                seasons[-1].append(i)
            else:
                seasons.append([i])
    level = np.full(len(s), np.nan)
    factor = np.ones(len(s))
    hist = np.zeros(len(s), dtype=int)
    for i, m in enumerate(months):
        prev = [
            j for j in range(max(0, i - 12), i) if months[j] in complete and months[j] not in sf and n[j] > 0
        ]
        hist[i] = len(prev)
        if len(prev) >= MIN_HISTORY:
            level[i] = float(np.median(rate[prev]))
        if m in sf:
            ratios = []
            for season in seasons:
                if season[-1] >= i or mi[i] - mi[season[0]] < 6:
                    continue  # the current season, or not yet over
                ref = [
                    j
                    for j in range(len(months))
                    if j < i
                    and months[j] in complete
                    and months[j] not in sf
                    and n[j] > 0
                    and abs(mi[j] - mi[season[0]]) <= 6
                ]
                if len(ref) >= MIN_HISTORY and n[season].sum() > 0:
                    rr = k[ref].sum() / n[ref].sum()
                    if rr > 0:
                        ratios.append((k[season].sum() / n[season].sum()) / rr)
            if ratios:
                factor[i] = float(np.mean(ratios))
    del idx
    s["level_rate"] = level
    s["sf_factor"] = factor
    s["history_months"] = hist
    s["baseline_rate"] = level * np.where(s["month"].isin(sf), factor, 1.0)
    return s


def score_cells(ctx: ReportContext, dims: tuple[str, ...] | list[str], tenure: bool = False) -> pd.DataFrame:
    """Every cell-month of ``dims`` (+ tenure band) with both baselines, excesses, z-scores and flags."""
    df = cells(ctx, dims, tenure)
    keys = [*dims] + (["tenure_band"] if tenure else [])
    sf = spring_festival_months(ctx.months[0], ctx.months[-1])
    complete = {format_month(m) for m in ctx.months if not ctx.is_provisional(m)}
    df = df[df["month"].isin(complete)]
    if df.empty:
        return df.assign(flag=False)
    parts = (
        [_temporal(g, sf, complete) for _, g in df.groupby(keys, dropna=False)]
        if keys
        else [_temporal(df, sf, complete)]
    )
    df = pd.concat(parts, ignore_index=True)
    # peer baseline: the other cells of the same dimension in the same month (and tenure band)
    peer_keys = ["month"] + (["tenure_band"] if tenure else [])
    if dims:
        tot = df.groupby(peer_keys)[["churners", "base"]].transform("sum")
        pb = tot["base"] - df["base"]
        df["peer_rate"] = np.where(pb > 0, (tot["churners"] - df["churners"]) / pb.where(pb > 0, 1), np.nan)
        df = _relative_risk_baseline(df, keys, sf, ctx)
    else:
        df["peer_rate"] = np.nan
        df["rr_base"] = np.nan
        df["new_cell"] = False
    df["expected"] = df["base"] * df["baseline_rate"]
    df["expected_peer"] = df["base"] * df["peer_rate"] * df["rr_base"]
    df["expected_level"] = df["base"] * df["level_rate"]
    df["z"] = np.where(df["expected"].notna(), poisson_z(df["churners"], df["expected"].fillna(0)), np.nan)
    df["z_peer"] = np.where(
        df["expected_peer"].notna(), poisson_z(df["churners"], df["expected_peer"].fillna(0)), np.nan
    )
    df["z_level"] = np.where(
        df["expected_level"].notna(), poisson_z(df["churners"], df["expected_level"].fillna(0)), np.nan
    )
    df["excess"] = df["churners"] - df["expected"]
    df["excess_peer"] = df["churners"] - df["expected_peer"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["ratio"] = df["churners"] / df["expected"]
        df["ratio_peer"] = df["churners"] / df["expected_peer"]
    temporal = (df["z"] > Z_TEMPORAL) & (df["ratio"] > RATIO_TEMPORAL) & (df["excess"] >= MIN_EXCESS)
    peer = (df["z_peer"] > Z_PEER) & (df["ratio_peer"] > RATIO_PEER) & (df["excess_peer"] >= MIN_EXCESS)
    seasonal = (
        df["month"].isin(sf)
        & ~temporal
        & (df["z_level"] > Z_TEMPORAL)
        & (df["churners"] - df["expected_level"] >= MIN_EXCESS)
    )
    df["flag_temporal"] = temporal.fillna(False)
    df["flag_peer"] = peer.fillna(False)
    df["seasonal"] = seasonal.fillna(False)
    df["flag"] = df["flag_temporal"] | df["flag_peer"]
    df["spring_festival"] = df["month"].isin(sf)
    df["dimension"] = "×".join([*dims] + (["tenure_band"] if tenure else [])) or "total"
    df["cell"] = df.apply(lambda r: " × ".join(str(r[k]) for k in keys) if keys else "total", axis=1)
    df["label"] = df.apply(
        lambda r: (
            " × ".join((label_of(ctx, k, r[k]) if k != "tenure_band" else f"{r[k]}") for k in keys)
            if keys
            else "total"
        ),
        axis=1,
    )
    return df.sort_values([*keys, "month"]).reset_index(drop=True)


def _relative_risk_baseline(
    df: pd.DataFrame, keys: list[str], sf: set[str], ctx: ReportContext
) -> pd.DataFrame:
    """Peer baseline multiplier per cell-month.

    A *new* cell (no base in the first month of the window: a package, channel or tenure band that
    appeared later) is expected to churn like its peers (multiplier 1) for as long as it exists. An
    established cell keeps its usual relative risk: the median of rate ÷ peer rate over its previous
    up to 12 complete months outside Spring Festival (no peer test before it has ``MIN_HISTORY``).
    """
    first = format_month(ctx.months[0])
    df = df.sort_values([*keys, "month"]).reset_index(drop=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = (df["churners"] / df["base"]) / df["peer_rate"]
    df["_rr"] = rr.where((df["base"] >= ctx.min_count) & ~df["month"].isin(sf) & (df["peer_rate"] > 0))
    out_rr = np.full(len(df), np.nan)
    new = np.zeros(len(df), dtype=bool)
    for _, idx in df.groupby(keys, dropna=False).indices.items():
        idx = np.sort(idx)
        months = df["month"].to_numpy()[idx]
        started = months[0] > first or df["base"].to_numpy()[idx][0] < ctx.min_count
        vals = df["_rr"].to_numpy()[idx]
        for j, i in enumerate(idx):
            if started:
                out_rr[i], new[i] = 1.0, True
                continue
            prev = vals[max(0, j - 12) : j]
            prev = prev[np.isfinite(prev)]
            if len(prev) >= MIN_HISTORY:
                out_rr[i] = float(np.median(prev))
    df["rr_base"] = out_rr
    df["new_cell"] = new
    return df.drop(columns=["_rr"])


def monthly_status(ctx: ReportContext) -> pd.DataFrame:
    """The whole base per month: churn, level, seasonal baseline and status (normal / seasonal / abnormal)."""
    df = score_cells(ctx, [])
    if df.empty:
        return df
    status = np.where(df["history_months"] < MIN_HISTORY, "insufficient_history", "normal")
    status = np.where(df["seasonal"], "seasonal", status)
    status = np.where(df["flag_temporal"], "abnormal", status)
    df["status"] = status
    with np.errstate(divide="ignore", invalid="ignore"):
        df["rate"] = df["churners"] / df["base"]
    return df[
        [
            "month",
            "base",
            "churners",
            "rate",
            "level_rate",
            "baseline_rate",
            "expected",
            "excess",
            "z",
            "spring_festival",
            "sf_factor",
            "status",
        ]
    ]


def anomalies(ctx: ReportContext, dims_list=ANOMALY_DIMENSIONS) -> pd.DataFrame:
    """Flagged cell-months over every dimension of ``dims_list``, with onset month and explained excess."""
    parts = []
    for dims, tenure in dims_list:
        sc = score_cells(ctx, dims, tenure)
        if sc.empty or (not dims and not tenure):
            continue
        f = sc[sc["flag"]].copy()
        if f.empty:
            continue
        onset = f.groupby("cell")["month"].min()
        f["onset"] = f["cell"].map(onset)
        f["months_flagged"] = f["cell"].map(f.groupby("cell")["month"].nunique())
        parts.append(f)
    if not parts:
        return pd.DataFrame(
            columns=[
                "month",
                "dimension",
                "cell",
                "label",
                "churners",
                "expected",
                "excess",
                "excess_peer",
                "flag_temporal",
                "flag_peer",
                "onset",
            ]
        )
    out = pd.concat(parts, ignore_index=True)
    out["best_excess"] = np.fmax(
        out["excess"].where(out["flag_temporal"]), out["excess_peer"].where(out["flag_peer"])
    )
    return out.sort_values(["month", "best_excess"], ascending=[True, False]).reset_index(drop=True)


def spring_festival_factors(ctx: ReportContext, dim: str = "county_id") -> pd.DataFrame:
    """Spring-Festival uplift per ``dim`` and season: rate in the two festival months ÷ the rate of the
    complete non-festival months within six months either side (descriptive, uses both sides)."""
    df = cells(ctx, [dim])
    sf = spring_festival_months(ctx.months[0], ctx.months[-1])
    complete = [format_month(m) for m in ctx.months if not ctx.is_provisional(m)]
    df = df[df["month"].isin(complete)]
    seasons: dict[str, list[str]] = {}
    for m in sorted(sf):
        if m not in complete:
            continue
        d = parse_month(m)
        year = str(d.year if d.month <= 4 else d.year + 1)
        seasons.setdefault(year, []).append(m)
    rows = []
    for year, ms in seasons.items():
        first = parse_month(min(ms))
        window = {format_month(add_months(first, k)) for k in range(-6, 8)} - sf
        for code, g in df.groupby(dim):
            fest = g[g["month"].isin(ms)]
            ref = g[g["month"].isin(window)]
            if fest["base"].sum() == 0 or ref["base"].sum() == 0:
                continue
            fr = fest["churners"].sum() / fest["base"].sum()
            rr = ref["churners"].sum() / ref["base"].sum()
            z = poisson_z(np.array([fest["churners"].sum()]), np.array([fest["base"].sum() * rr]))[0]
            rows.append(
                {
                    dim: code,
                    "label": label_of(ctx, dim, code),
                    "season": year,
                    "festival_months": "/".join(sorted(ms)),
                    "festival_rate": fr,
                    "reference_rate": rr,
                    "factor": fr / rr if rr > 0 else np.nan,
                    "excess": fest["churners"].sum() - fest["base"].sum() * rr,
                    "z": z,
                }
            )
    return pd.DataFrame(rows)


def promotions_for(
    ctx: ReportContext, package_id: str | None = None, cohorts: list[str] | None = None
) -> pd.DataFrame:
    """Promotions and commission changes on ``package_id`` (or on all packages) active in ``cohorts``."""
    p = ctx.run(ctx.table("promotion"))
    if package_id is not None:
        p = p[(p["package_id"] == package_id) | p["package_id"].isna()]
    p["start"] = p["start_month"].map(lambda d: format_month(pd.Timestamp(d).date()))
    p["end"] = p["end_month"].map(lambda d: format_month(pd.Timestamp(d).date()))
    if cohorts:
        lo, hi = min(cohorts), max(cohorts)
        p = p[(p["start"] <= hi) & (p["end"] >= lo)]
    return p


def drilldown(ctx: ReportContext, month: str, cell: dict[str, str]) -> dict[str, pd.DataFrame]:
    """What the churners of one flagged cell in ``month`` have in common, and what preceded them.

    Returns tables: ``by_channel_type``, ``by_cohort`` (acquisition month), ``by_county`` (with the
    share of the cell's churners vs the share of all churners that month) and ``promotions`` active
    on the cell's package (or any package) during the cohorts' acquisition months.
    """
    import ibis

    ch = ctx.churn()
    m = parse_month(month)
    ch = ch.filter(ch.churn_month == ibis.literal(m))
    df = ctx.run(
        ch.select(
            "package_id", "channel_type", "county_id", "customer_group", "cohort", "brand", "channel_id"
        )
    )
    df["cohort"] = df["cohort"].map(lambda d: format_month(pd.Timestamp(d).date()))
    df["tenure"] = [months_between(parse_month(c), m) for c in df["cohort"]]
    df["tenure_band"] = tenure_band(df["tenure"])
    sel = np.ones(len(df), dtype=bool)
    for k, v in cell.items():
        sel &= (df[k].astype(str) == str(v)).to_numpy()
    inside = df[sel]
    out: dict[str, pd.DataFrame] = {}
    for dim in ("channel_type", "county_id", "customer_group"):
        a = inside[dim].value_counts(normalize=True).rename("share_cell")
        b = df[dim].value_counts(normalize=True).rename("share_all")
        t = pd.concat([a, b], axis=1).fillna(0.0).reset_index().rename(columns={"index": dim})
        t["label"] = t[dim].map(lambda c, d=dim: label_of(ctx, d, c))
        t["lift"] = t["share_cell"] / t["share_all"].where(t["share_all"] > 0)
        out[f"by_{dim}"] = t.sort_values("share_cell", ascending=False).reset_index(drop=True)
    coh = inside["cohort"].value_counts().rename("churners").reset_index().rename(columns={"index": "cohort"})
    out["by_cohort"] = coh.sort_values("cohort").reset_index(drop=True)
    cohorts = list(coh["cohort"]) if len(coh) else None
    out["promotions"] = promotions_for(ctx, cell.get("package_id"), cohorts)
    return out
