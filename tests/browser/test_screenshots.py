"""Screenshots of every dashboard page in zh-CN and en at 1440 px and 390 px, for anyone to look at
(``scripts/screenshots.sh`` runs just this): ``out/screenshots/pages/<lang>-<width>/<page>.png``.
Besides, the page of the risk list's first (scored) subscriber, the overview with a KPI card's
口径 open, the target lists, the subscriber search, the sign-in page and the administration pages. Each page loads without a console error and fits 1440 px; the overview, risk list and
subscriber pages also fit 390 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import SCREENSHOTS, dashboard_pages

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PHONE_PAGES = {"overview", "risk", "subscriber", "subscriber_scored"}


# pictures for people: ``slow`` (out of the default suite), run by scripts/screenshots.sh; every
# page's words in both languages, console errors and the phone width of the three field pages are
# checked by the language and phone-width tests
@pytest.mark.slow
@pytest.mark.parametrize(("lang", "width"), [("zh", 1440), ("en", 1440), ("zh", 390), ("en", 390)])
def test_screenshot_of_every_page(page, login, live_server, console_errors, lang, width):
    server = live_server
    page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
    out = SCREENSHOTS / "pages" / f"{lang}-{width}"
    out.mkdir(parents=True, exist_ok=True)
    if lang == "zh":  # the sign-in page, before signing in (it follows the browser's language)
        page.goto(server["url"] + "/login")
        page.screenshot(path=str(out / "login.png"), full_page=True)
    login("browser_analyst", lang)
    pages = [*dashboard_pages(server["world"]), ("targets", "/targets"), ("search", "/search")]
    _shoot(page, server, out, width, pages)
    page.context.clear_cookies()
    login("browser_admin", lang)
    _shoot(page, server, out, width, [(f"admin_{n}", f"/admin/{n}") for n in ADMIN_PAGES])
    assert console_errors == []


#: the administration pages (an administrator's)
ADMIN_PAGES = ("users", "tokens", "roles", "regions", "audit")


def _shoot(page, server, out, width, pages) -> None:
    for name, path in pages:
        resp = page.goto(server["url"] + path)
        assert resp is not None and resp.status == 200, (name, resp and resp.status)
        expect(page.locator("main h1").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        if width > 500 or name in PHONE_PAGES:  # wide tables scroll inside themselves
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, name
        shot = out / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5_000
        if name == "risk":  # the first subscriber of the list has a score: his page too
            pages.append(
                ("subscriber_scored", page.locator("#risk-table a.sub-link").first.get_attribute("href"))
            )
        if name == "overview":  # a KPI card's 口径, opened by its info button
            page.locator("#kpi-churn_rate_last_month button.info").click()
            expect(page.locator("#kpi-churn_rate_last_month .def")).to_be_visible()
            page.screenshot(path=str(out / "overview_definition.png"))
