"""Department KPI sheet (DOMAIN.md section 7, formulas from CALIBRATION.md "KPI formulas").

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
from churnradar.schema import enums as E

DEPARTMENTS = {
    "key_account": ("key_account",),
    "business": ("business",),
    "mass": ("mass", "migrant"),
}


def recorded_offnet(ctx: ReportContext) -> pd.DataFrame:
    """销户数 and 携出数 by recorded month (re-selection closures excluded), with 上月末在网数 and 离网率."""
    ev = ctx.table("status_event")
    ends = ev.filter(ev.event_type.isin(E.END_EVENTS))
    ends = ends.mutate(month=ends.event_time.cast("date").truncate("M"))
    e = ctx.events()
    resel = e.filter(e.kind.isin(("number_reselection", "tariff_reselection"))).select("subscriber_id")
    ends = ends.anti_join(resel, "subscriber_id")
    df = ctx.run(ends.group_by(["month", "event_type"]).agg(n=ends.subscriber_id.nunique()))
    df["month"] = df["month"].map(lambda d: format_month(pd.Timestamp(d).date()))
    wide = df.pivot_table(index="month", columns="event_type", values="n", aggfunc="sum").fillna(0)
    base = ctx.stock([]).set_index("month")["base"]
    out = pd.DataFrame({"month": [format_month(m) for m in ctx.months]})
    out["base"] = out["month"].map(base).fillna(0).astype(int)
    out["deregistrations"] = (
        out["month"].map(wide.get("deregister", pd.Series(dtype=float))).fillna(0).astype(int)
    )
    out["port_outs"] = out["month"].map(wide.get("port_out", pd.Series(dtype=float))).fillna(0).astype(int)
    out["offnet_rate"] = np.where(out["base"] > 0, out["deregistrations"] / out["base"], np.nan)
    lo, hi = wilson(out["deregistrations"], out["base"])
    out["offnet_rate_lo"], out["offnet_rate_hi"] = lo, hi
    out["port_out_rate"] = np.where(out["base"] > 0, out["port_outs"] / out["base"], np.nan)
    return out


def department_kpis(ctx: ReportContext) -> pd.DataFrame:
    """One row per (department, KPI) for the as-of month: value, interval where it is a rate, definition."""
    from churnradar.reports.revenue import stock_revenue_churn

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
    src = stock_revenue_churn(ctx)
    s = src[src["month"] == format_month(m)]
    if len(s):
        add("company", "stock_revenue_churn_rate", float(s["stock_revenue_churn_rate"].iloc[0]))
        add(
            "company",
            "customer_retention",
            float(s["customer_retention"].iloc[0]),
            float(s["customer_retention_lo"].iloc[0]),
            float(s["customer_retention_hi"].iloc[0]),
        )

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
