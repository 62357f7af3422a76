"""Department KPI sheet.

The company figures (离网率, 携出率, 存量收入流失率, 客保率) are the metrics layer's
(:mod:`churnradar.metrics`, ``churnradar metrics``), with its 口径 text as their definition; the
department breakdowns below are this sheet's own.

- 离网率 = 销户数 / 上月末在网数: deregistrations recorded in the month (in-network number and
  tariff re-selection excluded) over lines open at the end of the previous month; port-outs
  (携出) are counted separately, not in 销户.
- 存量收入流失率 = 1 − 收保率 (snapshot of December, see :mod:`churnradar.reports.revenue`).
- Department churn rate: off-net churn (context dating) of the department's lines in the latest
  complete month over their 上月末在网数.
- ARPU: billed revenue / billed lines in the as-of month. Satisfaction: NPS of the latest survey
  up to the as-of month. Complaint handling: share of complaints of the last three months resolved
  (the data hold resolution, not its time, so this stands in for timeliness).
- Support centre: billing accuracy = 1 − billing complaints per billed line in the last three
  months; report timeliness = months of delay between the as-of month and the latest data.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from churnradar.i18n import t
from churnradar.periods import add_months, format_month, month_end_exclusive, months_between
from churnradar.reports._stats import wilson
from churnradar.reports.context import ReportContext

DEPARTMENTS = {
    "key_account": ("key_account",),
    "business": ("business",),
    "mass": ("mass", "migrant"),
}


#: The figures the KPI sheet and the revenue report take from the metrics layer
#: (:mod:`churnradar.metrics`), by id: one query per report run for both.
REPORT_METRICS = (
    "lines_start",
    "deregistrations",
    "port_outs",
    "offnet_rate",
    "port_out_rate",
    "snapshot_lines",
    "retained_lines",
    "customer_retention",
    "revenue_retention",
    "stock_revenue_churn_rate",
)
#: The metrics behind the 销户 / 携出 section (:func:`recorded_offnet`) and the company rows of the
#: KPI table (:func:`department_kpis`).
RECORDED_METRICS = ("lines_start", "deregistrations", "port_outs", "offnet_rate", "port_out_rate")
COMPANY_METRICS = ("offnet_rate", "port_out_rate", "stock_revenue_churn_rate", "customer_retention")


def report_metrics(ctx: ReportContext) -> pd.DataFrame:
    """The metrics-layer figures the reports print, for every month of the window and the report's
    scope (one row per month, ``YYYY-MM``, one column per metric id): the same values as
    ``churnradar metrics`` for that month and region, whatever the report's window."""
    from churnradar.metrics import series

    def make() -> pd.DataFrame:
        df = series(ctx.bk, list(ctx.months), ctx.grids, list(REPORT_METRICS))
        df.index = [format_month(m) for m in df.index]
        return df

    return ctx._cached("report_metrics", make)


def metric_definitions(ids: tuple[str, ...] | list[str], lang: str) -> str:
    """The 口径 of the metrics ``ids`` as the catalogue words them (:mod:`churnradar.metrics.catalogue`),
    one line each in the report's language: what a table computed from them counts."""
    from churnradar.metrics import CATALOGUE

    zh = lang.startswith("zh")
    head = "口径" if zh else "Definitions (口径)"
    lines = [
        f"· {m.name_zh}：{m.definition_zh}" if zh else f"· {m.name_en}: {m.definition_en}"
        for m in (CATALOGUE[i] for i in ids)
    ]
    return "\n".join([head + ("：" if zh else ":"), *lines])


def recorded_offnet(ctx: ReportContext) -> pd.DataFrame:
    """销户数 and 携出数 by recorded month (re-selection closures excluded), with 上月末在网数 and 离网率:
    the metrics layer's ``deregistrations``, ``port_outs``, ``lines_start``, ``offnet_rate`` and
    ``port_out_rate``, with a Wilson interval on the rate."""
    m = report_metrics(ctx)
    out = pd.DataFrame({"month": [format_month(x) for x in ctx.months]})
    out["base"] = out["month"].map(m["lines_start"]).fillna(0).astype(int)
    out["deregistrations"] = out["month"].map(m["deregistrations"]).fillna(0).astype(int)
    out["port_outs"] = out["month"].map(m["port_outs"]).fillna(0).astype(int)
    out["offnet_rate"] = out["month"].map(m["offnet_rate"]).astype(float)
    lo, hi = wilson(out["deregistrations"], out["base"])
    out["offnet_rate_lo"], out["offnet_rate_hi"] = lo, hi
    out["port_out_rate"] = out["month"].map(m["port_out_rate"]).astype(float)
    return out


