"""Subscriber search by id or phone number (issue 18): the number is posted, hashed on the server with
the operator's key exactly as ingest hashed it, and never appears in a URL, a log line, an audit row
or a message; a number outside the caller's regions is answered as an unknown one."""

from __future__ import annotations

import logging
import re

import pytest
from tests.api._light_login import login
from tests.api.conftest import PASSWORD
from tests.conftest import TEST_KEY

from churnradar.api import auth
from churnradar.ingest.pseudonymise import KEY_ENV, KEY_FILE_ENV
from churnradar.opstore import read_audit
from churnradar.views import search as search_views


@pytest.fixture
def operator_key(monkeypatch):
    """The key the test operator was ingested with, configured as an operator would (environment)."""
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, TEST_KEY)


@pytest.fixture(scope="module")
def phones(api_world, small_operator) -> dict[str, dict[str, str]]:
    """county -> {subscriber id: raw phone number} from the operator's raw files (the store has none)."""
    import duckdb

    raw = dict(
        duckdb.sql(
            f"SELECT subscriber_id, msisdn FROM '{small_operator.data_dir / 'subscription.parquet'}'"
        ).fetchall()
    )
    return {c: {s: raw[s] for s in api_world.subs[c][:5]} for c in (api_world.county_a, api_world.county_b)}


def _unknown_number(phones) -> str:
    known = {n for by_sub in phones.values() for n in by_sub.values()}
    return next(n for n in (f"199{i:08d}" for i in range(100)) if n not in known)


def test_a_phone_number_maps_to_the_digest_ingest_stored(api, phones, operator_key):
    """One definition: the search's digest of a raw number is the store's ``msisdn_hash`` of its line."""
    store = api.app.state.data.store
    for by_sub in phones.values():
        for sid, number in by_sub.items():
            stored = store.value("SELECT msisdn_hash FROM subscription WHERE subscriber_id = ?", [sid])
            assert search_views.phone_digest(store, number) == stored
            spaced = f" {number[:3]} {number[3:7]}-{number[7:]} "
            assert search_views.phone_digest(store, spaced) == stored  # typed with separators


