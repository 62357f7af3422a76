"""Browser tests: the dashboard served by uvicorn on 127.0.0.1, driven by Debian's Chromium through
Playwright (never `playwright install`). Screenshots go to ``out/screenshots/`` (git-ignored)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests._serving import serving
from tests.api import conftest as api_fixtures

api_world = api_fixtures.api_world  # the scored store with per-county campaigns (session fixture)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"


def _chromium() -> str | None:
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_args):
    exe = _chromium()
    if exe is None:
        pytest.skip("Debian chromium is not installed (apt-get install chromium; scripts/test.sh does it)")
    return {
        **browser_type_launch_args,
        "executable_path": exe,
        "args": chromium_args,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}, "locale": "zh-CN"}


@pytest.fixture(scope="session")
def live_server(api_world, tmp_path_factory):
    """The app on a SQLite operational store, served by uvicorn in a thread on a free loopback port."""

    from churnradar.api import auth, create_app

    PASSWORD, _seed_ops_campaigns = api_fixtures.PASSWORD, api_fixtures._seed_ops_campaigns

    url = f"sqlite:///{tmp_path_factory.mktemp('browser_ops') / 'ops.sqlite'}"
    _seed_ops_campaigns(api_world, url)
    app = create_app(api_world.store, url)
    auth.add_user(app.state.engine, "browser_rm", PASSWORD, "regional_manager", [api_world.county_a])
    auth.add_user(app.state.engine, "browser_analyst", PASSWORD, "analyst")
    auth.add_user(app.state.engine, "browser_admin", PASSWORD, "admin")
    with serving(app) as base:
        yield {"url": base, "world": api_world, "password": PASSWORD}


@pytest.fixture
def console_errors(page):
    """Console errors and uncaught page errors seen during the test (must stay empty)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "response",
        lambda r: (
            errors.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    page.on(
        "requestfailed",
        lambda req: errors.append(f"requestfailed: {req.url}") if "127.0.0.1" in req.url else None,
    )
    return errors


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def dashboard_pages(world) -> list[tuple[str, str]]:
    """(name, path) of every dashboard page a signed-in user reads, with a real county, subscriber
    and campaign of ``world``."""
    return [
        ("overview", "/"),
        ("regions", "/regions"),
        ("regions_county", f"/regions?county={world.county_a}"),
        ("reasons", "/reasons"),
        ("packages", "/packages"),
        ("risk", "/risk"),
        ("subscriber", f"/subscribers/{world.subs[world.county_a][0]}"),
        ("campaigns", "/campaigns"),
        ("campaign", f"/campaigns/{world.ops_campaign[world.county_a]}"),
        ("forecast", "/forecast"),
        ("reports", "/reports"),
        ("model", "/model"),
    ]


@pytest.fixture
def login(page, live_server):
    """``login(user, lang=None)``: sign ``user`` in through the form (and switch to ``lang``, ``"zh"``
    or ``"en"``, when given); the page then shows the dashboard's header."""

    def sign_in(user: str, lang: str | None = None):
        page.goto(live_server["url"] + "/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", live_server["password"])
        page.click("button[type=submit]")
        expect(page.locator("header.top")).to_be_visible()
        if lang is not None:
            page.goto(live_server["url"] + f"/lang/{lang}?next=/")
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
        return page

    return sign_in


@pytest.fixture
def analyst_page(login):
    """The page, signed in as an analyst (every region), in zh-CN."""
    return login("browser_analyst")
