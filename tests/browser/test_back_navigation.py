"""Back after filtering or paging the risk list shows the full page, never the bare htmx fragment.

The filtered list and the full page share a URL (``/risk?risk=high``): htmx fetches the fragment
with ``HX-Request`` and pushes the URL; a later Back must not get that fragment from the browser's
cache (issue 18, item 2).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _full_risk_page(page) -> None:
    """The risk page with its navigation, filter bar and table, not a bare fragment."""
    expect(page.locator("header.top nav")).to_be_visible()
    expect(page.locator("link[rel=stylesheet]")).to_have_count(1)
    expect(page.locator("#risk-filters")).to_be_visible()
    expect(page.locator("#risk-table")).to_be_visible()


def test_back_after_filter_and_paging_shows_the_full_risk_page(
    page, analyst_page, live_server, console_errors
):
    server = live_server
    page.goto(server["url"] + "/risk")
    _full_risk_page(page)

    # filter through htmx: the URL changes, only the results are swapped
    total_before = page.locator("#risk-total").inner_text()
    page.select_option("select[name=risk]", "medium")
    page.click("#risk-apply")
    expect(page).to_have_url(re.compile(r"risk=medium"))
    expect(page.locator("#risk-total")).not_to_have_text(total_before)
    filtered_total = page.locator("#risk-total").inner_text()

    # open a subscriber, then Back
    first = page.locator("#risk-table a.sub-link").first
    sid = first.inner_text()
    first.click()
    expect(page.locator("#sub-id")).to_have_text(sid)
    page.go_back()
    expect(page).to_have_url(re.compile(r"risk=medium"))
    _full_risk_page(page)
    expect(page.locator("#risk-total")).to_have_text(filtered_total)
    expect(page.locator("select[name=risk]")).to_have_value("medium")

    # page through htmx, open a subscriber, Back again
    page.locator(".pager a").last.click()
    expect(page).to_have_url(re.compile(r"page=2"))
    second = page.locator("#risk-table a.sub-link").first
    sid2 = second.inner_text()
    second.click()
    expect(page.locator("#sub-id")).to_have_text(sid2)
    page.go_back()
    expect(page).to_have_url(re.compile(r"page=2"))
    _full_risk_page(page)
    expect(page.locator("#risk-table a.sub-link").first).to_have_text(sid2)
    assert console_errors == []
