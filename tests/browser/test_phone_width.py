"""The overview, risk list and subscriber page are usable on a phone (390 px wide, issue 18): the page
never scrolls sideways (wide tables scroll inside themselves), navigation and filters stay reachable."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WIDTH = 390


def _overflow(page) -> int:
    """How many CSS pixels the page is wider than the window."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_three_pages_have_no_horizontal_scroll_at_390_px(
    page, login, live_server, console_errors, screenshots, lang
):
    server, w = live_server, live_server["world"]
    page.set_viewport_size({"width": WIDTH, "height": 844})
    login("browser_analyst", lang)
    sid = w.subs[w.county_a][0]
    for path, selector in [
        ("/", "#trend-chart canvas"),
        ("/risk", "#risk-table"),
        (f"/subscribers/{sid}", "#sub-id"),
    ]:
        page.goto(server["url"] + path)
        expect(page.locator(selector).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert _overflow(page) <= 0, (lang, path, _overflow(page))
        expect(page.locator("header.top nav a").first).to_be_in_viewport()
        page.screenshot(
            path=str(screenshots / f"phone_{lang}{path.replace('/', '_') or '_'}.png"), full_page=True
        )
    # the risk filters and a subscriber link are reachable without sideways scrolling
    page.goto(server["url"] + "/risk")
    box = page.locator("#risk-apply").bounding_box()
    assert box and box["x"] + box["width"] <= WIDTH
    link = page.locator("#risk-table a.sub-link").first.bounding_box()
    assert link and link["x"] >= 0 and link["x"] + link["width"] <= WIDTH
    assert console_errors == []
