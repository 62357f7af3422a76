"""Report definitions: each composes builders into titled sections with charts (one HTML file each)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from churnradar.i18n import t
from churnradar.periods import format_month
from churnradar.reports import churn as C
from churnradar.reports import competitor as K
from churnradar.reports import kpi as P
from churnradar.reports import revenue as R
from churnradar.reports import seasonality as S
from churnradar.reports import survival as V
from churnradar.reports.context import ReportContext
from churnradar.reports.model import Chart, Report, Section


def _wide(
    df: pd.DataFrame, index: str, columns: str, values: str, names: dict | None = None
) -> tuple[pd.DataFrame, list[str]]:
    # a missing (suppressed) cell stays missing: sum(min_count=1), not pandas' 0 for an empty sum
    w = df.pivot_table(
        index=index, columns=columns, values=values, aggfunc=lambda s: s.sum(min_count=1), dropna=False
    ).reset_index()
    w.columns = [str(c) for c in w.columns]
    cols = [c for c in w.columns if c != index]
    if names:
        w = w.rename(columns={c: names.get(c, c) for c in cols})
        cols = [names.get(c, c) for c in cols]
    return w, cols


def _meta(ctx: ReportContext) -> dict[str, str]:
    return {
        "dating": t(f"dating.{ctx.dating}", ctx.lang),
        "denominator": t("meta.denominator_value", ctx.lang),
        "window": f"{format_month(ctx.months[0])} … {format_month(ctx.months[-1])}",
        "complete_through": format_month(ctx.complete_through),
        "min_count": str(ctx.min_count),
    }


def _tr(ctx: ReportContext, key: str, **kw) -> str:
    return t(key, ctx.lang, **kw)


def _top_labels(df: pd.DataFrame, by: str, value: str, k: int) -> list[str]:
    return list(df.groupby(by)[value].sum().sort_values(ascending=False).head(k).index)


# ---------------------------------------------------------------------------------------------- churn
def report_churn(ctx: ReportContext) -> Report:
    lang = ctx.lang
    tot = C.churn_totals(ctx)
    rate = C.churn_rate(ctx)
    secs = []
    names = {k: C.label_of(ctx, "kind", k) for k in tot["kind"].unique()}
    w, cols = _wide(tot, "month", "kind", "lines", names)
    wr, colsr = _wide(tot, "month", "kind", "revenue", names)
    wa, colsa = _wide(tot, "month", "kind", "accounts", names)
    secs.append(
        Section(
            "totals",
            _tr(ctx, "sec.totals"),
            tot,
            Chart("stacked_bar", _tr(ctx, "chart.lines_by_kind"), w, "month", cols),
            _tr(ctx, "note.totals"),
            charts=[
                Chart("stacked_bar", _tr(ctx, "chart.accounts_by_kind"), wa, "month", colsa),
                Chart("stacked_bar", _tr(ctx, "chart.revenue_by_kind"), wr, "month", colsr, fmt="yuan"),
            ],
        )
    )
    rr = rate.assign(**{"rate_pct": rate["rate"]})
    secs.append(
        Section(
            "rate",
            _tr(ctx, "sec.rate"),
            rate,
            Chart(
                "line",
                _tr(ctx, "chart.offnet_rate"),
                rr,
                "month",
                ["rate", "rate_lo", "rate_hi"],
                fmt="pct",
                series_names={
                    "rate": _tr(ctx, "col.rate"),
                    "rate_lo": _tr(ctx, "col.rate_lo"),
                    "rate_hi": _tr(ctx, "col.rate_hi"),
                },
            ),
            _tr(ctx, "note.rate"),
        )
    )
    reason = C.churn_by_reason(ctx)
    wr2, c2 = _wide(reason, "month", "label", "churners")
    secs.append(
        Section(
            "reason",
            _tr(ctx, "sec.reason"),
            reason,
            Chart("stacked_bar", _tr(ctx, "chart.by_reason"), wr2, "month", c2),
            _tr(ctx, "note.reason"),
        )
    )
    for dim, key in (
        ("customer_group", "group"),
        ("brand", "brand"),
        ("package_id", "package"),
        ("channel_id", "channel"),
        ("channel_type", "channel_type"),
    ):
        d = C.churn_rate(ctx, [dim])
        top = _top_labels(d, "label", "churners", 8)
        wd, cd = _wide(d[d["label"].isin(top)], "month", "label", "rate")
        secs.append(
            Section(
                key,
                _tr(ctx, f"sec.{key}"),
                d,
                Chart(
                    "line", _tr(ctx, "chart.rate_by", what=_tr(ctx, f"sec.{key}")), wd, "month", cd, fmt="pct"
                ),
                _tr(ctx, "note.segment"),
            )
        )
    return Report("churn", _tr(ctx, "report.churn.title"), ctx.as_of, lang, secs, _meta(ctx))


def report_geography(ctx: ReportContext) -> Report:
    county = C.churn_rate(ctx, ["county_id"])
    grid = C.churn_rate(ctx, ["county_id", "grid_id"])
    wc, cc = _wide(county, "month", "label", "rate")
    last = format_month(min(ctx.complete_through, ctx.as_of))
    g = grid[grid["month"] == last].copy()
    g["grid_label"] = g["grid_id"]
    heat = grid.assign(county=grid["county_id"].map(lambda c: C.label_of(ctx, "county_id", c)))
    heat = heat[heat["month"].isin(sorted(heat["month"].unique())[-12:])]
    secs = [
        Section(
            "county",
            _tr(ctx, "sec.county"),
            county,
            Chart("line", _tr(ctx, "chart.rate_by", what=_tr(ctx, "sec.county")), wc, "month", cc, fmt="pct"),
            _tr(ctx, "note.segment"),
        ),
        Section(
            "grid",
            _tr(ctx, "sec.grid"),
            grid,
            Chart(
                "heatmap", _tr(ctx, "chart.grid_heat"), heat, "month", y="grid_id", value="rate", fmt="pct"
            ),
            _tr(ctx, "note.grid"),
            charts=[
                Chart(
                    "bar",
                    _tr(ctx, "chart.grid_last", month=last),
                    g.sort_values("rate", ascending=False),
                    "grid_id",
                    ["rate"],
                    fmt="pct",
                    series_names={"rate": _tr(ctx, "col.rate")},
                )
            ],
        ),
    ]
    return Report("geography", _tr(ctx, "report.geography.title"), ctx.as_of, ctx.lang, secs, _meta(ctx))


def report_cohort(ctx: ReportContext) -> Report:
    ct = C.cohort_tenure(ctx)
    tpn = C.t_plus_n(ctx, "channel_id")
    tpp = C.t_plus_n(ctx, "package_id")
    wt, ctn = _wide(tpn, "n_months", "label", "rate")
    wp, cpp = _wide(tpp, "n_months", "label", "rate")
    pkg_ct = C.cohort_tenure(ctx, ["package_id"])
    agg = pkg_ct.groupby(["package_id", "tenure_band"], as_index=False)[["churners", "base"]].sum()
    secs = [
        Section(
            "cohort_tenure",
            _tr(ctx, "sec.cohort_tenure"),
            ct,
            Chart(
                "heatmap", _tr(ctx, "chart.cohort_heat"), ct, "tenure", y="cohort", value="rate", fmt="pct"
            ),
            _tr(ctx, "note.cohort"),
        ),
        Section(
            "t_plus_n_channel",
            _tr(ctx, "sec.t_plus_n_channel"),
            tpn,
            Chart("line", _tr(ctx, "chart.t_plus_n"), wt, "n_months", ctn, fmt="pct"),
            _tr(ctx, "note.t_plus_n"),
        ),
        Section(
            "t_plus_n_package",
            _tr(ctx, "sec.t_plus_n_package"),
            tpp,
            Chart("line", _tr(ctx, "chart.t_plus_n"), wp, "n_months", cpp, fmt="pct"),
            _tr(ctx, "note.t_plus_n"),
        ),
        Section(
            "package_tenure",
            _tr(ctx, "sec.package_tenure"),
            pkg_ct,
            Chart(
                "heatmap",
                _tr(ctx, "chart.package_tenure"),
                agg.assign(rate=agg["churners"] / agg["base"].where(agg["base"] > 0)),
                "tenure_band",
                y="package_id",
                value="rate",
                fmt="pct",
            ),
            _tr(ctx, "note.cohort"),
        ),
    ]
    return Report("cohort", _tr(ctx, "report.cohort.title"), ctx.as_of, ctx.lang, secs, _meta(ctx))


def report_revenue(ctx: ReportContext) -> Report:
    src = R.stock_revenue_churn(ctx)
    prc = R.package_revenue_churn(ctx)
    pm = R.product_matrix(ctx)
    top = _top_labels(prc, "label", "revenue_last", 8)
    wp, cp = _wide(prc[prc["label"].isin(top)], "month", "label", "revenue_churn_rate")
    secs = [
        Section(
            "stock",
            _tr(ctx, "sec.stock_revenue"),
            src,
            Chart(
                "line",
                _tr(ctx, "chart.stock_revenue"),
                src,
                "month",
                ["revenue_retention", "customer_retention", "stock_revenue_churn_rate"],
                fmt="pct",
                series_names={
                    c: _tr(ctx, f"col.{c}")
                    for c in ("revenue_retention", "customer_retention", "stock_revenue_churn_rate")
                },
            ),
            _tr(ctx, "note.stock_revenue"),
            definitions=P.metric_definitions(R.STOCK_METRICS, ctx.lang),
        ),
        Section(
            "package_revenue",
            _tr(ctx, "sec.package_revenue"),
            prc,
            Chart("line", _tr(ctx, "chart.package_revenue"), wp, "month", cp, fmt="pct"),
            _tr(ctx, "note.package_revenue"),
            definitions=P.metric_definitions(("package_revenue_churn_rate",), ctx.lang),
        ),
    ]
    if len(pm):
        secs.append(
            Section(
                "product_matrix",
                _tr(ctx, "sec.product_matrix"),
                pm,
                Chart(
                    "scatter",
                    _tr(ctx, "chart.product_matrix"),
                    pm,
                    "revenue_share",
                    ["customer_retention"],
                    label="label",
                    fmt="pct",
                    marks=[
                        {"x": float(pm["share_threshold"].iloc[0])},
                        {"y": float(pm["retention_threshold"].iloc[0])},
                    ],
                    series_names={
                        "revenue_share": _tr(ctx, "col.revenue_share"),
                        "customer_retention": _tr(ctx, "col.customer_retention"),
                    },
                ),
                _tr(ctx, "note.product_matrix"),
                definitions=P.metric_definitions(
                    ("snapshot_lines", "customer_retention", "revenue_retention"), ctx.lang
                ),
            )
        )
    return Report("revenue", _tr(ctx, "report.revenue.title"), ctx.as_of, ctx.lang, secs, _meta(ctx))


def report_retention(ctx: ReportContext) -> Report:
    secs = []
    lr = V.logrank(ctx)
    for seg in V.SEGMENTS:
        km = V.retention_curves(ctx, seg)
        if km.empty:
            continue
        w, cols = _wide(km, "tenure_month", "label", "retention")
        p = lr[lr["segment"] == seg]
        note = _tr(ctx, "note.km") + (
            "\n"
            + _tr(
                ctx,
                "note.logrank",
                chi2=f"{p['chi2'].iloc[0]:.1f}",
                dof=int(p["dof"].iloc[0]),
                p=f"{p['p_value'].iloc[0]:.2g}",
            )
            if len(p)
            else ""
        )
        secs.append(
            Section(
                f"km_{seg}",
                _tr(ctx, f"sec.km_{seg}"),
                km,
                Chart(
                    "step",
                    _tr(ctx, "chart.km", what=_tr(ctx, f"sec.km_{seg}")),
                    w,
                    "tenure_month",
                    cols,
                    fmt="pct",
                ),
                note,
            )
        )
    secs.append(Section("logrank", _tr(ctx, "sec.logrank"), lr, None, _tr(ctx, "note.logrank_table")))
    return Report("retention", _tr(ctx, "report.retention.title"), ctx.as_of, ctx.lang, secs, _meta(ctx))


def report_anomaly(ctx: ReportContext) -> Report:
    ms = S.monthly_status(ctx)
    an = S.anomalies(ctx)
    summ = anomaly_summary(an)
    sf = S.spring_festival_factors(ctx, "county_id")
    sfg = S.spring_festival_factors(ctx, "customer_group")
    secs = [
        Section(
            "status",
            _tr(ctx, "sec.status"),
            ms,
            Chart(
                "line",
                _tr(ctx, "chart.status"),
                ms.assign(rate=ms["churners"] / ms["base"]),
                "month",
                ["rate", "level_rate", "baseline_rate"],
                fmt="pct",
                series_names={c: _tr(ctx, f"col.{c}") for c in ("rate", "level_rate", "baseline_rate")},
            ),
            _tr(ctx, "note.status"),
        ),
    ]
    if len(sf):
        w, cols = _wide(sf, "label", "season", "factor")
        secs.append(
            Section(
                "spring_festival",
                _tr(ctx, "sec.spring_festival"),
                sf,
                Chart("bar", _tr(ctx, "chart.sf_county"), w, "label", cols),
                _tr(ctx, "note.spring_festival"),
            )
        )
    if len(sfg):
        w, cols = _wide(sfg, "label", "season", "factor")
        secs.append(
            Section(
                "spring_festival_group",
                _tr(ctx, "sec.spring_festival_group"),
                sfg,
                Chart("bar", _tr(ctx, "chart.sf_group"), w, "label", cols),
                _tr(ctx, "note.spring_festival"),
            )
        )
    secs.append(
        Section(
            "flags",
            _tr(ctx, "sec.flags"),
            summ,
            Chart(
                "bar",
                _tr(ctx, "chart.flags"),
                summ.head(12),
                "label",
                ["total_excess"],
                series_names={"total_excess": _tr(ctx, "col.total_excess")},
            )
            if len(summ)
            else None,
            _tr(ctx, "note.flags"),
        )
    )
    secs.append(
        Section(
            "flag_cells",
            _tr(ctx, "sec.flag_cells"),
            an.drop(columns=[c for c in ("cohort",) if c in an.columns]),
            None,
            _tr(ctx, "note.flag_cells"),
        )
    )
    findings = []
    if len(summ):
        top = summ.iloc[0]
        findings.append(
            _tr(
                ctx,
                "finding.top_flag",
                label=top["label"],
                onset=top["onset"],
                months=int(top["months_flagged"]),
                excess=f"{top['total_excess']:.0f}",
            )
        )
        if top["dimension"].startswith("package_id"):
            pkg = str(top["cell"]).split(" × ")[0]
            dd = S.drilldown(ctx, top["last_month"], _cell_dict(top))
            promos = dd["promotions"]
            if len(promos):
                trace = "; ".join(
                    f"{r.promotion_id} {r.terms if ctx.lang == 'zh' else r.terms_en} ({r.start}…{r.end})"
                    for r in promos.itertuples()
                )
                findings.append(
                    _tr(ctx, "finding.trace", package=C.label_of(ctx, "package_id", pkg), promos=trace)
                )
                secs.append(
                    Section(
                        "drilldown_promotions",
                        _tr(ctx, "sec.drill_promotions"),
                        promos.drop(columns=["start_month", "end_month"]),
                        None,
                        _tr(ctx, "note.drill"),
                    )
                )
            bc = dd["by_channel_type"]
            secs.append(
                Section(
                    "drilldown_channel",
                    _tr(ctx, "sec.drill_channel", label=top["label"], month=top["last_month"]),
                    bc,
                    Chart(
                        "bar",
                        _tr(ctx, "chart.drill_channel"),
                        bc,
                        "label",
                        ["share_cell", "share_all"],
                        fmt="pct",
                        series_names={
                            "share_cell": _tr(ctx, "col.share_cell"),
                            "share_all": _tr(ctx, "col.share_all"),
                        },
                    ),
                    _tr(ctx, "note.drill"),
                )
            )
            coh = dd["by_cohort"]
            if len(coh):
                secs.append(
                    Section(
                        "drilldown_cohort",
                        _tr(ctx, "sec.drill_cohort"),
                        coh,
                        Chart("bar", _tr(ctx, "chart.drill_cohort"), coh, "cohort", ["churners"]),
                        _tr(ctx, "note.drill"),
                    )
                )
    for _, r in sf.iterrows() if len(sf) else []:
        if r["z"] > 3:
            findings.append(
                _tr(ctx, "finding.sf", county=r["label"], season=r["season"], factor=f"{r['factor']:.2f}")
            )
    return Report(
        "anomaly", _tr(ctx, "report.anomaly.title"), ctx.as_of, ctx.lang, secs, _meta(ctx), findings
    )


def _cell_dict(row: pd.Series) -> dict[str, str]:
    dims = str(row["dimension"]).split("×")
    vals = str(row["cell"]).split(" × ")
    return dict(zip(dims, vals, strict=False))


def anomaly_summary(an: pd.DataFrame) -> pd.DataFrame:
    """One row per flagged cell: onset, last month, months flagged, total and peak excess."""
    if an.empty:
        return pd.DataFrame(
            columns=[
                "dimension",
                "cell",
                "label",
                "onset",
                "last_month",
                "months_flagged",
                "total_excess",
                "peak_ratio",
            ]
        )
    a = an.assign(ratio_best=np.fmax(an["ratio"].fillna(0), an["ratio_peer"].fillna(0)))
    g = a.groupby(["dimension", "cell", "label"], as_index=False).agg(
        onset=("month", "min"),
        last_month=("month", "max"),
        months_flagged=("month", "nunique"),
        churners=("churners", "sum"),
        total_excess=("best_excess", "sum"),
        peak_ratio=("ratio_best", "max"),
        spring_festival_months=("spring_festival", "sum"),
    )
    return g.sort_values("total_excess", ascending=False).reset_index(drop=True)


def report_kpi(ctx: ReportContext) -> Report:
    k = P.department_kpis(ctx)
    rec = P.recorded_offnet(ctx)
    rates = C.churn_rate(ctx, ["customer_group"])
    w, cols = _wide(rates, "month", "label", "rate")
    secs = [
        Section(
            "kpi",
            _tr(ctx, "sec.kpi"),
            k,
            Chart(
                "bar",
                _tr(ctx, "chart.kpi_churn"),
                k[k["kpi"] == "churn_rate"],
                "department_label",
                ["value"],
                fmt="pct",
                series_names={"value": _tr(ctx, "col.value")},
            ),
            _tr(ctx, "note.kpi"),
            definitions=P.metric_definitions(P.COMPANY_METRICS, ctx.lang),
        ),
        Section(
            "offnet_recorded",
            _tr(ctx, "sec.offnet_recorded"),
            rec,
            Chart(
                "line",
                _tr(ctx, "chart.offnet_recorded"),
                rec,
                "month",
                ["offnet_rate", "port_out_rate"],
                fmt="pct",
                series_names={c: _tr(ctx, f"col.{c}") for c in ("offnet_rate", "port_out_rate")},
            ),
            _tr(ctx, "note.offnet_recorded"),
            definitions=P.metric_definitions(P.RECORDED_METRICS, ctx.lang),
        ),
        Section(
            "group_rates",
            _tr(ctx, "sec.group"),
            rates,
            Chart("line", _tr(ctx, "chart.rate_by", what=_tr(ctx, "sec.group")), w, "month", cols, fmt="pct"),
            _tr(ctx, "note.segment"),
        ),
    ]
    return Report("kpi", _tr(ctx, "report.kpi.title"), ctx.as_of, ctx.lang, secs, _meta(ctx))


def report_competitor(ctx: ReportContext) -> Report:
    tr = K.competitor_traffic(ctx)
    sig = K.push_signals(tr)
    tot = tr.groupby(["month", "label"], as_index=False)[["minutes", "port_outs"]].sum()
    w, cols = _wide(tot, "month", "label", "minutes")
    last = tr[tr["month"] == format_month(ctx.as_of)]
    wl, cl = _wide(last, "county", "label", "minute_share")
    secs = [
        Section(
            "traffic",
            _tr(ctx, "sec.competitor_traffic"),
            tr,
            Chart("line", _tr(ctx, "chart.competitor_minutes"), w, "month", cols),
            _tr(ctx, "note.competitor"),
        ),
        Section(
            "share",
            _tr(ctx, "sec.competitor_share"),
            last,
            Chart("stacked_bar", _tr(ctx, "chart.competitor_share"), wl, "county", cl, fmt="pct"),
            _tr(ctx, "note.competitor"),
        ),
        Section("push", _tr(ctx, "sec.competitor_push"), sig, None, _tr(ctx, "note.push")),
    ]
    findings = [
        _tr(
            ctx,
            "finding.push",
            competitor=r["label"],
            county=r["county"],
            first=r["first_month"],
            rise=f"{r['peak_rise'] * 100:.1f}",
        )
        for _, r in sig.head(3).iterrows()
    ]
    return Report(
        "competitor", _tr(ctx, "report.competitor.title"), ctx.as_of, ctx.lang, secs, _meta(ctx), findings
    )


REPORTS: dict[str, Callable[[ReportContext], Report]] = {
    "churn": report_churn,
    "geography": report_geography,
    "cohort": report_cohort,
    "revenue": report_revenue,
    "retention": report_retention,
    "anomaly": report_anomaly,
    "kpi": report_kpi,
    "competitor": report_competitor,
}