def test_phone_search_finds_a_subscriber_in_scope(api, phones, operator_key):
    w = api.world
    sid, number = next(iter(phones[w.county_a].items()))
    r = api.client("rm_a").post("/api/search", json={"q": number})
    assert r.status_code == 200
    out = r.json()
    assert [m["subscriber_id"] for m in out["matches"]] == [sid]
    assert out["matches"][0]["matched"] == "phone" and out["matches"][0]["county_id"] == w.county_a
    assert out["by_phone"] is True and number not in r.text

    session = login(api, "rm_a")
    r = session.post("/search", data={"q": number, "csrf_token": session.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/subscribers/{sid}"
    assert session.get(r.headers["location"]).status_code == 200


def test_id_search_reads_the_id_as_ingest_stores_it(api):
    """Ids are trimmed and upper-cased at ingest: `` u000000001 `` finds ``U000000001``; no key is needed."""
    w = api.world
    sid = w.subs[w.county_a][0]
    session = login(api, "rm_a")
    r = session.post(
        "/search", data={"q": f"  {sid.lower()} ", "csrf_token": session.csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/subscribers/{sid}"
    out = api.client("analyst").post("/api/search", json={"q": sid}).json()
    assert [(m["subscriber_id"], m["matched"]) for m in out["matches"]] == [(sid, "id")]


def test_a_number_outside_your_regions_answers_as_an_unknown_number(api, phones, operator_key):
    w = api.world
    other_sid, other = next(iter(phones[w.county_b].items()))
    unknown = _unknown_number(phones)
    other_id = w.subs[w.county_b][0]
    api_client, session = api.client("rm_a"), login(api, "rm_a")
    answers = {}
    for name, q in (
        ("other", other),
        ("unknown", unknown),
        ("other_id", other_id),
        ("unknown_id", "U999999999"),
    ):
        a = api_client.post("/api/search", json={"q": q})
        p = session.post("/search", data={"q": q, "csrf_token": session.csrf}, follow_redirects=False)
        answers[name] = (a.status_code, a.json()["matches"], p.status_code, p.text)
    assert answers["other"] == answers["unknown"]
    assert answers["other"][:3] == (200, [], 404)
    assert "在您的区域内没有找到该用户" in answers["other"][3]
    assert answers["other_id"][:3] == answers["unknown_id"][:3] == (200, [], 404)
    assert other_sid not in answers["other"][3] and other not in answers["other"][3]
    # an analyst (every region) finds the same number
    assert (
        api.client("analyst").post("/api/search", json={"q": other}).json()["matches"][0]["subscriber_id"]
        == other_sid
    )


def test_the_number_never_reaches_a_url_log_audit_row_or_message(
    api, phones, operator_key, caplog, monkeypatch
):
    """Found, unknown, out of region and without a usable key: the raw number is in no request URL,
    redirect, answer, log record or audit row (the audit row names only the ids found)."""
    caplog.set_level(logging.DEBUG)
    w = api.world
    sid, mine = next(iter(phones[w.county_a].items()))
    _, theirs = next(iter(phones[w.county_b].items()))
    numbers = [mine, theirs, _unknown_number(phones)]
    session = login(api, "rm_a")
    answers = []
    for n in numbers:
        answers.append(session.post("/search", data={"q": n, "csrf_token": session.csrf}))
        answers.append(api.client("rm_a").post("/api/search", json={"q": n}))
    answers.append(session.post("/search", data={"q": f"+{mine}", "csrf_token": session.csrf}))
    monkeypatch.setenv(KEY_ENV, "a-key-that-is-not-the-operators")
    answers.append(session.post("/search", data={"q": f"+{mine}", "csrf_token": session.csrf}))
    answers.append(api.client("rm_a").post("/api/search", json={"q": f"+{mine}"}))
    monkeypatch.delenv(KEY_ENV)
    answers.append(api.client("rm_a").post("/api/search", json={"q": f"+{mine}"}))
    assert answers[0].status_code == 200 and answers[0].url.path == f"/subscribers/{sid}"
    assert [a.status_code for a in answers[-3:]] == [503, 503, 503]
    assert "not the key this store was loaded with" in answers[-2].json()["detail"]
    assert answers[-4].status_code == 404 and "手机号查找不可用" in answers[-3].text
    audit = read_audit(api.app.state.engine, limit=1000)
    searches = [r for r in audit if r["action"] == "subscriber.search" and r["actor"] == "rm_a"]
    assert searches and any(
        r["target"] == sid and r["detail"] == {"by_phone": True, "matches": 1} for r in searches
    )
    for n in numbers:
        for a in answers:
            seen = [
                str(a.url),
                *(str(h.url) for h in a.history),
                *(h.headers.get("location", "") for h in a.history),
            ]
            assert not any(n in x for x in seen) and n not in a.text
        assert n not in caplog.text and n not in repr(audit)


def test_the_access_log_holds_no_number(api, phones, operator_key, caplog):
    """Served by uvicorn with its access log on: the lines name ``POST /search`` and the subscriber's
    page, never the number."""
    import httpx
    from tests._serving import serving

    w = api.world
    sid, number = next(iter(phones[w.county_a].items()))
    caplog.set_level(logging.INFO)
    with (
        serving(api.app, log_config=None, log_level="info", access_log=True) as base,
        httpx.Client(base_url=base, follow_redirects=True) as c,
    ):
        c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": "rm_a",
                "password": PASSWORD,
                "csrf_token": c.cookies[auth.LOGIN_CSRF_COOKIE],
            },
        )
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', r.text).group(1)
        r = c.post("/search", data={"q": number, "csrf_token": csrf})
        assert r.status_code == 200 and r.url.path == f"/subscribers/{sid}"
    access = [rec.getMessage() for rec in caplog.records if rec.name == "uvicorn.access"]
    assert any('"POST /search HTTP/1.1" 303' in line for line in access), access
    assert any(f"GET /subscribers/{sid} " in line for line in access), access
    assert number not in caplog.text


def test_search_refuses_what_is_neither_an_id_nor_a_number(api, operator_key):
    session = login(api, "rm_a")
    r = session.post("/search", data={"q": "not an id!", "csrf_token": session.csrf})
    assert r.status_code == 400 and "请输入用户编码" in r.text and "not an id!" not in r.text
    r = api.client("rm_a").post("/api/search", json={"q": "<script>"})
    assert r.status_code == 400 and "neither a subscriber id nor a phone number" in r.json()["detail"]
    assert "<script>" not in r.text
    assert api.client("rm_a").post("/api/search", json={"q": ""}).status_code == 422


def test_a_search_with_a_session_needs_the_csrf_token(api):
    session = login(api, "rm_a")
    assert session.post("/search", data={"q": "U000000001"}).status_code == 403
    assert session.post("/api/search", json={"q": "U000000001"}).status_code == 403
    assert (
        session.post(
            "/api/search", json={"q": "U000000001"}, headers={auth.CSRF_HEADER: session.csrf}
        ).status_code
        == 200
    )


def test_every_page_has_the_search_box_posting_to_the_server(api):
    page = login(api, "agent_a").get("/risk").text
    form = re.search(r'<form method="post" action="/search"[^>]*>.*?</form>', page, flags=re.S).group(0)
    assert 'name="q"' in form and 'name="csrf_token"' in form and 'autocomplete="off"' in form
    assert login(api, "agent_a").get("/search").status_code == 200
