"""Report builders: denominators, kinds, suppression, intervals, revenue formulas, survival, competitors."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from churnradar.errors import ChurnRadarError, ConfigError
from churnradar.reports import ReportContext, UnknownReportError, build_report
from churnradar.reports import churn as C
from churnradar.reports import competitor as K
from churnradar.reports import kpi as P
from churnradar.reports import revenue as R
from churnradar.reports import survival as V
from churnradar.reports._stats import add_rate, wilson


def test_wilson_interval_matches_reference_values():
    lo, hi = wilson(np.array([5, 0]), np.array([100, 50]))
    assert lo[0] == pytest.approx(0.02154, abs=1e-4) and hi[0] == pytest.approx(0.11175, abs=1e-4)
    assert lo[1] == 0 and hi[1] == pytest.approx(0.07135, abs=1e-4)


def test_churn_rate_divides_by_lines_open_at_the_end_of_the_previous_month(ctx, report_operator):
    rate = C.churn_rate(ctx).set_index("month")
    con = duckdb.connect(str(report_operator.store), read_only=True)
    (base,) = con.sql(
        """SELECT count(*) FROM subscription s WHERE activation_date < DATE '2024-09-01'
           AND NOT EXISTS (SELECT 1 FROM status_event e WHERE e.subscriber_id = s.subscriber_id
                           AND e.event_type IN ('deregister', 'port_out') AND e.event_time < TIMESTAMP '2024-09-01')"""
    ).fetchone()
    con.close()
    assert rate.loc["2024-09", "base"] == base
    r = rate.loc["2024-09"]
    assert r["rate"] == pytest.approx(r["churners"] / base)
    assert r["rate_lo"] < r["rate"] < r["rate_hi"]


def test_reselection_is_listed_but_not_counted_as_offnet_churn(ctx):
    tot = C.churn_totals(ctx)
    rate = C.churn_rate(ctx).set_index("month")
    month = "2024-10"
    t = tot[tot["month"] == month].set_index("kind")
    assert t.loc["offnet", "lines"] + t.loc["port_out", "lines"] == rate.loc[month, "churners"]
    assert not t.loc["number_reselection", "is_loss"] and not t.loc["tariff_reselection", "is_loss"]
    assert (tot["accounts"].fillna(0) <= tot["lines"].fillna(0)).all()


def test_cells_below_the_minimum_count_are_suppressed():
    import pandas as pd

    df = add_rate(pd.DataFrame({"k": [0, 3, 7, 2], "n": [100, 100, 100, 4]}), "k", "n", min_count=5)
    assert list(df["suppressed"]) == [False, True, False, True]
    assert df["rate"].isna().tolist() == [False, True, False, True]
    assert df["k"].isna().tolist() == [False, True, False, True]


def test_grid_breakdown_nests_in_counties_and_suppresses_small_cells(ctx):
    grid = C.churn_rate(ctx, ["county_id", "grid_id"])
    county = C.churn_rate(ctx, ["county_id"])
    g = grid.groupby(["county_id", "month"])["base"].sum()
    c = county.set_index(["county_id", "month"])["base"]
    assert (g == c.loc[g.index]).all()
    small = grid[grid["suppressed"]]
    assert small["rate"].isna().all()


def test_stock_revenue_retention_follows_the_snapshot_formulas(ctx, report_operator):
    src = R.stock_revenue_churn(ctx).set_index("month")
    row = src.loc["2025-03"]
    assert row["snapshot"] == "2024-12"
    con = duckdb.connect(str(report_operator.store), read_only=True)
    (lines0, rev0, billed, ytd) = con.sql(
        """WITH snap AS (SELECT subscriber_id, revenue FROM billing_monthly WHERE month = DATE '2024-12-01' AND revenue > 0)
           SELECT (SELECT count(*) FROM snap), (SELECT sum(revenue) FROM snap),
                  (SELECT count(*) FROM billing_monthly b JOIN snap USING (subscriber_id)
                   WHERE b.month = DATE '2025-03-01' AND b.revenue > 0),
                  (SELECT sum(b.revenue) FROM billing_monthly b JOIN snap USING (subscriber_id)
                   WHERE b.month BETWEEN DATE '2025-01-01' AND DATE '2025-03-01')"""
    ).fetchone()
    con.close()
    assert row["customer_retention"] == pytest.approx(billed / lines0)
    assert row["revenue_retention"] == pytest.approx((ytd / 3 * 12) / (rev0 * 12))
    assert row["stock_revenue_churn_rate"] == pytest.approx(1 - row["revenue_retention"])


def test_product_matrix_puts_the_promotion_card_in_a_low_retention_quadrant(ctx):
    pm = R.product_matrix(ctx)
    assert pm["revenue_share"].sum() == pytest.approx(1)
    promo = pm[pm["package_id"] == "PK13"].iloc[0]
    assert promo["customer_retention"] < promo["retention_threshold"]
    assert promo["quadrant"] in ("fix", "protect")


def test_package_revenue_churn_is_month_over_month_change_of_last_months_customers(ctx):
    prc = R.package_revenue_churn(ctx)
    r = prc[(prc["package_id"] == "PK08") & (prc["month"] == "2024-10")].iloc[0]
    assert r["revenue_churn_rate"] == pytest.approx(
        (r["revenue_this"] - r["revenue_last"]) / r["revenue_last"]
    )
    assert r["revenue_churn_rate"] < 0.5


def test_promotion_card_has_the_worst_retention_curve_and_logrank_rejects_equality(ctx):
    km = V.retention_curves(ctx, "package_group")
    at9 = km[km["tenure_month"] == 9].set_index("value")["retention"]
    assert at9["promotion"] < at9["prepaid"] < at9["postpaid"] + 0.02
    lr = V.logrank(ctx).set_index("segment")
    assert lr.loc["package_group", "p_value"] < 1e-6


def test_department_kpi_sheet_has_every_department_and_the_bi_offnet_rate(ctx):
    k = P.department_kpis(ctx)
    assert set(k["department"]) == {"company", "key_account", "business", "mass", "support"}
    rec = P.recorded_offnet(ctx).set_index("month")
    off = k[k["kpi"] == "offnet_rate"]["value"].iloc[0]
    assert off == pytest.approx(rec.loc["2025-06", "deregistrations"] / rec.loc["2025-06", "base"])
    churn = k[k["kpi"] == "churn_rate"].set_index("department")["value"]
    assert churn["key_account"] < churn["mass"]


def test_competitor_push_shows_as_a_rising_call_share_in_the_pushed_county(ctx):
    tr = K.competitor_traffic(ctx)
    assert {"HX", "LY", "XW"} <= set(tr["competitor_id"])
    sig = K.push_signals(tr)
    # SimConfig.competitor_pushes: XW (index 2) in YC01 (index 0) in months 8-10 (2024-09..11), ramping
    # up two months before; its share keeps the gain afterwards
    top = sig.iloc[0]
    assert (top["competitor_id"], top["county_id"]) == ("XW", "YC01")
    assert "2024-09" <= top["first_month"] <= "2025-02" and top["months"] >= 2


def test_unknown_report_and_out_of_range_months_are_rejected_with_allowed_values(ctx, report_operator):
    with pytest.raises(UnknownReportError, match="expected one of churn, geography"):
        build_report(ctx, "churn_totals")
    with pytest.raises(ConfigError, match="expected a month from 2024-01 to 2025-06"):
        ReportContext.open(report_operator.store, "2023-05")
    with pytest.raises(ConfigError, match="expected one of YC01"):
        ReportContext.open(report_operator.store, region="YC99")


def test_missing_echarts_asset_says_how_to_install_it(monkeypatch, tmp_path):
    from churnradar.reports import html

    html.echarts_source.cache_clear()
    monkeypatch.setattr(html, "VENDOR", tmp_path / "missing.js")
    try:
        with pytest.raises(ChurnRadarError, match=r"bash scripts/install_assets.sh"):
            html.echarts_source()
    finally:
        html.echarts_source.cache_clear()


def test_churn_events_are_kept_in_the_store_until_new_data_arrives(report_operator, tmp_path):
    import shutil

    import duckdb

    from churnradar.labels import churn_events, label_store
    from churnradar.labels.definitions import get_definition

    store = tmp_path / "copy.duckdb"
    shutil.copy(report_operator.store, store)
    con = duckdb.connect(str(store))
    con.execute("DROP TABLE IF EXISTS churn_event")
    con.close()
    with ReportContext.open(store) as c:
        fresh = c.run(c.events())
        assert c._pending_cache is not None  # computed, to be kept on close
        expected = c.run(churn_events(c.bk, get_definition("offnet")))
    con = duckdb.connect(str(store), read_only=True)
    (versions,) = con.sql("SELECT count(DISTINCT data_version) FROM churn_event").fetchone()
    con.close()
    assert versions == 1
    with ReportContext.open(store) as c:
        cached = c.run(c.events())
        assert c._pending_cache is None  # read back, not recomputed
    key = ["subscriber_id", "kind", "event_month"]
    for df in (fresh, cached):
        assert len(df) == len(expected) > 0
        assert (
            df.sort_values(key)
            .reset_index(drop=True)
            .equals(expected.sort_values(key).reset_index(drop=True)[list(df.columns)])
        )
    # a new ingest batch changes the data version: the stored events are not used
    con = duckdb.connect(str(store))
    con.execute("UPDATE _batch SET batch_id = batch_id || '-x'")
    con.close()
    with ReportContext.open(store) as c:
        c.events()
        assert c._pending_cache is not None
    # labelling keeps them too, and reads them back on the next month
    con = duckdb.connect(str(store))
    con.execute("DROP TABLE churn_event")
    con.close()
    first = label_store(store, "2025-01")
    con = duckdb.connect(str(store), read_only=True)
    (n,) = con.sql("SELECT count(*) FROM churn_event WHERE definition = 'offnet'").fetchone()
    con.close()
    assert n == len(expected)
    again = label_store(store, "2025-01")

    def ordered(t):
        return t.to_pandas().sort_values("subscriber_id").reset_index(drop=True)

    assert ordered(first.labels).equals(ordered(again.labels))
