"""Filters on the risk list survive what an analyst does next (issue 18, items 3 and 11): the export
gives the rows on screen, and the language toggle keeps the filters."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _filter_medium(page, server) -> int:
    page.goto(server["url"] + "/risk")
    unfiltered = int(page.locator("#risk-total").get_attribute("data-total"))
    page.select_option("select[name=risk]", "medium")
    page.click("#risk-apply")
    expect(page).to_have_url(re.compile(r"risk=medium"))
    expect(page.locator("#risk-total")).not_to_have_attribute("data-total", str(unfiltered))
    total = int(page.locator("#risk-total").get_attribute("data-total"))
    assert 0 < total < unfiltered
    return total


def test_export_after_filtering_has_the_rows_on_screen(page, analyst_page, live_server, console_errors):
    total = _filter_medium(page, live_server)
    with page.expect_download() as dl:
        page.click("#risk-export-csv")
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == total
    assert {r["risk_level"] for r in rows} == {"medium"}
    # Chromium reports a navigation that turned into a download as an aborted request
    assert [e for e in console_errors if not e.startswith("requestfailed: ") or "/export.csv" not in e] == []


def test_language_toggle_keeps_the_filters(page, analyst_page, live_server, console_errors):
    total = _filter_medium(page, live_server)
    page.click("#lang-toggle")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/risk\?.*risk=medium"))
    expect(page.locator("select[name=risk]")).to_have_value("medium")
    expect(page.locator("#risk-total")).to_have_attribute("data-total", str(total))
    page.click("#lang-toggle")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(re.compile(r"risk=medium"))
    assert console_errors == []


def test_segment_and_value_are_drop_downs_with_names(page, analyst_page, live_server, console_errors):
    page.goto(live_server["url"] + "/risk")
    page.select_option("select[name=value]", "high")
    page.click("#risk-apply")
    expect(page).to_have_url(re.compile(r"value=high"))
    values = page.locator("#risk-table tbody tr td:nth-child(9)").all_inner_texts()
    assert values and all(v.startswith("高价值") for v in values), values[:3]
    label = page.locator("select[name=segment] option").nth(1).inner_text()
    page.select_option("select[name=segment]", label=label)
    page.click("#risk-apply")
    expect(page).to_have_url(re.compile(r"segment=[^&]+"))
    segs = page.locator("#risk-table tbody tr td:nth-child(10)").all_inner_texts()
    assert all(s == label for s in segs), (label, segs[:3])
    assert console_errors == []
