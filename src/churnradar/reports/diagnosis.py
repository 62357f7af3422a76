"""Churn diagnosis of one month, following the five-step 离网控制 process.

1. **Reason mix**: reason codes and intents of the month's off-net churners against the previous
   twelve months.
2. **BI analysis**: is the month seasonal or abnormal (seasonal baseline of
   :mod:`~churnradar.reports.seasonality`); where the excess sits (region, package, tenure band,
   acquisition channel, cohort); trace back 3–9 months to the promotions, commissions and intake
   that preceded the flagged churners.
3. **Survey evidence**: the latest survey up to the month, the flagged segment against the rest.
4. **Solution**: target groups with instruments, expected cost and effect (saves).
5. **Tracking**: the measures of the follow-up campaign against a randomised control group.

>>> from churnradar.reports.diagnosis import diagnose_store
>>> result = diagnose_store("operator.duckdb", month="2025-03", out="reports/")  # doctest: +SKIP
>>> result.path, result.report.findings  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from churnradar.i18n import t
from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS
from churnradar.periods import add_months, format_month, parse_month
from churnradar.reports import seasonality as S
from churnradar.reports.churn import label_of
from churnradar.reports.context import ReportContext, month_strings, tenure_band
from churnradar.reports.model import Chart, Report, Section
from churnradar.schema import enums as E

#: Assumptions of the solution step (documented parameters).
REACH = 0.75
ACCEPTANCE = 0.25
EFFECT = {"promo": 0.15, "seasonal": 0.10, "competitor": 0.15, "generic": 0.10}
OFFER_COST = {"promo": 60.0, "seasonal": 8.0, "competitor": 60.0, "generic": 30.0}
CONTROL_SHARE = 0.2


def _reason_mix(ctx: ReportContext, month: date) -> pd.DataFrame:
    ch = ctx.churn()
    lo = add_months(month, -12)
    ch = ch.filter(ch.churn_month.between(ibis.literal(lo), ibis.literal(month)))
    df = ctx.run(ch.group_by(["churn_month", "reason_code", "intent"]).agg(n=ch.count()))
    df["month"] = month_strings(df["churn_month"])
    m = format_month(month)
    cur = df[df["month"] == m].groupby(["reason_code", "intent"])["n"].sum()
    prev = df[df["month"] < m].groupby(["reason_code", "intent"])["n"].sum()
    out = pd.concat([cur.rename("churners"), prev.rename("previous_12m")], axis=1).fillna(0).reset_index()
    out["share"] = out["churners"] / max(out["churners"].sum(), 1)
    out["share_previous"] = out["previous_12m"] / max(out["previous_12m"].sum(), 1)
    out["label"] = [
        f"{ctx.label(E.REASON_CODE, r)} / {ctx.label(E.INTENT, i)}"
        for r, i in zip(out["reason_code"], out["intent"], strict=False)
    ]
    return out.sort_values("churners", ascending=False).reset_index(drop=True)


def _excess_cells(ctx: ReportContext, month: str) -> pd.DataFrame:
    an = S.anomalies(ctx)
    if an.empty:
        return an
    onset = an.groupby("cell")["month"].min()
    cur = an[an["month"] == month].copy()
    cur["onset"] = cur["cell"].map(onset)
    cur["share"] = cur["best_excess"] / cur.groupby("dimension")["best_excess"].transform("sum")
    # a cell is reported once, at its most specific dimension, when nested cells say the same
    return cur.sort_values("best_excess", ascending=False).reset_index(drop=True)


def _intake(ctx: ReportContext, month: date, packages: list[str]) -> pd.DataFrame:
    ln = ctx.lines()
    lo = add_months(month, -12)
    ln = ln.filter(ln.cohort.between(ibis.literal(lo), ibis.literal(month)))
    df = ctx.run(ln.group_by(["cohort", "package_id", "channel_type"]).agg(new_lines=ln.count()))
    df["month"] = month_strings(df.pop("cohort"))
    df["package"] = np.where(df["package_id"].isin(packages), df["package_id"], "other")
    g = df.groupby(["month", "package", "channel_type"], as_index=False)["new_lines"].sum()
    g["label"] = [
        f"{label_of(ctx, 'package_id', p) if p != 'other' else '—'} / {label_of(ctx, 'channel_type', c)}"
        for p, c in zip(g["package"], g["channel_type"], strict=False)
    ]
    return g


def _cell_churners(ctx: ReportContext, month: date, cell: dict[str, str]) -> pd.DataFrame:
    ch = ctx.churn()
    ch = ch.filter(ch.churn_month == ibis.literal(month))
    df = ctx.run(
        ch.select(
            "subscriber_id",
            "package_id",
            "channel_type",
            "county_id",
            "customer_group",
            "cohort",
            "brand",
            "channel_id",
        )
    )
    df["cohort"] = month_strings(df["cohort"])
    m = month.year * 12 + month.month - 1
    coh = pd.to_datetime(df["cohort"] + "-01")
    df["tenure_band"] = tenure_band(m - (coh.dt.year * 12 + coh.dt.month - 1))
    sel = np.ones(len(df), dtype=bool)
    for k, v in cell.items():
        sel &= (df[k].astype(str) == str(v)).to_numpy()
    df["in_cell"] = sel
    return df


def _active_in_cell(ctx: ReportContext, month: date, cell: dict[str, str], kind: str) -> tuple[int, float]:
    """Lines open at the end of ``month`` in the target group of the cell, and their churn rate per month."""
    ln = ctx.lines()
    open_ = ln.filter(
        (ln.cohort <= ibis.literal(month))
        & (ln.close_month.isnull() | (ln.close_month > ibis.literal(month)))
    )
    for k, v in cell.items():
        if k == "tenure_band":
            continue
        open_ = open_.filter(open_[k] == v)
    if kind == "promo":  # tenure 2–8 months now: entering the burn window next
        open_ = open_.filter(
            open_.cohort.between(ibis.literal(add_months(month, -8)), ibis.literal(add_months(month, -2)))
        )
    elif kind == "seasonal":
        open_ = open_.filter(open_.customer_group == "migrant") if "customer_group" not in cell else open_
    n = int(ctx.run(open_.aggregate(n=open_.count()))["n"].iloc[0])
    return n, 0.0


def _survey_evidence(ctx: ReportContext, cell: dict[str, str] | None) -> tuple[pd.DataFrame, str | None]:
    from churnradar.survey import FACTORS, nps_score, survey_frame

    df = survey_frame(ctx)
    if df.empty:
        return pd.DataFrame(), None
    df = df[pd.to_datetime(df["response_date"]) <= pd.Timestamp(add_months(ctx.as_of, 1))]
    sel = np.ones(len(df), dtype=bool)
    if cell:
        for k, v in cell.items():
            if k in df.columns:
                sel &= (df[k].astype(str) == str(v)).to_numpy()
    rows = []
    for name, g in (("segment", df[sel]), ("others", df[~sel]), ("all", df)):
        s, lo, hi, n = nps_score(g["nps"])
        row: dict[str, Any] = {
            "group": name,
            "n": n,
            "nps": s if n >= ctx.min_count else np.nan,
            "nps_lo": lo,
            "nps_hi": hi,
            "cci": g["cci"].mean() if n else np.nan,
        }
        for f in FACTORS:
            row[f"rating_{f}"] = g[f"rating_{f}"].mean() if n else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    text = None
    if cell and out.loc[0, "n"] >= ctx.min_count:
        diffs = {f: out.loc[0, f"rating_{f}"] - out.loc[1, f"rating_{f}"] for f in FACTORS}
        worst = min(diffs, key=diffs.get)
        text = (out.loc[0, "nps"], out.loc[1, "nps"], t(f"factor.{worst}", ctx.lang))
    return out, text


def _classify(row: pd.Series, churners: pd.DataFrame, sf_months: set[str]) -> str:
    dims = str(row["dimension"])
    if dims.startswith("package_id") or ("tenure_band" in dims and "3-9" in str(row["cell"])):
        return "promo"
    if row["month"] in sf_months and "migrant" in str(row["cell"]):
        return "seasonal"
    if dims.startswith("county_id"):
        return "competitor"
    return "generic"


def diagnose(ctx: ReportContext, month: str | date | None = None) -> Report:
    """The five-step diagnosis of ``month`` (default: the latest complete month) as a report."""
    lang = ctx.lang
    m = parse_month(month) if month is not None else min(ctx.complete_through, ctx.as_of)
    ms = format_month(m)
    findings: list[str] = []
    secs: list[Section] = []
    meta = {
        "dating": t(f"dating.{ctx.dating}", lang),
        "denominator": t("meta.denominator_value", lang),
        "complete_through": format_month(ctx.complete_through),
    }
    if ctx.region:
        meta["region"] = label_of(ctx, "county_id", ctx.region)
    if ctx.is_provisional(m):
        findings.append(
            t(
                "diag.provisional",
                lang,
                month=ms,
                final=format_month(add_months(m, DEREGISTRATION_LAG_MONTHS)),
            )
        )

    # step 1
    rm = _reason_mix(ctx, m)
    top = rm.head(3)
    findings.append(
        t("diag.reason_top", lang, reasons=", ".join(f"{r.label} {r.share:.0%}" for r in top.itertuples()))
    )
    secs.append(
        Section(
            "reason",
            t("sec.diag_reason", lang),
            rm,
            Chart(
                "bar",
                t("chart.reason_mix", lang),
                rm.head(10),
                "label",
                ["share", "share_previous"],
                fmt="pct",
            ),
            t("note.diag_reason", lang),
        )
    )

    # step 2: seasonal or abnormal
    st = S.monthly_status(ctx)
    row = st[st["month"] == ms]
    if len(row):
        r = row.iloc[0]
        key = {
            "abnormal": "diag.verdict_abnormal",
            "seasonal": "diag.verdict_seasonal",
            "normal": "diag.verdict_normal",
        }.get(r["status"], "diag.verdict_history")
        findings.append(
            t(
                key,
                lang,
                month=ms,
                churners=int(r["churners"]),
                expected=float(np.nan_to_num(r["expected"])),
                z=float(np.nan_to_num(r["z"])),
                level=float(np.nan_to_num(r["level_rate"] * r["base"])),
            )
        )
    secs.append(
        Section(
            "status",
            t("sec.diag_status", lang),
            st,
            Chart(
                "line",
                t("chart.status", lang),
                st.assign(rate=st["churners"] / st["base"]),
                "month",
                ["rate", "level_rate", "baseline_rate"],
                fmt="pct",
                series_names={c: t(f"col.{c}", lang) for c in ("rate", "level_rate", "baseline_rate")},
            ),
            t("note.status", lang),
        )
    )
    ex = _excess_cells(ctx, ms)
    sf = S.spring_festival_months(ctx.months[0], ctx.months[-1])
    plan_rows: list[dict[str, Any]] = []
    main_cell: dict[str, str] | None = None
    if ex.empty:
        findings.append(t("diag.no_flags", lang))
        secs.append(
            Section(
                "excess",
                t("sec.diag_excess", lang),
                pd.DataFrame({"note": [t("diag.no_flags", lang)]}),
                None,
                t("note.diag_excess", lang),
            )
        )
    else:
        cols = [
            "dimension",
            "cell",
            "label",
            "churners",
            "expected",
            "expected_peer",
            "best_excess",
            "share",
            "onset",
            "flag_temporal",
            "flag_peer",
            "spring_festival",
        ]
        show = ex[cols]
        secs.append(
            Section(
                "excess",
                t("sec.diag_excess", lang),
                show,
                Chart(
                    "bar",
                    t("chart.excess", lang),
                    show.head(10),
                    "label",
                    ["best_excess"],
                    series_names={"best_excess": t("col.excess", lang)},
                ),
                t("note.diag_excess", lang),
            )
        )
        # the most specific explanation of the largest excess: prefer package × tenure band cells
        pk = ex[ex["dimension"] == "package_id×tenure_band"]
        lead = (pk if len(pk) and pk["best_excess"].iloc[0] >= 0.5 * ex["best_excess"].iloc[0] else ex).iloc[
            0
        ]
        cell = dict(zip(str(lead["dimension"]).split("×"), str(lead["cell"]).split(" × "), strict=False))
        main_cell = cell
        exp = (
            lead["expected"]
            if lead["flag_temporal"] and not pd.isna(lead["expected"])
            else lead["expected_peer"]
        )
        findings.append(
            t(
                "diag.excess_cell",
                lang,
                label=lead["label"],
                churners=int(lead["churners"]),
                expected=float(np.nan_to_num(exp)),
                share=float(lead["share"]),
                onset=lead["onset"],
            )
        )
        kind = _classify(lead, pd.DataFrame(), sf)
        chs = _cell_churners(ctx, m, cell)
        inside = chs[chs["in_cell"]]
        if kind == "promo" and len(inside):
            pkg = cell.get("package_id")
            cohorts = inside["cohort"].value_counts()
            promos = S.promotions_for(ctx, pkg, list(cohorts.index))
            promos = promos[
                (promos["package_id"] == pkg)
                | promos["channel_type"].isin(inside["channel_type"].value_counts().head(1).index)
            ]
            tr = promos.drop(columns=["start_month", "end_month"])
            secs.append(Section("trace", t("sec.diag_trace", lang), tr, None, t("note.diag_trace", lang)))
            social = float((inside["channel_type"] == "social").mean())
            social_all = float((chs["channel_type"] == "social").mean())
            county_max = float(inside["county_id"].value_counts(normalize=True).max())
            promo_text = "; ".join(
                f"{r.promotion_id} {r.terms if lang == 'zh' else r.terms_en} ({r.start})"
                for r in promos.itertuples()
            )
            findings.append(
                t(
                    "diag.promo_induced",
                    lang,
                    label=lead["label"],
                    cohorts=f"{cohorts.index.min()} … {cohorts.index.max()}",
                    social=social,
                    social_all=social_all,
                    promos=promo_text or "—",
                    county_max=county_max,
                )
            )
            intake = _intake(ctx, m, [pkg] if pkg else [])
            w = (
                intake.pivot_table(index="month", columns="label", values="new_lines", aggfunc="sum")
                .fillna(0)
                .reset_index()
            )
            w.columns = [str(c) for c in w.columns]
            keep = [c for c in w.columns if c != "month" and not c.startswith("—")] or [
                c for c in w.columns if c != "month"
            ][:6]
            secs.append(
                Section(
                    "intake",
                    t("sec.diag_intake", lang),
                    intake,
                    Chart("stacked_bar", t("sec.diag_intake", lang), w, "month", keep),
                    t("note.diag_intake", lang),
                )
            )
        # every distinct flagged situation gets a plan row
        seen = set()
        for _, r in ex.iterrows():
            c = dict(zip(str(r["dimension"]).split("×"), str(r["cell"]).split(" × "), strict=False))
            k = _classify(r, pd.DataFrame(), sf)
            if k in seen or len(seen) >= 3:
                continue
            seen.add(k)
            lines, _ = _active_in_cell(ctx, m, c, k)
            rate = float(r["churners"]) / max(float(r.get("base", 0) or 0), 1.0) if "base" in r else 0.0
            horizon_rate = min(1.0, rate * 3)
            saves = lines * horizon_rate * REACH * EFFECT[k]
            cost = lines * REACH * ACCEPTANCE * OFFER_COST[k]
            plan_rows.append(
                {
                    "target": t(f"plan.{k}", lang) + f" — {r['label']}",
                    "instrument": t(f"plan.{k}_instrument", lang),
                    "lines_targeted": lines,
                    "rate": rate,
                    "expected_saves": saves,
                    "cost": cost,
                    "cost_per_save": cost / saves if saves > 0 else np.nan,
                }
            )
    # seasonal migrant evidence: a festival uplift that recurs in every season seen so far
    if ms in sf:
        fac = S.spring_festival_factors(ctx, "county_id")
        fac = fac[fac["festival_months"].str[:7] <= ms]
        g = fac.groupby(["county_id", "label"]).agg(
            seasons=("season", "nunique"), mean=("factor", "mean"), low=("factor", "min"), z=("z", "max")
        )
        hi = g[(g["seasons"] >= 2) & (g["mean"] > 1.15) & (g["low"] > 1.05) & (g["z"] > 2)].reset_index()
        if len(hi):
            findings.append(
                t(
                    "diag.seasonal_migrant",
                    lang,
                    counties=", ".join(hi["label"]),
                    factor=", ".join(f"{a} ×{b:.2f}" for a, b in zip(hi["label"], hi["mean"], strict=False)),
                )
            )

    # step 3
    sv, text = _survey_evidence(
        ctx, {k: v for k, v in (main_cell or {}).items() if k != "tenure_band"} or None
    )
    if len(sv):
        sv["group_label"] = sv["group"]
        from churnradar.survey import FACTORS

        secs.append(
            Section(
                "survey",
                t("sec.diag_survey", lang),
                sv,
                Chart(
                    "bar",
                    t("sec.diag_survey", lang),
                    sv,
                    "group",
                    [f"rating_{f}" for f in FACTORS],
                    series_names={f"rating_{f}": t(f"factor.{f}", lang) for f in FACTORS},
                ),
                t("note.diag_survey", lang),
            )
        )
        if text is not None and main_cell:
            findings.append(
                t(
                    "diag.survey_segment",
                    lang,
                    label=label_of(ctx, "package_id", main_cell["package_id"])
                    if "package_id" in main_cell
                    else " × ".join(main_cell.values()),
                    nps=f"{text[0]:.0f}",
                    nps_other=f"{text[1]:.0f}",
                    factor=text[2],
                )
            )

    # step 4
    plan = pd.DataFrame(
        plan_rows,
        columns=["target", "instrument", "lines_targeted", "rate", "expected_saves", "cost", "cost_per_save"],
    )
    secs.append(
        Section(
            "plan",
            t("sec.diag_plan", lang),
            plan,
            Chart(
                "bar",
                t("sec.diag_plan", lang),
                plan,
                "target",
                ["expected_saves"],
                series_names={"expected_saves": t("col.expected_saves", lang)},
            )
            if len(plan)
            else None,
            t("note.diag_plan", lang),
        )
    )

    # step 5
    measures = [
        "track.control",
        "track.churn",
        "track.accept",
        "track.verify",
        "track.cost",
        "track.tplusn",
        "track.anomaly",
    ]
    tracking = pd.DataFrame(
        {"step": range(1, len(measures) + 1), "measure": [t(k, lang, share=CONTROL_SHARE) for k in measures]}
    )
    secs.append(
        Section("tracking", t("sec.diag_tracking", lang), tracking, None, t("note.diag_tracking", lang))
    )
    title = t("report.diagnosis.title", lang, month=ms) + (f" · {meta['region']}" if ctx.region else "")
    rep = Report("diagnosis", title, m, lang, secs, meta, findings)
    rep.meta["month"] = ms
    return rep


@dataclass
class Diagnosis:
    """A written diagnosis: where the file is and the report (findings, sections)."""

    path: Path
    report: Report


def diagnose_store(
    store: Path | str,
    month: str | date | None = None,
    *,
    region: str | None = None,
    out: Path | str = "reports",
    fmt: str = "html",
    lang: str = "zh",
    min_count: int = 5,
    backend: str = "duckdb",
) -> Diagnosis:
    """Diagnose ``month`` on ``store`` (optionally one county) and write the report (HTML or XLSX)."""
    from churnradar.errors import ChurnRadarError

    if fmt not in ("html", "xlsx"):
        raise ChurnRadarError(f"format {fmt!r} is not supported; expected one of html, xlsx")
    with ReportContext.open(
        store, None, window=24, lang=lang, min_count=min_count, backend=backend, region=region
    ) as ctx:
        if month is not None:
            mm = parse_month(month)
            if not ctx.months[0] <= mm <= ctx.as_of:
                from churnradar.errors import ConfigError

                raise ConfigError(
                    f"month {format_month(mm)} is outside the data window; expected {format_month(ctx.months[0])} to {format_month(ctx.as_of)}"
                )
        rep = diagnose(ctx, month)
    stem = f"diagnosis-{rep.meta['month']}" + (f"-{ctx.region}" if ctx.region else "")
    out = Path(out)
    if fmt == "html":
        from churnradar.reports.html import render_html

        return Diagnosis(render_html(rep, out / f"{stem}.html"), rep)
    from churnradar.reports.xlsx import render_xlsx

    return Diagnosis(render_xlsx([rep], out / f"{stem}.xlsx"), rep)
