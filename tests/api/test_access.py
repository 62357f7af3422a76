"""Authentication on every route and region scoping across all of them (routes enumerated from the app)."""

from __future__ import annotations

import re

import pytest
from tests.api._routes import PUBLIC, all_calls, body_for, fill, protected_calls

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


# -- every route x every caller x {own, other} region (hostile suite) ----------------------------
CALLERS = [
    ("admin", "token"),
    ("admin", "session"),
    ("analyst", "token"),
    ("analyst", "session"),
    ("rm_a", "token"),
    ("rm_a", "session"),
    ("agent_a", "token"),
    ("agent_a", "session"),
    (None, "anonymous"),
]
ALL_REGIONS = {"admin", "analyst"}


def _scope_facts(api, user):
    """(subscribers in the user's scope, strings naming regions outside it, allowed channel labels)."""
    import duckdb

    w = api.world
    con = duckdb.connect(str(w.store), read_only=True)
    try:
        rows = con.execute(
            "SELECT grid_id, grid_name, county_id, county_name, county_name_en FROM region"
        ).fetchall()
        grids = {
            "rm_a": {g for g, _, c, *_ in rows if c == w.county_a},
            "agent_a": {w.grid_a},
        }.get(user, {g for g, *_ in rows})
        counties = {c for g, _, c, *_ in rows if g in grids}
        other = {x for g, gn, *_ in rows if g not in grids for x in (g, gn)}
        other |= {x for _, _, c, cn, ce in rows if c not in counties for x in (c, cn, ce)}
        subs = {
            r[0]
            for r in con.execute(
                "SELECT subscriber_id FROM subscription WHERE list_contains(?, grid_id)", [sorted(grids)]
            ).fetchall()
        }
        allowed = {
            x
            for r in con.execute(
                "SELECT DISTINCT ch.channel_name, ch.channel_name_en FROM subscription s "
                "JOIN channel ch USING (channel_id) WHERE list_contains(?, s.grid_id)",
                [sorted(grids)],
            ).fetchall()
            for x in r
            if x
        }
    finally:
        con.close()
    return subs, other, allowed


def _plans(api) -> dict[str, str]:
    """A target plan of each county (made by its regional manager), by county id.

    Each plan's campaign is made (or refused, for a plan that lists nobody) here, so that the
    matrix's own attempts answer alike whichever caller comes first."""
    w = api.world
    month = api.client("analyst").get("/api/targets").json()["months"][0]
    made = {}
    for user, county in (("rm_a", w.county_a), ("rm_b", w.county_b)):
        r = api.client(user).post(
            "/api/targets/plans", json={"as_of": month, "budget": 20000, "min_arm_rows": 40}
        )
        assert r.status_code == 201, r.text
        made[county] = r.json()["plan_id"]
        r = api.client(user).post(f"/api/targets/plans/{made[county]}/campaign", json={"name": "access"})
        assert r.status_code in (201, 400), r.text
    return made


def _values(api, user, region, plans):
    """Path values naming objects of the user's own region or of the other county."""
    w = api.world
    county = w.county_a if region == "own" else w.county_b
    subs_in, *_ = _scope_facts(api, user) if user else (set(w.subs[w.county_a]),)
    pairs = list(zip(w.ops_contacts[county], w.subs[county], strict=False))
    treated = [(k, s) for i, (k, s) in enumerate(pairs) if i % 4]  # every fourth is in control
    if region == "own":
        contact, _ = next(((k, s) for k, s in treated if s in subs_in), treated[0])
    else:
        contact, _ = treated[0]
    # a scored subscriber (open at the scored month): a churned one has no features to score
    area = w.grid_a if user == "agent_a" and region == "own" else county
    risk = api.client("analyst").get("/api/risk", params={"region": area, "page_size": 1}).json()
    sub = risk["items"][0]["subscriber_id"]
    return {
        "subscriber_id": sub,
        "campaign_id": w.ops_campaign[county],
        "contact_id": contact,
        "plan_id": plans[county],
        "county": county,
        "code": "en",
        "name": "competitor",  # the report that held every county's figures
    }


@pytest.mark.hostile
def test_every_route_for_every_caller_and_region(api):
    """Every route (enumerated from the app) for admin, analyst, regional manager and agent (each
    with an API token and with a session), and anonymously, naming objects of the caller's own
    region and of another county: never a 5xx; all-region roles answer the same for both regions;
    a scoped role gets 403/404 for the other county's objects, never 404 for its own, and no answer
    holds a subscriber or a region name outside its scope."""
    import uuid

    from tests.api.test_region_leaks import leaks, readable

    calls = [c for c in all_calls(api.app) if c.template not in ("/logout", "/login")]
    statuses: dict[tuple, int] = {}
    plans = _plans(api)
    checked = 0
    for user, via in CALLERS:
        if via == "anonymous":
            client, headers = api.client(), {}
        elif via == "token":
            client, headers = api.client(user), {}
        else:
            client = api.login(user)
            headers = {"X-CSRF-Token": client.csrf}
        facts = _scope_facts(api, user) if user else None
        for region in ("own", "other"):
            values = _values(api, user or "rm_a", region, plans)
            for call in calls:
                url = fill(call.template, values)
                params = (
                    {"county": values["county"], "region": values["county"]} if call.method == "GET" else None
                )
                r = client.request(
                    call.method,
                    url,
                    params=params,
                    headers=headers,
                    follow_redirects=False,
                    **body_for(call, key=f"matrix-{uuid.uuid4().hex}"),
                )
                where = f"{user or 'anonymous'}/{via} {region} {call} -> {r.status_code}"
                assert r.status_code < 500, where
                statuses[(user, via, region, str(call))] = r.status_code
                checked += 1
                if user is None:
                    if (call.method, call.template) in PUBLIC:
                        continue
                    expected = (401,) if call.is_api or call.method != "GET" else (303,)
                    assert r.status_code in expected, where
                    continue
                object_route = bool(set(call.params) - {"code"})
                if user not in ALL_REGIONS and object_route:
                    if region == "other":
                        assert r.status_code in (403, 404), f"{where}: {r.text[:200]}"
                    else:
                        assert r.status_code != 404, f"{where}: {r.text[:200]}"
                subs_in, other, allowed = facts
                text = readable(r.content, r.headers.get("content-type", ""))
                echoed = {values["subscriber_id"]}
                stray = set(SUB_ID.findall(text)) - subs_in - echoed
                assert not stray, f"{where} holds subscribers outside the scope: {sorted(stray)[:5]}"
                if region == "own" or user not in ALL_REGIONS:
                    found = leaks(text.replace(url, ""), other, allowed)
                    if region == "other":  # an error may echo the id the caller sent
                        found -= {values["county"], values["campaign_id"], values["contact_id"]}
                    assert not found, f"{where} names {sorted(found)[:5]}"
    for (user, via, region, call), status in statuses.items():
        if user in ALL_REGIONS and region == "own":
            other = statuses[(user, via, "other", call)]
            assert (status // 100, status) == (other // 100, other), (
                f"{user}/{via} {call}: {status} vs {other}"
            )
        if user and via == "session" and region == "own" and call.startswith("GET"):
            token = statuses[(user, "token", region, call)]
            assert status == token or {status, token} <= {200, 303}, f"{user} {call}: {status} vs {token}"
    assert checked >= 9 * 2 * 30
