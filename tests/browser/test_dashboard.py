"""The dashboard in headless Chromium: log in, every main page, risk-list filter, subscriber page,
outcome recording, language switch; a screenshot of each page and no console errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _shot(page, screenshots, name):
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def test_dashboard_walkthrough_as_regional_manager(page, login, live_server, console_errors, screenshots):
    server, w = live_server, live_server["world"]
    page.goto(server["url"] + "/")
    expect(page).to_have_url(re.compile(r"/login"))  # a visitor is sent to the login page
    _shot(page, screenshots, "01_login")
    login("browser_rm")

    # overview (zh-CN by default) with its ECharts canvas
    expect(page.locator("h1")).to_have_text("总览")
    expect(page.locator("#trend-chart canvas")).to_have_count(1)
    _shot(page, screenshots, "02_overview")

    for path, name, selector in [
        ("/regions", "03_regions", "#region-table tbody tr"),
        (f"/regions?county={w.county_a}", "04_regions_grid", "#region-table tbody tr"),
        ("/reasons", "05_reasons", "#reason-chart canvas"),
        ("/packages", "06_packages", "#package-table tbody tr"),
        ("/campaigns", "07_campaigns", "#campaign-table tbody tr"),
        ("/forecast", "08_forecast", "main h1"),
        ("/reports", "09_reports", "main h1"),
        ("/model", "10_model", "main h1"),
    ]:
        page.goto(server["url"] + path)
        expect(page.locator(selector).first).to_be_visible()
        _shot(page, screenshots, name)

    # risk list, filtered to high risk through htmx
    page.goto(server["url"] + "/risk")
    total_before = page.locator("#risk-total").inner_text()
    page.select_option("select[name=risk]", "high")
    page.click("#risk-apply")
    expect(page.locator("#risk-total")).not_to_have_text(total_before)
    expect(page).to_have_url(re.compile(r"risk=high"))
    levels = page.locator("#risk-table tbody tr td.risk").all_inner_texts()
    assert levels and set(levels) == {"高"}
    _shot(page, screenshots, "11_risk_high")

    # open a subscriber from the list
    first = page.locator("#risk-table a.sub-link").first
    sid = first.inner_text()
    first.click()
    expect(page.locator("#sub-id")).to_have_text(sid)
    expect(page.locator("#history-chart canvas")).to_have_count(1)
    _shot(page, screenshots, "12_subscriber")

    # record an outcome on an operational campaign of the manager's county
    page.goto(server["url"] + f"/campaigns/{w.ops_campaign[w.county_a]}")
    cell = page.locator("td.outcome").filter(has=page.locator("button.accept")).first
    cell_id = cell.get_attribute("id")
    cell.locator("button.accept").click()
    expect(page.locator(f"#{cell_id}")).to_contain_text("已记录")
    _shot(page, screenshots, "13_campaign_outcome")
    page.reload()
    expect(page.locator(f"#{cell_id}")).to_contain_text("已记录")  # stored, not just drawn

    # switch to English and back
    page.click("#lang-toggle")
    expect(page.locator("header nav a").first).to_have_text("Overview")
    _shot(page, screenshots, "14_campaign_en")
    page.goto(server["url"] + "/")
    expect(page.locator("h1")).to_have_text("Overview")
    _shot(page, screenshots, "15_overview_en")
    page.click("#lang-toggle")
    expect(page.locator("h1")).to_have_text("总览")

    assert not console_errors, console_errors


def test_other_county_subscriber_page_is_not_found(page, login, live_server, console_errors):
    server, w = live_server, live_server["world"]
    login("browser_rm")
    response = page.goto(server["url"] + f"/subscribers/{w.subs[w.county_b][0]}")
    assert response.status == 404
    expect(page.locator("main")).not_to_contain_text(w.subs[w.county_b][1])


def test_analyst_sees_every_county_in_drill_down(page, analyst_page, live_server, console_errors):
    server, w = live_server, live_server["world"]
    page.goto(server["url"] + "/regions")
    text = page.locator("#region-table").inner_text()
    assert w.county_a in text and w.county_b in text
    assert not console_errors, console_errors