def department_kpis(ctx: ReportContext) -> pd.DataFrame:
    """One row per (department, KPI) for the as-of month: value, interval where it is a rate, definition."""
    lang = ctx.lang
    m = ctx.as_of
    rows: list[dict] = []

    def add(
        dept: str,
        kpi: str,
        value: float | None,
        lo: float | None = None,
        hi: float | None = None,
        unit: str = "pct",
    ):
        rows.append(
            {
                "department": dept,
                "department_label": t(f"dept.{dept}", lang),
                "kpi": kpi,
                "kpi_label": t(f"kpi.{kpi}", lang),
                "value": value,
                "value_lo": lo,
                "value_hi": hi,
                "unit": unit,
                "definition": t(f"kpi.{kpi}.def", lang),
            }
        )

    rec = recorded_offnet(ctx)
    cur = rec[rec["month"] == format_month(m)].iloc[0]
    add("company", "offnet_rate", cur["offnet_rate"], cur["offnet_rate_lo"], cur["offnet_rate_hi"])
    add("company", "port_out_rate", cur["port_out_rate"])
    km = report_metrics(ctx).loc[format_month(m)]
    if pd.notna(km["stock_revenue_churn_rate"]):
        add("company", "stock_revenue_churn_rate", float(km["stock_revenue_churn_rate"]))
        k, n = km["retained_lines"], km["snapshot_lines"]
        small = not n >= ctx.min_count
        lo, hi = wilson(np.array([k]), np.array([n])) if not small else ([None], [None])
        add(
            "company",
            "customer_retention",
            None if small else float(km["customer_retention"]),
            None if small else float(lo[0]),
            None if small else float(hi[0]),
        )
    # the 口径 of the rows that come from the metrics layer is the catalogue's
    from churnradar.metrics import CATALOGUE

    for r in rows:
        meta = CATALOGUE.get(r["kpi"]) if r["department"] == "company" else None
        if meta is not None:
            r["definition"] = meta.definition_zh if lang.startswith("zh") else meta.definition_en

    # department figures
    last_complete = min(ctx.complete_through, m)
    rates = ctx.rates(["customer_group"])
    rates = rates[rates["month"] == format_month(last_complete)]
    b = ctx.table("billing_monthly")
    bl = b.filter(b.month == ibis.literal(m)).join(
        ctx.lines().select("subscriber_id", "customer_group"), "subscriber_id"
    )
    arpu = ctx.run(bl.group_by("customer_group").agg(revenue=bl.revenue.sum(), billed=(bl.revenue > 0).sum()))
    sv = ctx.table("survey_response")
    sv = sv.filter(sv.response_date < ibis.literal(month_end_exclusive(m).date()))
    sv = sv.join(ctx.lines().select("subscriber_id", "customer_group"), "subscriber_id")
    nps = ctx.run(
        sv.group_by("customer_group").agg(
            n=sv.count(), promoters=(sv.nps >= 9).sum(), detractors=(sv.nps <= 6).sum()
        )
    )
    it = ctx.table("interaction")
    start3 = ibis.literal(add_months(m, -2))
    it = it.filter(
        (it.kind == "complaint")
        & (it.interaction_time.cast("date") >= start3)
        & (it.interaction_time < ibis.literal(month_end_exclusive(m)))
    )
    it = it.join(ctx.lines().select("subscriber_id", "customer_group"), "subscriber_id")
    comp = ctx.run(
        it.group_by(["customer_group", "topic"]).agg(n=it.count(), resolved=it.resolved.sum().cast("int64"))
    )
    for dept, groups in DEPARTMENTS.items():
        r = rates[rates["customer_group"].isin(groups)]
        k, n = r["churners"].sum(), r["base"].sum()
        lo, hi = wilson(np.array([k]), np.array([n]))
        add(dept, "churn_rate", k / n if n else None, float(lo[0]), float(hi[0]))
        a = arpu[arpu["customer_group"].isin(groups)]
        add(
            dept,
            "arpu",
            float(a["revenue"].sum() / a["billed"].sum()) if a["billed"].sum() else None,
            unit="yuan",
        )
        p = nps[nps["customer_group"].isin(groups)]
        nn = p["n"].sum()
        add(
            dept,
            "nps",
            float((p["promoters"].sum() - p["detractors"].sum()) / nn * 100) if nn >= ctx.min_count else None,
            unit="score",
        )
        c = comp[comp["customer_group"].isin(groups)]
        cn = c["n"].sum()
        lo, hi = wilson(np.array([c["resolved"].sum()]), np.array([cn]))
        add(
            dept,
            "complaint_resolution",
            c["resolved"].sum() / cn if cn >= ctx.min_count else None,
            float(lo[0]) if cn else None,
            float(hi[0]) if cn else None,
        )
    key = rates[rates["customer_group"] == "key_account"]
    if len(key):
        k, n = key["churners"].sum(), key["base"].sum()
        lo, hi = wilson(np.array([k]), np.array([n]))
        add("company", "key_account_churn_rate", k / n if n else None, float(lo[0]), float(hi[0]))
    billed = float(arpu["billed"].sum())
    bill_compl = float(comp.loc[comp["topic"] == "billing", "n"].sum())
    add("support", "billing_accuracy", 1 - bill_compl / (3 * billed) if billed else None)
    add("support", "months_to_final", float(max(0, months_between(ctx.complete_through, m))), unit="months")
    return pd.DataFrame(rows)
