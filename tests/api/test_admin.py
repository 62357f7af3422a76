"""Administration (issue 18): accounts, roles, regions, API tokens and the audit log, over the REST API
(``/api/admin/...``) and the dashboard (``/admin/...``): administrators only, CSRF on every write,
every write audited, a new token shown once, passwords never shown or logged, one's own account and
the last administrator never removed."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tests.api._light_login import login
from tests.api._routes import all_calls, fill
from tests.api.conftest import PASSWORD

from churnradar.api import auth
from churnradar.opstore import audit_page, read_audit


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _admin_calls(app):
    return [c for c in all_calls(app) if c.template.startswith(("/api/admin", "/admin"))]


# -- who may use it ------------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["analyst", "rm_a", "agent_a"])
def test_every_admin_route_refuses_every_other_role(api, user):
    """Each route under /api/admin and /admin (enumerated from the app) is 403 for analysts, regional
    managers and agents, by API token and by session (with its CSRF token, so the refusal is the
    role's), and nothing they post changes an account."""
    calls = _admin_calls(api.app)
    assert len(calls) >= 20, [str(c) for c in calls]
    target = _name("victim")
    auth.add_user(api.app.state.engine, target, PASSWORD, "analyst", actor="test")
    values = {"name": target}
    bodies = {
        "/api/admin/users": {"json": {"username": _name("x"), "password": PASSWORD, "role": "analyst"}},
        "/api/admin/users/{name}": {"json": {"role": "agent", "regions": [api.world.grid_a]}},
        "/api/admin/tokens": {"json": {"username": target, "label": "x"}},
        "/admin/users": {"data": {"username": _name("x"), "password": PASSWORD, "role": "analyst"}},
        "/admin/users/{name}": {"data": {"role": "agent", "regions": api.world.grid_a}},
        "/admin/users/{name}/password": {"data": {"password": "another-password"}},
        "/admin/tokens": {"data": {"username": target, "label": "x"}},
    }
    for client in (api.client(user), login(api, user)):
        headers = {auth.CSRF_HEADER: client.csrf} if hasattr(client, "csrf") else {}
        for call in calls:
            body = bodies.get(call.template, {}) if call.method != "GET" else {}
            if call.method != "GET" and "data" in body and headers:
                body = {"data": {**body["data"], "csrf_token": client.csrf}}
            r = client.request(
                call.method, fill(call.template, values), headers=headers, follow_redirects=False, **body
            )
            assert r.status_code == 403, f"{user} {call}: {r.status_code} {r.text[:200]}"
    users = {u["username"]: u for u in auth.list_users(api.app.state.engine)}
    assert users[target]["role"] == "analyst" and target in users
    assert auth.list_tokens(api.app.state.engine, target) == []


def test_nav_shows_administration_to_admins_only(api):
    assert 'id="nav-admin"' in login(api, "admin").get("/search").text
    for user in ("analyst", "rm_a", "agent_a"):
        assert 'id="nav-admin"' not in api.client(user).get("/search").text


def test_openapi_documents_the_admin_routes(api):
    spec = api.client().get("/openapi.json").json()
    ops = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    assert {
        ("GET", "/api/admin/users"),
        ("POST", "/api/admin/users"),
        ("PATCH", "/api/admin/users/{name}"),
        ("DELETE", "/api/admin/users/{name}"),
        ("GET", "/api/admin/roles"),
        ("GET", "/api/admin/regions"),
        ("GET", "/api/admin/tokens"),
        ("POST", "/api/admin/tokens"),
        ("DELETE", "/api/admin/tokens/{name}"),
        ("GET", "/api/admin/audit"),
    } <= ops
    assert not any(p.startswith("/admin") for p in spec["paths"])  # pages stay out of the spec
    assert spec["paths"]["/api/admin/users"]["post"]["description"]


# -- accounts ------------------------------------------------------------------------------------
def test_admin_creates_changes_and_removes_a_regional_manager(api):
    w = api.world
    admin = api.client("admin")
    name = _name("mgr")
    r = admin.post(
        "/api/admin/users",
        json={"username": name, "password": PASSWORD, "role": "regional_manager", "regions": [w.county_a]},
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"username": name, "role": "regional_manager", "regions": [w.county_a]}
    listed = {u["username"]: u for u in admin.get("/api/admin/users").json()}
    assert listed[name]["regions"] == [w.county_a] and "password_hash" not in listed[name]

    token = admin.post("/api/admin/tokens", json={"username": name, "label": "test"}).json()["token"]
    mgr = api.client()
    mgr.headers["Authorization"] = f"Bearer {token}"
    assert mgr.get("/api/me").json()["counties"] == [w.county_a]

    r = admin.patch(f"/api/admin/users/{name}", json={"regions": [w.county_b]})
    assert r.status_code == 200 and r.json()["regions"] == [w.county_b]
    assert mgr.get("/api/me").json()["counties"] == [w.county_b]  # on the next request
    assert mgr.get(f"/api/subscribers/{w.subs[w.county_a][0]}").status_code == 404

    r = admin.patch(f"/api/admin/users/{name}", json={"role": "analyst"})
    assert r.json() == {"username": name, "role": "analyst", "regions": []}
    assert mgr.get("/api/me").json()["all_regions"] is True

    assert admin.delete(f"/api/admin/users/{name}").json() == {"username": name, "removed": True}
    assert mgr.get("/api/me").status_code == 401
    assert admin.delete(f"/api/admin/users/{name}").status_code == 404

    rows = [r for r in read_audit(api.app.state.engine, limit=1000) if r["target"] == name]
    assert [r["action"] for r in reversed(rows)] == [
        "user.add",
        "token.create",
        "user.update",
        "user.update",
        "user.remove",
    ]
    assert {r["actor"] for r in rows} == {"admin"} and all(r["client"] for r in rows)


def test_refused_accounts_say_why(api):
    admin = api.client("admin")
    w = api.world
    cases = [
        ({"username": "bad name", "password": PASSWORD, "role": "analyst"}, "not allowed"),
        ({"username": _name("a"), "password": "short", "role": "analyst"}, "too short"),
        (
            {"username": _name("a"), "password": PASSWORD, "role": "regional_manager"},
            "needs at least one region",
        ),
        (
            {"username": _name("a"), "password": PASSWORD, "role": "agent", "regions": ["NOWHERE"]},
            "unknown region(s) NOWHERE",
        ),
        (
            {"username": _name("a"), "password": PASSWORD, "role": "analyst", "regions": [w.county_a]},
            "sees every region",
        ),
        ({"username": "admin", "password": PASSWORD, "role": "analyst"}, "already exists"),
    ]
    for body, reason in cases:
        r = admin.post("/api/admin/users", json=body)
        assert r.status_code == 400 and reason in r.json()["detail"], (body, r.text)
    assert admin.post("/api/admin/users", json={"username": "x", "role": "boss"}).status_code == 422


def test_an_admin_cannot_remove_their_own_account(api):
    engine = api.app.state.engine
    name = _name("adm")
    auth.add_user(engine, name, PASSWORD, "admin", actor="test")
    c = api.client()
    c.headers["Authorization"] = f"Bearer {auth.create_token(engine, name, actor='test')}"
    r = c.delete(f"/api/admin/users/{name}")
    assert r.status_code == 400 and "your own account" in r.json()["detail"]
    assert name in {u["username"] for u in auth.list_users(engine)}
    # another administrator may
    assert api.client("admin").delete(f"/api/admin/users/{name}").status_code == 200


def test_the_last_administrator_is_never_removed_nor_demoted(api, tmp_path):
    """On a store of its own with one administrator: removing or demoting them is refused with the
    reason; with a second administrator both work."""
    from fastapi.testclient import TestClient

    from churnradar.api import create_app

    app = create_app(api.world.store, f"sqlite:///{tmp_path / 'ops.sqlite'}")
    engine = app.state.engine
    auth.add_user(engine, "root", PASSWORD, "admin", actor="test")
    auth.add_user(engine, "helper", PASSWORD, "analyst", actor="test")
    root = TestClient(
        app, headers={"Authorization": f"Bearer {auth.create_token(engine, 'root', actor='test')}"}
    )
    with pytest.raises(auth.UserError, match="it is the last administrator"):
        auth.remove_user(engine, "root", actor="helper")
    with pytest.raises(auth.UserError, match="it is the last administrator"):
        auth.update_user(engine, "root", role="analyst", actor="helper")
    r = root.patch("/api/admin/users/root", json={"role": "analyst"})
    assert r.status_code == 400 and "last administrator" in r.json()["detail"]
    r = root.delete("/api/admin/users/root")
    assert r.status_code == 400 and "your own account" in r.json()["detail"]
    assert {u["username"]: u["role"] for u in auth.list_users(engine)} == {
        "root": "admin",
        "helper": "analyst",
    }
    # with a second administrator, either may be demoted or removed by the other
    assert root.patch("/api/admin/users/helper", json={"role": "admin"}).status_code == 200
    helper = TestClient(
        app, headers={"Authorization": f"Bearer {auth.create_token(engine, 'helper', actor='test')}"}
    )
    assert helper.patch("/api/admin/users/root", json={"role": "analyst"}).status_code == 200
    r = root.get("/api/admin/users")
    assert r.status_code == 403  # root is an analyst now, on its next request
    r = helper.delete("/api/admin/users/root")
    assert r.status_code == 200
    r = helper.patch("/api/admin/users/helper", json={"role": "analyst"})
    assert r.status_code == 400 and "last administrator" in r.json()["detail"]
    app.state.data.close()


def test_writes_with_a_session_need_the_csrf_token(api):
    session = login(api, "admin")
    name = _name("csrf")
    body = {"username": name, "password": PASSWORD, "role": "analyst"}
    assert session.post("/api/admin/users", json=body).status_code == 403
    assert session.post("/admin/users", data=body, follow_redirects=False).status_code == 403
    assert name not in {u["username"] for u in auth.list_users(api.app.state.engine)}
    r = session.post("/api/admin/users", json=body, headers={auth.CSRF_HEADER: session.csrf})
    assert r.status_code == 201
    for method, url, kw in (
        ("PATCH", f"/api/admin/users/{name}", {"json": {"role": "agent", "regions": [api.world.grid_a]}}),
        ("DELETE", f"/api/admin/users/{name}", {}),
        ("POST", f"/admin/users/{name}/delete", {"data": {}}),
        ("POST", f"/admin/users/{name}/password", {"data": {"password": "another-password"}}),
    ):
        assert session.request(method, url, follow_redirects=False, **kw).status_code == 403, url
        assert (
            session.request(
                method, url, follow_redirects=False, **kw, headers={auth.CSRF_HEADER: "forged"}
            ).status_code
            == 403
        )
    assert name in {u["username"] for u in auth.list_users(api.app.state.engine)}


def test_passwords_are_never_shown_logged_or_audited(api, caplog):
    caplog.set_level(logging.DEBUG)
    secret_one, secret_two = f"pw-{uuid.uuid4().hex}", f"pw-{uuid.uuid4().hex}"
    name = _name("pw")
    session = login(api, "admin")
    answers = [
        session.post(
            "/admin/users",
            data={"username": name, "password": secret_one, "role": "analyst", "csrf_token": session.csrf},
        ),
        session.post(
            f"/admin/users/{name}/password", data={"password": secret_two, "csrf_token": session.csrf}
        ),
        session.post(  # refused (the name is taken): the page is shown again, without the password
            "/admin/users",
            data={"username": name, "password": secret_one, "role": "analyst", "csrf_token": session.csrf},
        ),
        session.post(f"/admin/users/{name}/password", data={"password": "short", "csrf_token": session.csrf}),
        api.client("admin").patch(f"/api/admin/users/{name}", json={"password": secret_one}),
        api.client("admin").get("/api/admin/users"),
        api.client("admin").get("/api/admin/audit", params={"page_size": 500}),
        session.get(f"/admin/users/{name}"),
        session.get("/admin/audit"),
    ]
    assert answers[2].status_code == 400 and answers[3].status_code == 400
    audit = repr(read_audit(api.app.state.engine, limit=1000))
    for secret in (secret_one, secret_two):
        for r in answers:
            assert secret not in r.text and secret not in str(r.url)
        assert secret not in caplog.text and secret not in audit
    actions = [r["action"] for r in read_audit(api.app.state.engine, limit=1000) if r["target"] == name]
    assert actions.count("user.password") == 2


def test_a_new_password_ends_the_accounts_sessions(api):
    engine = api.app.state.engine
    name = _name("sess")
    auth.add_user(engine, name, PASSWORD, "analyst", actor="test")
    theirs = login(api, name)
    assert theirs.get("/api/me").status_code == 200
    admin = login(api, "admin")
    r = admin.post(
        f"/admin/users/{name}/password",
        data={"password": "a-brand-new-password", "csrf_token": admin.csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("done=password")
    assert theirs.get("/api/me").status_code == 401
    assert admin.get("/api/me").status_code == 200


# -- API tokens -----------------------------------------------------------------------------------
def test_a_new_token_is_shown_once_and_can_be_revoked(api):
    engine = api.app.state.engine
    name = _name("bot")
    auth.add_user(engine, name, PASSWORD, "analyst", actor="test")
    session = login(api, "admin")
    r = session.post(
        "/admin/tokens", data={"username": name, "label": "夜间导出", "csrf_token": session.csrf}
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    token = re.search(r'id="new-token-value">([^<]+)<', r.text).group(1)
    token_id = auth.token_id_of(token)
    bot = api.client()
    bot.headers["Authorization"] = f"Bearer {token}"
    assert bot.get("/api/me").json()["username"] == name

    secret = token.split("_", 2)[2]
    for again in (
        session.get("/admin/tokens"),
        session.get(f"/admin/users/{name}"),
        session.get("/admin/audit"),
    ):
        assert again.status_code == 200 and token_id in again.text and secret not in again.text
    listed = api.client("admin").get("/api/admin/tokens", params={"username": name}).json()
    assert listed == [
        {
            "token_id": token_id,
            "username": name,
            "label": "夜间导出",
            "created_at": listed[0]["created_at"],
            "revoked": False,
        }
    ]
    assert secret not in repr(read_audit(engine, limit=1000))

    r = session.post(
        f"/admin/tokens/{token_id}/revoke", data={"csrf_token": session.csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert bot.get("/api/me").status_code == 401
    assert (
        api.client("admin").get("/api/admin/tokens", params={"username": name}).json()[0]["revoked"] is True
    )
    assert api.client("admin").delete("/api/admin/tokens/000000000000").status_code == 404
    assert [r["action"] for r in read_audit(engine, limit=1000) if r["target"] == name][:2] == [
        "token.revoke",
        "token.create",
    ]


def test_token_via_api_is_in_the_answer_only(api):
    name = _name("api")
    auth.add_user(api.app.state.engine, name, PASSWORD, "analyst", actor="test")
    r = api.client("admin").post("/api/admin/tokens", json={"username": name, "label": "etl"})
    assert r.status_code == 201
    out = r.json()
    assert out["token"].startswith(f"cr_{out['token_id']}_") and out["username"] == name
    assert out["token"] not in api.client("admin").get("/api/admin/tokens").text
    assert (
        api.client("admin").post("/api/admin/tokens", json={"username": _name("nobody")}).status_code == 404
    )
    bad = api.client("admin").post("/api/admin/tokens", json={"username": name, "label": "a\nb"})
    assert bad.status_code == 400 and "control characters" in bad.json()["detail"]


# -- roles and regions ------------------------------------------------------------------------------
def test_roles_list_permissions_and_all_region_roles(api):
    from churnradar.api.roles import PERMISSIONS, Role

    rows = {r["role"]: r for r in api.client("admin").get("/api/admin/roles").json()}
    assert set(rows) == {r.value for r in Role}
    for r in Role:
        assert rows[r.value]["permissions"] == sorted(PERMISSIONS[r])
    assert rows["admin"]["all_regions"] and not rows["regional_manager"]["all_regions"]
    assert rows["admin"]["users"] >= 1
    page = login(api, "admin").get("/admin/roles")
    assert page.status_code == 200 and "区域经理" in page.text and "用户管理" in page.text


def test_region_choices_are_the_stores_counties_and_grids_by_name(api):
    import duckdb

    con = duckdb.connect(str(api.world.store), read_only=True)
    try:
        rows = con.execute("SELECT grid_id, grid_name, county_id, county_name FROM region").fetchall()
    finally:
        con.close()
    choices = api.client("admin").get("/api/admin/regions").json()
    assert {c["county_id"]: c["county_name"] for c in choices} == {c: n for _, _, c, n in rows}
    assert {g["grid_id"]: g["grid_name"] for c in choices for g in c["grids"]} == {g: n for g, n, *_ in rows}
    page = login(api, "admin").get("/admin/users").text
    for grid, grid_name, county, county_name in rows:
        assert f'<option value="{grid}"' in page and grid_name in page
        assert f'<option value="{county}"' in page and county_name in page
    # a regional manager's row shows names, not codes
    mgr = _name("named")
    auth.add_user(api.app.state.engine, mgr, PASSWORD, "regional_manager", [api.world.county_a], actor="test")
    county_name = next(n for _, _, c, n in rows if c == api.world.county_a)
    listing = login(api, "admin").get("/admin/users").text
    row = re.search(rf'<tr data-user="{mgr}">.*?</tr>', listing, flags=re.S).group(0)
    assert county_name in row and api.world.county_a not in row.replace(f"/admin/users/{mgr}", "")
    regions_page = login(api, "admin").get("/admin/regions").text
    assert mgr in regions_page
    # the audit log names the regions too
    audit = login(api, "admin").get("/admin/audit", params={"actor": "test", "action": "user.add"}).text
    row = re.search(rf'<tr data-action="user.add">(?:(?!</tr>).)*?{mgr}.*?</tr>', audit, flags=re.S).group(0)
    assert county_name in row and "区域经理" in row


def test_the_page_form_creates_changes_and_removes_an_account(api):
    w = api.world
    s = login(api, "admin")
    name = _name("form")
    r = s.post(
        "/admin/users",
        data={
            "username": name,
            "password": PASSWORD,
            "role": "regional_manager",
            "regions": [w.county_a, w.grid_a],
            "csrf_token": s.csrf,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{name}?done=created"
    assert "账号已创建" in s.get(r.headers["location"]).text
    users = {u["username"]: u for u in auth.list_users(api.app.state.engine)}
    assert users[name]["regions"] == sorted([w.county_a, w.grid_a])
    # an analyst takes no regions: the form's selection is dropped for all-region roles
    r = s.post(
        f"/admin/users/{name}",
        data={"role": "analyst", "regions": [w.county_a], "csrf_token": s.csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert {u["username"]: u for u in auth.list_users(api.app.state.engine)}[name]["regions"] == []
    r = s.post(f"/admin/users/{name}", data={"role": "agent", "csrf_token": s.csrf})
    assert r.status_code == 400 and "至少需要分配一个区县或网格" in r.text
    r = s.post(f"/admin/users/{name}/delete", data={"csrf_token": s.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?done=removed"
    assert name not in {u["username"] for u in auth.list_users(api.app.state.engine)}
    r = s.post(f"/admin/users/{name}/delete", data={"csrf_token": s.csrf})
    assert r.status_code == 404 and f"没有账号 {name}" in r.text
    assert s.get(f"/admin/users/{name}").status_code == 404
    # one's own account: no removal button, and the post is refused with the reason
    assert 'id="remove-user"' not in s.get("/admin/users/admin").text
    r = s.post("/admin/users/admin/delete", data={"csrf_token": s.csrf})
    assert r.status_code == 400 and "不能删除自己的账号" in r.text


# -- the audit log ----------------------------------------------------------------------------------
def test_audit_log_is_paged_newest_first_and_filtered(api):
    engine = api.app.state.engine
    name = _name("aud")
    auth.add_user(engine, name, PASSWORD, "admin", actor="test")
    actor = api.client()
    actor.headers["Authorization"] = f"Bearer {auth.create_token(engine, name, actor='test')}"
    made = []
    for i in range(5):
        u = _name(f"t{i}")
        made.append(u)
        assert (
            actor.post(
                "/api/admin/users", json={"username": u, "password": PASSWORD, "role": "analyst"}
            ).status_code
            == 201
        )
    assert actor.delete(f"/api/admin/users/{made[0]}").status_code == 200
    admin = api.client("admin")
    first = admin.get("/api/admin/audit", params={"actor": name, "page_size": 4}).json()
    second = admin.get("/api/admin/audit", params={"actor": name, "page_size": 4, "page": 2}).json()
    assert first["total"] == second["total"] == 6
    rows = first["rows"] + second["rows"]
    assert [r["target"] for r in rows] == [made[0], *reversed(made)]  # newest first
    ids = [r["audit_id"] for r in rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    assert {r["action"] for r in rows} == {"user.add", "user.remove"}
    family = admin.get("/api/admin/audit", params={"actor": name, "action": "user"}).json()
    exact = admin.get("/api/admin/audit", params={"actor": name, "action": "user.remove"}).json()
    assert family["total"] == 6 and exact["total"] == 1 and exact["rows"][0]["target"] == made[0]
    assert {"user.remove", "token.create"} <= set(family["actions"])
    today = datetime.now(UTC).date()
    tomorrow, yesterday = (today + timedelta(days=1)).isoformat(), (today - timedelta(days=1)).isoformat()
    assert admin.get("/api/admin/audit", params={"actor": name, "since": tomorrow}).json()["total"] == 0
    assert (
        admin.get("/api/admin/audit", params={"actor": name, "since": yesterday, "until": tomorrow}).json()[
            "total"
        ]
        == 6
    )
    assert admin.get("/api/admin/audit", params={"actor": name, "until": yesterday}).json()["total"] == 0
    r = admin.get("/api/admin/audit", params={"since": tomorrow, "until": yesterday})
    assert r.status_code == 400 and "before it starts" in r.json()["detail"]
    # the page: the same rows, action names in Chinese, paged, filters kept in the pager's links
    page = login(api, "admin").get("/admin/audit", params={"actor": name, "action": "user"})
    assert page.status_code == 200 and page.text.count('<tr data-action="user.') == 6
    assert "删除账号" in page.text and "新增账号" in page.text
    assert page.text.index(made[4]) < page.text.index(made[1])
    assert login(api, "admin").get("/admin/audit", params={"since": "07/12/2026"}).status_code == 400
    assert audit_page(engine, actor=name, page=3, page_size=4)["rows"] == []
