"""Pages that htmx may fetch as a fragment under the same URL say so to caches (issue 18, item 2).

Every HTML page answers with ``Vary: HX-Request``; the fragment answer is ``no-store``; a history
restore request from htmx (Back with an empty history cache) gets the whole page.
"""

from __future__ import annotations

import pytest

#: reads the analytical store only: run on SQLite alone (login and the operational store are
#: covered on PostgreSQL by test_access, test_security, test_outcomes and the others)
OPS_STORE = False

PAGES = ["/", "/regions", "/reasons", "/packages", "/risk", "/risk?risk=high&page=2", "/campaigns", "/model"]


def _vary(r) -> set[str]:
    return {w.strip().lower() for w in r.headers.get("vary", "").split(",") if w.strip()}


@pytest.fixture(scope="module")
def analyst(api):
    return api.login("analyst")


@pytest.mark.parametrize("path", PAGES)
def test_every_html_page_varies_on_hx_request(analyst, path):
    r = analyst.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<header" in r.text
    assert "hx-request" in _vary(r)


def test_subscriber_page_varies_on_hx_request(analyst, api):
    sid = api.world.subs[api.world.county_a][0]
    r = analyst.get(f"/subscribers/{sid}")
    assert r.status_code == 200 and "hx-request" in _vary(r)


def test_risk_fragment_is_bare_not_stored_and_marked_as_varying(analyst):
    full = analyst.get("/risk", params={"risk": "high"})
    frag = analyst.get("/risk", params={"risk": "high"}, headers={"HX-Request": "true"})
    assert "<html" in full.text and 'id="risk-filters"' in full.text
    assert "<html" not in frag.text and "<header" not in frag.text and 'id="risk-table"' in frag.text
    assert "hx-request" in _vary(frag) and "hx-request" in _vary(full)
    assert "no-store" in frag.headers["cache-control"]
    assert "no-store" not in full.headers.get("cache-control", "")


def test_htmx_history_restore_gets_the_whole_page(analyst):
    r = analyst.get(
        "/risk",
        params={"risk": "high", "page": 2},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in r.text and "<header" in r.text and 'id="risk-filters"' in r.text
    assert "hx-request" in _vary(r)


def test_json_api_is_not_marked_as_a_fragment_page(api):
    r = api.client("analyst").get("/api/risk")
    assert r.headers["cache-control"] == "no-store"
    assert "hx-request" not in _vary(r)
