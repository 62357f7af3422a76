"""An analyst's moves around the lists (issue 18, item 11): a bar of the region chart drills down,
tables sort by a click on a header, the risk list offers a page size, and the subscriber page has a
link back to the list it came from (filters included)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _number(text: str) -> float | None:
    t = text.replace(",", "").replace("%", "").strip()
    return float(t) if t else None


def test_a_click_on_a_county_bar_opens_its_grids(page, analyst_page, live_server, console_errors):
    page.goto(live_server["url"] + "/regions")
    expect(page.locator("#region-chart canvas")).to_have_count(1)
    point = page.evaluate(
        """() => {
        const el = document.getElementById('region-chart');
        const chart = echarts.getInstanceByDom(el);
        const data = chart.getOption().series[0].data;
        const i = data.findIndex(v => v !== null && v > 0);
        const [x, y] = chart.convertToPixel({seriesIndex: 0}, [i, data[i]]);
        const r = el.getBoundingClientRect();
        return {i: i, x: r.left + x, y: r.top + y + 6, name: chart.getOption().xAxis[0].data[i]};
    }"""
    )
    page.mouse.click(point["x"], point["y"])
    expect(page).to_have_url(re.compile(r"/regions\?county=\w+"))
    expect(page.locator("h1")).to_contain_text(point["name"])  # the county's name, not its code
    assert console_errors == []


def test_package_table_sorts_by_a_clicked_header(page, analyst_page, live_server, console_errors):
    page.goto(live_server["url"] + "/packages")
    aligns = page.eval_on_selector_all(
        "#package-table td.n, #region-table td.n", "els => els.map(e => getComputedStyle(e).textAlign)"
    )
    assert aligns and set(aligns) == {"right"}  # numbers right-aligned
    header = page.locator("#package-table thead th").nth(3)  # churn rate
    header.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    values = [_number(t) for t in page.locator("#package-table tbody tr td:nth-child(4)").all_inner_texts()]
    shown = [v for v in values if v is not None]
    assert len(shown) > 3 and shown == sorted(shown, reverse=True)
    header.click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    values = [_number(t) for t in page.locator("#package-table tbody tr td:nth-child(4)").all_inner_texts()]
    shown = [v for v in values if v is not None]
    assert shown == sorted(shown)
    assert console_errors == []


def test_page_size_and_back_link_keep_the_filters(page, analyst_page, live_server, console_errors):
    page.goto(live_server["url"] + "/risk")
    page.select_option("select[name=risk]", "medium")
    page.select_option("select[name=size]", "50")
    page.click("#risk-apply")
    expect(page).to_have_url(re.compile(r"size=50"))
    expect(page.locator("#risk-table tbody tr")).to_have_count(50)
    page.locator(".pager a").last.click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page).to_have_url(re.compile(r"size=50"))
    first = page.locator("#risk-table a.sub-link").first
    sid = first.inner_text()
    first.click()
    expect(page.locator("#sub-id")).to_have_text(sid)
    page.click("#back-link")
    expect(page).to_have_url(re.compile(r"/risk\?.*risk=medium"))
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("header.top nav")).to_be_visible()
    expect(page.locator("#risk-table a.sub-link").first).to_have_text(sid)
    assert console_errors == []


def test_a_page_number_jumps_there_keeping_filters_sort_and_size(
    page, analyst_page, live_server, console_errors
):
    page.goto(live_server["url"] + "/risk?risk=medium&size=50&sort=subscriber")
    total = int(page.locator("#risk-total").get_attribute("data-total"))
    pages = -(-total // 50)
    assert pages >= 3
    expect(page.locator("#risk-page-of")).to_have_text(f"第 1 / {pages} 页")
    first_of_last = page.request.get(
        live_server["url"] + "/api/risk",
        params={"risk": "medium", "sort": "subscriber", "page": pages, "page_size": 50},
    ).json()["items"][0]["subscriber_id"]
    box = page.locator("#risk-page-jump input[name=page]")
    box.fill(str(pages))
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"page={pages}(&|$)"))
    for kept in ("risk=medium", "size=50", "sort=subscriber"):
        expect(page).to_have_url(re.compile(kept))
    expect(page.locator("#risk-page-of")).to_have_text(f"第 {pages} / {pages} 页")
    expect(page.locator("#risk-table a.sub-link").first).to_have_text(first_of_last)
    expect(page.locator("header.top nav")).to_be_visible()
    assert console_errors == []
