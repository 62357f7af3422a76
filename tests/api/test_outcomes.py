"""Outcome recording: idempotent per key, conflicts on reuse, scoped, audited, visible in lists."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def _url(api, i):
    w = api.world
    return f"/api/campaigns/{w.ops_campaign[w.county_a]}/contacts/{w.ops_contacts[w.county_a][i]}/outcome"


def test_outcome_post_is_idempotent(api):
    c = api.client("rm_a")
    body = {"idempotency_key": "idem-key-0001", "accepted": True, "note": "took the data bonus"}
    first = c.post(_url(api, 5), json=body)
    again = c.post(_url(api, 5), json=body)
    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert {k: v for k, v in first.json().items() if k != "replayed"} == {
        k: v for k, v in again.json().items() if k != "replayed"
    }
    contacts = c.get(f"/api/campaigns/{api.world.ops_campaign[api.world.county_a]}/contacts").json()["items"]
    mine = [x for x in contacts if x["contact_id"] == api.world.ops_contacts[api.world.county_a][5]]
    assert mine[0]["accepted"] is True


def test_same_key_with_different_outcome_conflicts(api):
    c = api.client("rm_a")
    assert (
        c.post(_url(api, 6), json={"idempotency_key": "idem-key-0002", "accepted": True}).status_code == 201
    )
    r = c.post(_url(api, 6), json={"idempotency_key": "idem-key-0002", "accepted": False})
    assert r.status_code == 409 and r.json()["error"] == "OutcomeConflict"


def test_concurrent_retries_record_one_outcome(api):
    c = api.client("rm_a")
    body = {"idempotency_key": "idem-key-0003", "accepted": True}
    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(lambda _: c.post(_url(api, 7), json=body).status_code, range(8)))
    assert codes.count(201) == 1 and codes.count(200) == 7, codes
    rows = api.client("admin").get("/api/audit", params={"action": "outcome.record", "limit": 1000}).json()
    assert sum(1 for r in rows if r["detail"].get("key") == "idem-key-0003") == 1


def test_outcome_on_ingested_campaign_is_refused(api):
    w = api.world
    c = api.client("rm_a")
    url = f"/api/campaigns/{w.hist_campaign[w.county_a]}/contacts/{w.hist_contacts[w.county_a][1]}/outcome"
    assert c.post(url, json={"idempotency_key": "idem-key-0004", "accepted": True}).status_code == 409


def test_outcome_body_is_validated(api):
    c = api.client("rm_a")
    assert c.post(_url(api, 8), json={"idempotency_key": "short", "accepted": True}).status_code == 422
    assert c.post(_url(api, 8), json={"idempotency_key": "idem-key-0005"}).status_code == 422


def test_campaign_evaluation_counts_arms_against_control(api):
    w = api.world
    ev = api.client("rm_a").get(f"/api/campaigns/{w.ops_campaign[w.county_a]}").json()
    arms = {a["arm"]: a for a in ev["evaluation"]}
    assert "control" in arms and sum(a["n"] for a in arms.values()) == len(w.ops_contacts[w.county_a])
    hist = api.client("rm_a").get(f"/api/campaigns/{w.hist_campaign[w.county_a]}").json()
    assert {a["arm"] for a in hist["evaluation"]} >= {"control"}
