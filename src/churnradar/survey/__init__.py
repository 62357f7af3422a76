"""Survey analytics: churn index CCI, NPS by segment and NPS driver analysis,
linked to the churn that followed each answer.

- **CCI** (客户流失指数) per respondent, 0–100: the importance-weighted dissatisfaction over the five
  churn-decision factors, scaled by the availability of an alternative —
  ``CCI = 100 × Σ_f w_f × (10 − rating_f) / 9 × (0.5 + 0.5 × has_alternative)`` with
  ``w_f = importance_f / Σ importance``. A customer who is unhappy with what matters to them *and*
  sees a usable competitor scores high.
- **NPS** = % promoters (9–10) − % detractors (0–6), with a 95% interval
  (``1.96 × sqrt((p₊ + p₋ − (p₊ − p₋)²) / n)``).
- **Drivers**: least-squares regression of the 0–10 recommendation score on the five ratings. The
  *effect per rating point* (coefficient, with 95% interval) says which factor moves willingness to
  recommend; *relative importance* is each rating's Shapley share of R² (LMG). Factors are ranked by
  effect; the simulator's truth is the order of the mean stated importance it uses as NPS weights.
- **Link to churn**: off-net churn within ``follow_months`` after the answer, by CCI quintile and NPS
  category (only answers whose follow-up window is complete).
"""

from __future__ import annotations

from itertools import combinations
from math import factorial

import numpy as np
import pandas as pd

from churnradar.reports._stats import add_rate

FACTORS = ("data", "call", "price", "plan", "service")


def survey_frame(ctx, follow_months: int = 3) -> pd.DataFrame:
    """Responses up to the as-of month with segments, CCI, NPS category and churn after the answer."""
    import ibis

    from churnradar.periods import add_months, month_end_exclusive

    sv = ctx.table("survey_response")
    sv = sv.filter(sv.response_date < ibis.literal(month_end_exclusive(ctx.as_of).date()))
    ln = ctx.lines().select(
        "subscriber_id", "county_id", "customer_group", "payment_type", "brand", "channel_type", "package_id"
    )
    ch = ctx.churn().select("subscriber_id", "churn_month")
    df = ctx.run(sv.join(ln, "subscriber_id").left_join(ch, "subscriber_id"))
    df = df.drop(columns=[c for c in df.columns if c.endswith("_right")])
    if df.empty:
        return df
    r = df[[f"rating_{f}" for f in FACTORS]].to_numpy(dtype=float)
    imp = df[[f"importance_{f}" for f in FACTORS]].to_numpy(dtype=float)
    w = imp / imp.sum(axis=1, keepdims=True)
    dis = (10 - r) / 9
    df["cci"] = 100 * (w * dis).sum(axis=1) * (0.5 + 0.5 * df["has_alternative"].astype(float).to_numpy())
    df["category"] = np.select([df["nps"] >= 9, df["nps"] <= 6], ["promoter", "detractor"], "passive")
    rm = pd.to_datetime(df["response_date"]).dt.to_period("M").dt.to_timestamp()
    cm = pd.to_datetime(df["churn_month"])
    end = pd.to_datetime(rm) + pd.DateOffset(months=follow_months)
    df["churned_after"] = (cm > rm) & (cm <= end)
    complete = pd.Timestamp(ctx.complete_through)
    df["follow_complete"] = end <= complete
    del add_months
    return df


def nps_score(nps: pd.Series) -> tuple[float, float, float, int]:
    """NPS and its 95% interval (normal approximation) for 0–10 answers."""
    n = int(nps.notna().sum())
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    p = float((nps >= 9).mean())
    d = float((nps <= 6).mean())
    score = p - d
    se = np.sqrt(max(p + d - score**2, 0) / n)
    return 100 * score, 100 * (score - 1.96 * se), 100 * (score + 1.96 * se), n


def nps_by_segment(
    df: pd.DataFrame, dims=("customer_group", "county_id", "payment_type", "brand"), min_count: int = 5
) -> pd.DataFrame:
    """NPS with 95% interval per value of each segment dimension (small groups suppressed)."""
    rows = []
    for dim in dims:
        for value, g in df.groupby(dim):
            s, lo, hi, n = nps_score(g["nps"])
            small = n < min_count
            rows.append(
                {
                    "segment": dim,
                    "value": value,
                    "n": n,
                    "promoters": int((g["nps"] >= 9).sum()),
                    "detractors": int((g["nps"] <= 6).sum()),
                    "nps": np.nan if small else s,
                    "nps_lo": np.nan if small else lo,
                    "nps_hi": np.nan if small else hi,
                    "suppressed": small,
                }
            )
    return pd.DataFrame(rows)


def _r2(X: np.ndarray, y: np.ndarray) -> float:
    if X.shape[1] == 0:
        return 0.0
    A = np.column_stack([np.ones(len(y)), X])
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ beta
    return 1 - resid.var() / y.var()


