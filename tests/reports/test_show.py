"""The issue's acceptance figures on simulated data: promotion churn found and traced, Spring-Festival
seasonality in migrant-heavy counties, forecast beats seasonal-naive, NPS drivers recovered."""

from __future__ import annotations

import duckdb
import numpy as np

from churnradar.periods import add_months, format_month
from churnradar.reports import seasonality as S
from churnradar.reports.builders import anomaly_summary


def _promo(store):
    con = duckdb.connect(str(store), read_only=True)
    try:
        pkg = con.sql("SELECT package_id FROM package WHERE is_promotion").fetchone()[0]
        launch = con.sql(
            "SELECT min(start_month) FROM promotion WHERE package_id = ? AND kind = 'acquisition_promotion'",
            params=[pkg],
        ).fetchone()[0]
        promos = {
            r[0]
            for r in con.sql(
                "SELECT promotion_id FROM promotion WHERE package_id = ?", params=[pkg]
            ).fetchall()
        }
    finally:
        con.close()
    return pkg, launch, promos


def test_anomaly_view_flags_promotion_package_at_tenure_3_to_9(ctx, report_operator):
    pkg, launch, _ = _promo(report_operator.store)
    summary = anomaly_summary(S.anomalies(ctx))
    top = summary.iloc[0]
    assert top["cell"] == pkg
    cell = summary[(summary["dimension"] == "package_id×tenure_band") & (summary["cell"] == f"{pkg} × 3-9")]
    assert len(cell) == 1
    # it appears when the first promotion cohort reaches tenure 3 and keeps being flagged
    assert format_month(add_months(launch, 2)) <= cell["onset"].iloc[0] <= format_month(add_months(launch, 5))
    assert cell["months_flagged"].iloc[0] >= 6
    # the promotion card churns far above its peers at tenure 3-9, not at 10-23
    other = summary[(summary["cell"] == f"{pkg} × 10-23")]
    assert other.empty or other["total_excess"].iloc[0] < 0.2 * cell["total_excess"].iloc[0]


def test_diagnosis_traces_promotion_churn_to_the_promotion_that_caused_it(built_reports, report_operator):
    pkg, _launch, promos = _promo(report_operator.store)
    rep = built_reports["diagnosis"]  # latest complete month
    excess = rep.section("excess").table
    assert excess.iloc[0]["cell"].startswith(pkg)
    trace = rep.section("trace").table
    assert promos <= set(trace["promotion_id"])  # the promotion and its raised commission
    assert any(c == "social" for c in trace["channel_type"].dropna())
    text = " ".join(rep.findings)
    assert all(p in text for p in promos)
    assert "入网促销引导的离网" in text  # promotion-induced, not seasonal migration
    plan = rep.section("plan").table
    assert len(plan) >= 1 and plan["expected_saves"].iloc[0] > 0 and plan["cost"].iloc[0] > 0
    assert len(rep.section("tracking").table) >= 5


def test_spring_festival_uplift_recurs_in_migrant_heavy_counties(ctx, report_operator):
    con = duckdb.connect(str(report_operator.store), read_only=True)
    shares = dict(
        con.sql(
            """SELECT r.county_id, avg((c.customer_group = 'migrant')::INT) FROM subscription s
               JOIN customer c USING (customer_id) JOIN region r USING (grid_id) GROUP BY 1"""
        ).fetchall()
    )
    con.close()
    heavy = {k for k, v in shares.items() if v > 0.3}
    assert len(heavy) == 2
    f = S.spring_festival_factors(ctx, "county_id")
    assert set(f["season"]) == {"2024", "2025"}
    in_heavy = f[f["county_id"].isin(heavy)]["factor"].mean()
    elsewhere = f[~f["county_id"].isin(heavy)]["factor"].mean()
    assert in_heavy > 1.15 and in_heavy > elsewhere + 0.1
    g = S.spring_festival_factors(ctx, "customer_group").set_index(["customer_group", "season"])
    for season in ("2024", "2025"):
        assert g.loc[("migrant", season), "factor"] > 1.2 and g.loc[("migrant", season), "z"] > 2.5
        assert abs(g.loc[("mass", season), "factor"] - 1) < 0.1


def test_second_spring_festival_is_expected_from_the_first(ctx):
    sc = S.score_cells(ctx, ["customer_group"])
    mig = sc[(sc["customer_group"] == "migrant") & (sc["month"].isin(["2025-01", "2025-02"]))]
    # the factor learnt from the 2024 festival raises the baseline, so the festival is not "abnormal"
    assert (mig["sf_factor"] > 1.1).all()
    assert not mig["flag_temporal"].any()


def test_forecast_beats_seasonal_naive_on_backtest_mape(built_reports):
    from churnradar.forecast import BASELINE

    res = built_reports["forecast"].data["result"]  # recorded churn per county, 6 months ahead
    s = res.summary()
    assert s["chosen_mape"] < s["seasonal_naive_mape"]
    bt = res.backtest.pivot_table(index="unique_id", columns="model", values="mape")
    assert bt.loc["ALL", [m for m in bt.columns if m != BASELINE]].min() < bt.loc["ALL", BASELINE]
    f = res.forecast
    assert set(f["unique_id"]) == set(res.chosen) and len(f) == 6 * len(res.chosen)
    assert (f["lo_95"] <= f["lo_80"] + 1e-9).all() and (f["lo_80"] <= f["forecast"] + 1e-9).all()
    assert (f["forecast"] <= f["hi_80"] + 1e-9).all() and (f["hi_80"] <= f["hi_95"] + 1e-9).all()


def test_nps_driver_ranking_recovers_simulator_driver_order(ctx):
    from churnradar.simulate.retention import NPS_IMPORTANCE_MEANS
    from churnradar.survey import nps_drivers, survey_frame

    df = survey_frame(ctx)
    assert len(df) > 4000
    drivers = nps_drivers(df)
    truth = sorted(NPS_IMPORTANCE_MEANS, key=NPS_IMPORTANCE_MEANS.get, reverse=True)
    assert list(drivers["factor_name"]) == truth
    assert np.all(np.diff(drivers["coef"]) < 0)


def test_diagnosis_of_a_festival_month_names_the_migrant_counties_and_keeps_the_promotion_apart(ctx):
    from churnradar.reports.diagnosis import diagnose

    rep = diagnose(ctx, "2025-01")
    text = " ".join(rep.findings)
    assert "春节季节性流动离网" in text and "南湾开发区" in text and "北港工业园区" in text
    assert "入网促销引导的离网" in text  # the promotion excess is still told apart
    status = rep.section("status").table.set_index("month")
    assert status.loc["2025-01", "status"] in ("seasonal", "normal")
