"""Sessions, CSRF, login rate limiting, tokens, audit log, headers and pseudonymous output."""

from __future__ import annotations

import re

import pytest
from tests.api.conftest import PASSWORD

from churnradar.api import auth
from churnradar.opstore import read_audit


def _login_post(client, username, password, csrf=None):
    client.get("/login")
    token = client.cookies.get(auth.LOGIN_CSRF_COOKIE) if csrf is None else csrf
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


def test_session_cookie_is_httponly_and_samesite(api):
    r = _login_post(api.client(), "analyst", PASSWORD)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "churnradar_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http on loopback


def test_session_cookie_is_secure_behind_tls(api):
    r = _login_post(api.client(base_url="https://testserver"), "analyst", PASSWORD)
    assert r.status_code == 303
    assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_is_refused_and_audited(api):
    r = _login_post(api.client(), "rm_b", "not-the-password")
    assert r.status_code == 401
    rows = api.client("admin").get("/api/audit", params={"action": "login.failed"}).json()
    assert any(row["target"] == "rm_b" for row in rows)


def test_login_without_csrf_token_is_forbidden(api):
    c = api.client()
    c.get("/login")
    r = c.post("/login", data={"username": "analyst", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403


def test_login_with_forged_csrf_token_is_forbidden(api):
    r = _login_post(api.client(), "analyst", PASSWORD, csrf="forged-token-value")
    assert r.status_code == 403


def test_outcome_post_with_session_needs_csrf_token(api):
    w = api.world
    c = api.login("rm_a")
    url = f"/api/campaigns/{w.ops_campaign[w.county_a]}/contacts/{w.ops_contacts[w.county_a][2]}/outcome"
    body = {"idempotency_key": "csrf-test-0001", "accepted": True}
    assert c.post(url, json=body).status_code == 403
    assert c.post(url, json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert c.post(url, json=body, headers={"X-CSRF-Token": c.csrf}).status_code == 201


def test_logout_needs_csrf_token_and_ends_the_session(api):
    c = api.login("analyst")
    assert c.post("/logout", follow_redirects=False).status_code == 403
    r = c.post("/logout", data={"csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/api/me").status_code == 401


def test_login_is_rate_limited_after_repeated_failures(api):
    engine = api.app.state.engine
    auth.add_user(engine, "target", PASSWORD, "analyst", actor="test")
    c = api.client()
    for _ in range(auth.MAX_FAILURES_PER_USER):
        assert _login_post(c, "target", "wrong-password").status_code == 401
    # now even the right password is refused for a while
    r = _login_post(c, "target", PASSWORD)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    # other accounts are not locked by it
    assert _login_post(api.client(), "analyst", PASSWORD).status_code == 303


def test_api_token_works_without_csrf(api):
    w = api.world
    c = api.client("agent_a")
    contact = next(
        k
        for i, (k, s) in enumerate(zip(w.ops_contacts[w.county_a], w.subs[w.county_a], strict=False))
        if i % 4 and _in_grid(api, s)  # a treated member (every fourth is in the control group)
    )
    url = f"/api/campaigns/{w.ops_campaign[w.county_a]}/contacts/{contact}/outcome"
    r = c.post(url, json={"idempotency_key": "token-test-0001", "accepted": False})
    assert r.status_code == 201, r.text


def _in_grid(api, sid):
    return api.client("agent_a").get(f"/api/subscribers/{sid}").status_code == 200


def test_exports_and_writes_are_audited(api):
    api.login("rm_a")
    c = api.client("rm_a")
    r = c.get("/api/risk/export.csv", params={"risk": "high"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    actions = {row["action"] for row in api.client("admin").get("/api/audit", params={"limit": 1000}).json()}
    assert {"export.risk_list", "login", "user.add", "token.create"} <= actions


def test_security_headers_on_pages_and_api(api):
    c = api.client("analyst")
    for path in ("/", "/api/me"):
        h = c.get(path).headers
        assert h["x-content-type-options"] == "nosniff"
        assert h["x-frame-options"] == "DENY"
        assert "script-src 'self'" in h["content-security-policy"]


def test_errors_are_clean_json(api):
    c = api.client("analyst")
    r = c.get("/api/subscribers/NOPE")
    assert r.status_code == 404 and r.json()["error"] == "NotInScope"
    r = c.get("/api/risk", params={"page_size": 100000})
    assert r.status_code == 422 and r.json()["error"] == "ValidationError"


RAW_ID = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")  # an 11-digit mainland mobile number


@pytest.mark.parametrize("path_kind", ["subscriber", "risk", "contacts"])
def test_only_pseudonymous_identifiers_are_served(api, path_kind):
    w = api.world
    c = api.client("admin")
    path = {
        "subscriber": f"/api/subscribers/{w.subs[w.county_a][0]}",
        "risk": "/api/risk?page_size=200",
        "contacts": f"/api/campaigns/{w.ops_campaign[w.county_a]}/contacts",
    }[path_kind]
    text = c.get(path).text
    assert not RAW_ID.search(text)
    for raw in ('msisdn"', "certificate_no", 'imei"'):
        assert raw not in text


def test_users_are_stored_with_argon2_hashes(api):
    import sqlalchemy as sa

    from churnradar.opstore import app_user

    with api.app.state.engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(sa.select(app_user.c.password_hash))]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert PASSWORD not in "".join(hashes)


def test_no_page_loads_assets_from_elsewhere(api):
    """Every script and stylesheet is served by the app itself (vendored from npm at install)."""
    import re

    c = api.client("analyst")
    for path in ("/", "/risk", "/login"):
        html = c.get(path).text
        for src in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not src.startswith(("http:", "https:", "//")), f"{path} loads {src}"
    assert c.get("/api/docs").status_code == 404  # no Swagger UI from a CDN
    assert c.get("/static/vendor/htmx.min.js").status_code == 200
    assert c.get("/static/vendor/echarts.min.js").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example/"])
def test_language_switch_and_login_never_redirect_off_site(api, target):
    r = api.client().get("/lang/en", params={"next": target}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


# -- concurrency, proxies and revocation ----------------------------------------------------------
def _login_clients(api, n, client):
    """``n`` clients that loaded the login form (each holds its form's CSRF cookie)."""
    out = []
    for _ in range(n):
        c = api.client(client=client)
        c.get("/login")
        out.append(c)
    return out


def test_concurrent_wrong_passwords_get_only_the_allowed_checks(api):
    """30 wrong passwords at once for one account: exactly MAX_FAILURES_PER_USER are checked (401),
    the others are refused by the limit (429) — the check and the count are one atomic step."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    auth.add_user(api.app.state.engine, "burst", PASSWORD, "analyst", actor="test")
    clients = _login_clients(api, 30, ("198.51.100.7", 40000))
    start = threading.Barrier(len(clients))

    def attempt(c):
        start.wait()
        return c.post(
            "/login",
            data={
                "username": "burst",
                "password": "wrong-password",
                "csrf_token": c.cookies.get(auth.LOGIN_CSRF_COOKIE),
            },
            follow_redirects=False,
        ).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        codes = list(pool.map(attempt, clients))
    assert codes.count(401) == auth.MAX_FAILURES_PER_USER, codes
    assert codes.count(429) == len(clients) - auth.MAX_FAILURES_PER_USER, codes


def _served_app(api, tmp_path, monkeypatch):
    """The ASGI app exactly as `churnradar serve` hands it to uvicorn (uvicorn's own proxy-header
    handling included, as its options configure it), on a fresh operational store."""
    import uvicorn

    from churnradar.cli import serve

    seen = {}
    monkeypatch.setattr(serve, "warm_scorer", lambda web: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    serve.run_server(api.world.store, f"sqlite:///{tmp_path / 'ops.sqlite'}", "127.0.0.1", 8000)
    web = seen.pop("app")
    for k in ("host", "port", "workers", "log_level"):
        seen.pop(k, None)
    config = uvicorn.Config(web, log_config=None, **seen)
    config.load()
    return web, config.loaded_app


def _failures_from(web_app, served, peer, forwarded, n):
    """``n`` wrong logins (a new username each) from ``peer``, each with its own X-Forwarded-For."""
    from fastapi.testclient import TestClient

    codes = []
    for i in range(n):
        c = TestClient(served, client=(peer, 40000))
        c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": f"nobody{i}",
                "password": "wrong-password",
                "csrf_token": c.cookies.get(auth.LOGIN_CSRF_COOKIE),
            },
            headers={"X-Forwarded-For": forwarded(i)} if forwarded else {},
            follow_redirects=False,
        )
        codes.append(r.status_code)
    return codes


def test_forwarded_for_from_loopback_does_not_reset_the_client_limit(api, tmp_path, monkeypatch):
    """By default no proxy is trusted: a client on 127.0.0.1 that invents a new X-Forwarded-For for
    every attempt still meets the per-client limit."""
    monkeypatch.delenv("CHURNRADAR_TRUSTED_PROXIES", raising=False)
    web, served = _served_app(api, tmp_path, monkeypatch)
    n = auth.MAX_FAILURES_PER_CLIENT + 3
    codes = _failures_from(web, served, "127.0.0.1", lambda i: f"203.0.113.{i + 1}", n)
    assert codes[: auth.MAX_FAILURES_PER_CLIENT] == [401] * auth.MAX_FAILURES_PER_CLIENT
    assert codes[auth.MAX_FAILURES_PER_CLIENT :] == [429] * 3, codes
    clients = {r["client"] for r in read_audit(web.state.engine, 1000, "login.failed")}
    assert clients == {"127.0.0.1"}


def test_forwarded_for_is_used_from_a_configured_proxy_only(api, tmp_path, monkeypatch):
    monkeypatch.setenv("CHURNRADAR_TRUSTED_PROXIES", "127.0.0.1, 10.20.0.0/16")
    web, served = _served_app(api, tmp_path, monkeypatch)
    n = auth.MAX_FAILURES_PER_CLIENT + 2
    # behind the proxy, each real client is counted on its own (the proxy's address is not the client)
    codes = _failures_from(web, served, "10.20.3.4", lambda i: f"198.18.0.9, 203.0.113.{i + 1}", n)
    assert codes == [401] * n
    clients = {r["client"] for r in read_audit(web.state.engine, 1000, "login.failed")}
    assert clients == {f"203.0.113.{i + 1}" for i in range(n)}
    # a peer that is not a configured proxy cannot choose its address
    codes = _failures_from(web, served, "192.0.2.50", lambda i: f"203.0.113.{100 + i}", 3)
    assert "192.0.2.50" in {r["client"] for r in read_audit(web.state.engine, 1000, "login.failed")}
    assert not {f"203.0.113.{100 + i}" for i in range(3)} & {
        r["client"] for r in read_audit(web.state.engine, 1000, "login.failed")
    }


def test_forwarded_proto_from_a_configured_proxy_makes_the_cookie_secure(api, monkeypatch):
    from fastapi.testclient import TestClient

    from churnradar.api import create_app

    for trusted, secure in (("127.0.0.1", True), ("", False)):
        app = create_app(api.world.store, api.database_url, trusted_proxies=trusted)
        c = TestClient(app, client=("127.0.0.1", 40000))
        c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": "analyst",
                "password": PASSWORD,
                "csrf_token": c.cookies.get(auth.LOGIN_CSRF_COOKIE),
            },
            headers={"X-Forwarded-Proto": "https"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert ("secure" in r.headers["set-cookie"].lower()) is secure


def test_bad_trusted_proxy_setting_is_a_clear_error(api):
    from churnradar.api import create_app
    from churnradar.errors import ConfigError

    with pytest.raises(ConfigError, match="CHURNRADAR_TRUSTED_PROXIES"):
        create_app(api.world.store, api.database_url, trusted_proxies="127.0.0.1, not-an-address")


def test_removed_user_loses_access_on_the_next_request(api):
    engine = api.app.state.engine
    auth.add_user(engine, "leaver", PASSWORD, "analyst", actor="test")
    token = api.client()
    token.headers["Authorization"] = f"Bearer {auth.create_token(engine, 'leaver', actor='test')}"
    session = api.login("leaver")
    for c in (token, session):
        assert c.get("/api/me").status_code == 200
        assert c.get("/api/me").status_code == 200  # twice: a cache, if any, now holds the caller
    auth.remove_user(engine, "leaver", actor="test")
    assert token.get("/api/me").status_code == 401
    assert session.get("/api/me").status_code == 401


def test_role_and_region_changes_apply_on_the_next_request(api):

    from churnradar.opstore import app_user

    engine = api.app.state.engine
    auth.add_user(engine, "mover", PASSWORD, "analyst", actor="test")
    c = api.client()
    c.headers["Authorization"] = f"Bearer {auth.create_token(engine, 'mover', actor='test')}"
    w = api.world
    assert c.get("/api/model").status_code == 200
    assert c.get(f"/api/subscribers/{w.subs[w.county_b][0]}").status_code == 200
    with engine.begin() as conn:
        conn.execute(
            app_user.update().where(app_user.c.username == "mover").values(role="agent", regions=w.grid_a)
        )
    assert c.get("/api/model").status_code == 403
    assert c.get(f"/api/subscribers/{w.subs[w.county_b][0]}").status_code == 404
    assert c.get("/api/me").json()["role"] == "agent"