def nps_drivers(df: pd.DataFrame) -> pd.DataFrame:
    """Effect per rating point (OLS, 95% interval), Shapley share of R² and stated importance per factor."""
    X = df[[f"rating_{f}" for f in FACTORS]].to_numpy(dtype=float)
    y = df["nps"].to_numpy(dtype=float)
    n, k = X.shape
    A = np.column_stack([np.ones(n), X])
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ beta
    sigma2 = resid @ resid / max(n - k - 1, 1)
    cov = sigma2 * np.linalg.pinv(A.T @ A)
    se = np.sqrt(np.diag(cov))[1:]
    # Shapley (LMG) decomposition of R²
    r2 = {}
    for size in range(k + 1):
        for S in combinations(range(k), size):
            r2[S] = _r2(X[:, list(S)], y)
    shap = np.zeros(k)
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for size in range(k):
            for S in combinations(others, size):
                wgt = factorial(size) * factorial(k - size - 1) / factorial(k)
                with_j = tuple(sorted((*S, j)))
                shap[j] += wgt * (r2[with_j] - r2[S])
    total = r2[tuple(range(k))]
    out = pd.DataFrame(
        {
            "factor_name": FACTORS,
            "coef": beta[1:],
            "coef_lo": beta[1:] - 1.96 * se,
            "coef_hi": beta[1:] + 1.96 * se,
            "importance": shap / total if total > 0 else np.nan,
            "stated_importance": [df[f"importance_{f}"].mean() for f in FACTORS],
            "mean_rating": [df[f"rating_{f}"].mean() for f in FACTORS],
        }
    )
    out["rank"] = out["coef"].rank(ascending=False).astype(int)
    out.attrs["r2"] = total
    out.attrs["n"] = n
    return out.sort_values("rank").reset_index(drop=True)


def churn_by_cci(df: pd.DataFrame, min_count: int = 5, bands: int = 5) -> pd.DataFrame:
    """Churn within the follow-up window by CCI quintile (answers with a complete window)."""
    d = df[df["follow_complete"]].copy()
    if len(d) < bands:
        return pd.DataFrame(columns=["cci_band", "n", "churners", "rate"])
    d["cci_band"] = pd.qcut(d["cci"], bands, labels=[f"Q{i + 1}" for i in range(bands)], duplicates="drop")
    g = (
        d.groupby("cci_band", observed=True)
        .agg(n=("cci", "size"), churners=("churned_after", "sum"), cci=("cci", "mean"))
        .reset_index()
    )
    g["cci_band"] = g["cci_band"].astype(str)
    return add_rate(g, "churners", "n", min_count=min_count)


def churn_by_category(df: pd.DataFrame, min_count: int = 5) -> pd.DataFrame:
    """Churn within the follow-up window by NPS category (promoter / passive / detractor)."""
    d = df[df["follow_complete"]]
    if "category" not in d.columns:
        d = d.assign(category=np.select([d["nps"] >= 9, d["nps"] <= 6], ["promoter", "detractor"], "passive"))
    g = (
        d.groupby("category")
        .agg(n=("nps", "size"), churners=("churned_after", "sum"))
        .reindex(["promoter", "passive", "detractor"])
        .dropna()
        .reset_index()
    )
    return add_rate(g, "churners", "n", min_count=min_count)


def report_survey(ctx):
    """The survey report: drivers, NPS by segment, CCI and NPS category against later churn."""
    from churnradar.i18n import t
    from churnradar.reports.churn import label_of
    from churnradar.reports.model import Chart, Report, Section

    lang = ctx.lang
    df = survey_frame(ctx)
    if df.empty:
        return Report(
            "survey",
            t("report.survey.title", lang),
            ctx.as_of,
            lang,
            [Section("empty", t("report.survey.title", lang), pd.DataFrame({"n": [0]}))],
            {},
        )
    drv = nps_drivers(df)
    drv["label"] = drv["factor_name"].map(lambda f: t(f"factor.{f}", lang))
    seg = nps_by_segment(df, min_count=ctx.min_count)
    seg["label"] = [label_of(ctx, s, v) for s, v in zip(seg["segment"], seg["value"], strict=False)]
    cci = churn_by_cci(df, ctx.min_count)
    cat = churn_by_category(df, ctx.min_count)
    cat["label"] = cat["category"].map(lambda c: t(f"nps.{c}", lang))
    grp = seg[seg["segment"] == "customer_group"]
    secs = [
        Section(
            "drivers",
            t("sec.drivers", lang),
            drv,
            Chart(
                "bar",
                t("chart.drivers", lang),
                drv,
                "label",
                ["coef", "importance"],
                series_names={"coef": t("col.coef", lang), "importance": t("col.importance", lang)},
            ),
            t("note.drivers", lang, r2=f"{drv.attrs['r2']:.2f}", n=drv.attrs["n"]),
        ),
        Section(
            "nps_segment",
            t("sec.nps_segment", lang),
            seg,
            Chart("bar", t("chart.nps_segment", lang), grp, "label", ["nps"], series_names={"nps": "NPS"}),
            t("note.nps", lang),
        ),
        Section(
            "cci",
            t("sec.cci", lang),
            cci,
            Chart(
                "bar",
                t("chart.cci", lang),
                cci,
                "cci_band",
                ["rate"],
                fmt="pct",
                series_names={"rate": t("col.rate", lang)},
            ),
            t("note.survey", lang),
        ),
        Section(
            "nps_churn",
            t("sec.nps_churn", lang),
            cat,
            Chart(
                "bar",
                t("chart.nps_churn", lang),
                cat,
                "label",
                ["rate"],
                fmt="pct",
                series_names={"rate": t("col.rate", lang)},
            ),
            t("note.nps_churn", lang),
        ),
    ]
    order = " > ".join(drv["label"])
    s, lo, hi, n = nps_score(df["nps"])
    findings = [
        t("finding.drivers", lang, order=order),
        t("finding.nps", lang, nps=f"{s:.1f}", lo=f"{lo:.1f}", hi=f"{hi:.1f}", n=n),
    ]
    return Report(
        "survey", t("report.survey.title", lang), ctx.as_of, lang, secs, {"responses": str(n)}, findings
    )


__all__ = [
    "FACTORS",
    "churn_by_category",
    "churn_by_cci",
    "nps_by_segment",
    "nps_drivers",
    "nps_score",
    "report_survey",
    "survey_frame",
]
