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


def _control_and_treated(api, county):
    """Contact ids of the seeded operational campaign: (control members, treated members)."""
    ids = api.world.ops_contacts[county]
    return [k for i, k in enumerate(ids) if i % 4 == 0], [k for i, k in enumerate(ids) if i % 4]


def test_outcome_for_a_control_member_is_refused(api):
    """A control-group member gets no offer: an outcome for them is a 409 saying so, and the control
    arm's counts stay untouched."""
    w = api.world
    a = w.county_a
    control, _ = _control_and_treated(api, a)
    c = api.client("rm_a")
    before = {x["arm"]: x for x in c.get(f"/api/campaigns/{w.ops_campaign[a]}").json()["evaluation"]}
    url = f"/api/campaigns/{w.ops_campaign[a]}/contacts/{control[1]}/outcome"
    for accepted in (True, False):
        r = c.post(url, json={"idempotency_key": f"ctrl-key-{accepted}", "accepted": accepted})
        assert r.status_code == 409, r.text
        assert "control" in r.json()["detail"]
    after = {x["arm"]: x for x in c.get(f"/api/campaigns/{w.ops_campaign[a]}").json()["evaluation"]}
    assert after["control"] == before["control"]
    assert after["control"]["contacted"] == after["control"]["accepted"] == 0


def test_replay_with_a_changed_note_conflicts(api):
    c = api.client("rm_a")
    _, treated = _control_and_treated(api, api.world.county_a)
    url = f"/api/campaigns/{api.world.ops_campaign[api.world.county_a]}/contacts/{treated[5]}/outcome"
    body = {"idempotency_key": "note-key-0001", "accepted": True, "note": "called at 10:00"}
    assert c.post(url, json=body).status_code == 201
    assert c.post(url, json=body).status_code == 200
    r = c.post(url, json={**body, "note": "called at 11:00, wants a callback"})
    assert r.status_code == 409 and "note" in r.json()["detail"]
    contacts = c.get(f"/api/campaigns/{api.world.ops_campaign[api.world.county_a]}/contacts").json()
    assert next(x for x in contacts["items"] if x["contact_id"] == treated[5])["accepted"] is True


def _forbidden_of(api, county) -> set[str]:
    w = api.world
    return {*w.ops_contacts[county], w.ops_campaign[county], *w.subs[county][:12]}


def test_key_reuse_reveals_nothing_of_another_region(api):
    """rm_b records an outcome under a key; rm_a reusing that key on their own contact gets a 409
    that names nothing of county B (no contact, campaign or subscriber id, no values)."""
    w = api.world
    a, b = w.county_a, w.county_b
    _, treated_b = _control_and_treated(api, b)
    _, treated_a = _control_and_treated(api, a)
    key = "shared-key-0001"
    rb = api.client("rm_b").post(
        f"/api/campaigns/{w.ops_campaign[b]}/contacts/{treated_b[0]}/outcome",
        json={"idempotency_key": key, "accepted": True, "note": "county B note"},
    )
    assert rb.status_code == 201, rb.text
    for accepted in (True, False):
        r = api.client("rm_a").post(
            f"/api/campaigns/{w.ops_campaign[a]}/contacts/{treated_a[1]}/outcome",
            json={"idempotency_key": key, "accepted": accepted, "note": "county B note"},
        )
        assert r.status_code == 409, r.text
        leaked = {x for x in _forbidden_of(api, b) | {"county B note", b} if x in r.text}
        assert not leaked, f"{r.text} names {leaked}"


def test_outcome_for_a_contact_of_another_region_is_not_found(api):
    """Every way of naming county B's contact from rm_a's side is a 404 that echoes only what rm_a sent."""
    w = api.world
    a, b = w.county_a, w.county_b
    _, treated_b = _control_and_treated(api, b)
    forbidden = _forbidden_of(api, b)
    c = api.client("rm_a")
    for campaign in (w.ops_campaign[b], w.ops_campaign[a]):
        url = f"/api/campaigns/{campaign}/contacts/{treated_b[2]}/outcome"
        r = c.post(url, json={"idempotency_key": "other-region-0001", "accepted": True})
        assert r.status_code == 404, r.text
        rest = r.text.replace(treated_b[2], "").replace(campaign, "")  # what rm_a sent may come back
        assert not {x for x in forbidden if x in rest}, r.text
