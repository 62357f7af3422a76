"""Authentication on every route and region scoping across all of them (routes enumerated from the app)."""

from __future__ import annotations

import re

import pytest
from tests.api._routes import all_calls, body_for, fill, protected_calls

SUB_ID = re.compile(r"U\d{9}")


def test_health_needs_no_login(api):
    r = api.client().get("/api/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_every_route_requires_authentication(api):
    calls = protected_calls(api.app)
    assert len(calls) >= 25, [str(c) for c in calls]  # the enumeration found the app's routes
    w = api.world
    values = {
        "subscriber_id": w.subs[w.county_a][0],
        "campaign_id": w.ops_campaign[w.county_a],
        "contact_id": w.ops_contacts[w.county_a][1],
        "county": w.county_a,
        "code": "en",
        "name": "churn",
    }
    anonymous = api.client()
    for call in calls:
        url = fill(call.template, values)
        r = anonymous.request(call.method, url, follow_redirects=False, **body_for(call))
        if call.is_api or call.method != "GET":
            assert r.status_code == 401, f"{call}: {r.status_code} {r.text[:200]}"
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), (
                f"{call}: {r.status_code}"
            )


def test_invalid_api_token_is_refused(api):
    c = api.client()
    c.headers["Authorization"] = "Bearer cr_000000000000_notavalidtokennotavalidtoken"
    assert c.get("/api/me").status_code == 401


def _leaked_subscribers(text: str, forbidden: set[str]) -> set[str]:
    return set(SUB_ID.findall(text)) & forbidden


@pytest.mark.parametrize("campaign_kind", ["operational", "history"])
def test_regional_manager_cannot_read_other_county(api, campaign_kind):
    """rm_a (county A) gets 403/404 for every object of county B on every route, and no list leaks B."""
    w = api.world
    b = w.county_b
    forbidden_subs = set(w.subs[b])
    forbidden_campaigns = {w.ops_campaign[b], w.hist_campaign[b]}
    if campaign_kind == "operational":
        campaign, contact = w.ops_campaign[b], w.ops_contacts[b][1]
    else:
        campaign, contact = w.hist_campaign[b], w.hist_contacts[b][1]
    values = {
        "subscriber_id": w.subs[b][0],
        "campaign_id": campaign,
        "contact_id": contact,
        "county": b,
        "code": "en",
        "name": "churn",
    }
    checked = 0
    for client_kind in ("token", "session"):
        client = api.client("rm_a") if client_kind == "token" else api.login("rm_a")
        headers = {"X-CSRF-Token": client.csrf} if client_kind == "session" else {}
        for call in all_calls(api.app):
            if call.template in ("/logout", "/login"):
                continue
            url = fill(call.template, values)
            params = {"region": b, "county": b} if call.method == "GET" else None
            r = client.request(
                call.method, url, params=params, headers=headers, follow_redirects=False, **body_for(call)
            )
            where = f"{client_kind} {call} -> {r.status_code}"
            assert r.status_code < 500, where
            object_params = set(call.params) - {"code"}
            if object_params:
                assert r.status_code in (403, 404), f"{where}: {r.text[:300]}"
            # an error may echo the id the caller sent; anything else of county B is a leak
            leaked = _leaked_subscribers(r.text, forbidden_subs - {values["subscriber_id"]})
            assert not leaked, f"{where} leaked {sorted(leaked)[:5]}"
            body = r.text.replace(url, "")
            for cid in forbidden_campaigns - ({campaign} if "campaign_id" in call.params else set()):
                assert cid not in body, f"{where} leaked campaign {cid} of {b}"
            checked += 1
    assert checked >= 50


def test_regional_manager_reads_own_county(api):
    w = api.world
    c = api.client("rm_a")
    sid = w.subs[w.county_a][0]
    r = c.get(f"/api/subscribers/{sid}")
    assert r.status_code == 200
    assert r.json()["profile"]["county_id"] == w.county_a
    ids = {x["campaign_id"] for x in c.get("/api/campaigns").json()}
    assert w.ops_campaign[w.county_a] in ids and w.hist_campaign[w.county_a] in ids
    assert w.ops_campaign[w.county_b] not in ids


def _all_risk_ids(client, **params) -> set[str]:
    seen: set[str] = set()
    page = 1
    while True:
        r = client.get("/api/risk", params={**params, "page": page, "page_size": 200}).json()
        seen |= {i["subscriber_id"] for i in r["items"]}
        if page * 200 >= r["total"]:
            return seen
        page += 1


def test_risk_list_only_holds_own_county(api):
    w = api.world
    seen = _all_risk_ids(api.client("rm_a"))
    assert seen and seen <= set(w.subs[w.county_a])
    assert seen == _all_risk_ids(api.client("analyst"), region=w.county_a)


def test_agent_sees_only_own_grid(api):
    w = api.world
    c = api.client("agent_a")
    items = c.get("/api/risk", params={"page_size": 200}).json()["items"]
    assert items and {i["grid_id"] for i in items} == {w.grid_a}
    other = next(
        s for s in w.subs[w.county_a] if s not in {i["subscriber_id"] for i in items}
    )  # same county, other grid
    assert c.get(f"/api/subscribers/{other}").status_code == 404


@pytest.mark.parametrize("path", ["/api/model", "/api/forecast", "/api/risk/export.csv", "/api/audit"])
def test_agent_cannot_use_analyst_routes(api, path):
    assert api.client("agent_a").get(path).status_code == 403


def test_only_admin_reads_audit_log(api):
    assert api.client("analyst").get("/api/audit").status_code == 403
    assert api.client("admin").get("/api/audit").status_code == 200


def test_analyst_sees_every_county(api):
    w = api.world
    c = api.client("analyst")
    for county in (w.county_a, w.county_b):
        assert c.get(f"/api/subscribers/{w.subs[county][0]}").status_code == 200
    counties = {r["id"] for r in c.get("/api/churn/regions").json()["rows"]}
    assert {w.county_a, w.county_b} <= counties
