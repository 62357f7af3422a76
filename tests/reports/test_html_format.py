"""Numbers and orders in the HTML reports read like a report (issue 18, item 10): every rate as a
percentage (收保率 beside its interval), counts with thousands separators, heat-map tenures in
numeric order, names before codes, no repeated header."""

from __future__ import annotations

import re

from churnradar.i18n import t
from churnradar.reports.html import chart_option, table_html


def _column(head, rows, header):
    j = head.index(header)
    return [r[j] for r in rows]


def test_every_rate_is_a_percentage_including_retention(built_reports):
    head, rows, _ = table_html(built_reports["revenue"].section("stock").table, "zh")
    for key in ("revenue_retention", "customer_retention", "stock_revenue_churn_rate"):
        cells = [c for c in _column(head, rows, t(f"col.{key}", "zh")) if c != "—"]
        assert cells and all(re.fullmatch(r"-?\d+\.\d{2}%", c) for c in cells), (key, cells[:3])


def test_counts_have_thousands_separators(built_reports):
    head, rows, _ = table_html(built_reports["churn"].section("rate").table, "zh")
    base = _column(head, rows, t("col.base", "zh"))
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})+", c) for c in base), base[:3]  # ≥ 1,000 lines a month


def test_heat_map_tenures_and_bands_are_in_numeric_order(built_reports):
    cohort = built_reports["cohort"]
    opt = chart_option(cohort.section("cohort_tenure").chart, "zh")
    tenures = [int(x) for x in opt["xAxis"]["data"]]
    assert tenures == sorted(tenures) and len(tenures) > 10
    bands = chart_option(cohort.section("package_tenure").chart, "zh")["xAxis"]["data"]
    lows = [int(b.split("-")[0].rstrip("+")) for b in bands]
    assert lows == sorted(lows) and len(lows) >= 3


def test_tables_show_names_before_codes_without_repeated_headers(built_reports):
    for name, rep in built_reports.items():
        for s in rep.sections:
            head, _, _ = table_html(s.table, rep.lang)
            assert len(head) == len(set(head)), (name, s.key, head)
    head, rows, _ = table_html(built_reports["churn"].section("package").table, "zh")
    name, code = t("col.package_id", "zh"), t("col.package_id", "zh") + "编码"
    assert head.index(name) < head.index(code)
    assert all(c.startswith("PK") for c in _column(head, rows, code))
    assert not any(c.startswith("PK") for c in _column(head, rows, name))
