"""The KPI and revenue reports print the metrics layer's figures and 口径: a month's 收保率 is the
same in `churnradar report revenue`, `churnradar report kpi` and `churnradar metrics`, whatever the
report's window."""

from __future__ import annotations

import math

import pytest

from churnradar.metrics import CATALOGUE, store_metrics
from churnradar.reports import ReportContext, build_report
from churnradar.reports import revenue as R

MONTHS = ("2025-01", "2025-03", "2025-06")


@pytest.fixture(scope="module")
def metrics(report_operator):
    return {m: store_metrics(report_operator.store, m).values for m in MONTHS}


@pytest.mark.parametrize("window", [2, 24])
@pytest.mark.parametrize("month", MONTHS)
def test_revenue_retention_is_the_metrics_layers_whatever_the_window(report_operator, metrics, month, window):
    with ReportContext.open(report_operator.store, month, window=window, dating="recorded") as ctx:
        row = R.stock_revenue_churn(ctx).set_index("month").loc[month]
        kpi = build_report(ctx, "kpi").sections[0].table
    want = metrics[month]
    assert row["revenue_retention"] == want["revenue_retention"]
    assert row["stock_revenue_churn_rate"] == want["stock_revenue_churn_rate"]
    assert row["customer_retention"] == pytest.approx(want["customer_retention"], abs=1e-12)
    company = kpi[kpi["department"] == "company"].set_index("kpi")["value"]
    assert company["stock_revenue_churn_rate"] == want["stock_revenue_churn_rate"]
    assert company["offnet_rate"] == want["offnet_rate"]


def test_revenue_retention_by_package_does_not_depend_on_the_window(report_operator):
    """The breakdowns have no metrics-layer value, but the same formula: the window must not cut the
    year-to-date revenue short (it did: a 2-month window summed only the window's months)."""
    got = {}
    for window in (2, 24):
        with ReportContext.open(report_operator.store, "2025-06", window=window) as ctx:
            df = R.stock_revenue_churn(ctx, by="package_id")
            got[window] = df[df["month"] == "2025-06"].set_index("package_id")["revenue_retention"]
    assert len(got[24]) > 3
    for pk, v in got[24].items():
        assert math.isclose(got[2][pk], v, rel_tol=1e-9), pk


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_kpi_and_revenue_sections_print_the_catalogues_definitions(report_operator, lang):
    with ReportContext.open(report_operator.store, "2025-06", lang=lang) as ctx:
        revenue = {s.key: s for s in build_report(ctx, "revenue").sections}
        kpi = {s.key: s for s in build_report(ctx, "kpi").sections}
    field = "definition_zh" if lang == "zh" else "definition_en"
    for sec, mid in (
        (revenue["stock"], "revenue_retention"),
        (revenue["stock"], "customer_retention"),
        (revenue["package_revenue"], "package_revenue_churn_rate"),
        (kpi["kpi"], "stock_revenue_churn_rate"),
        (kpi["offnet_recorded"], "offnet_rate"),
        (kpi["offnet_recorded"], "lines_start"),
    ):
        assert getattr(CATALOGUE[mid], field) in sec.definitions, (sec.key, mid)
    other = "definition_en" if lang == "zh" else "definition_zh"
    assert getattr(CATALOGUE["offnet_rate"], other) not in kpi["offnet_recorded"].definitions
