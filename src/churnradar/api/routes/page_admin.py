"""Dashboard pages for administrators: accounts, roles, regions, API tokens and the audit log.

The pages call the same library functions as ``/api/admin/...`` (:mod:`churnradar.api.auth`,
:func:`churnradar.opstore.audit_page`, :mod:`churnradar.views.admin`). Every form posts the
session's CSRF token; a write answers with a redirect back to the page (so reloading never repeats
it), except a new API token, whose page shows the token once and is never cached. A refused change
shows the page again with the reason in the reader's language.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from churnradar.api import auth
from churnradar.api.auth import Principal
from churnradar.api.deps import client_of, permission
from churnradar.api.messages import tr
from churnradar.api.roles import ALL_REGION_ROLES, PERMISSIONS, Role
from churnradar.api.routes.admin import USERNAME_PATTERN, admin_write
from churnradar.api.routes.pages import lang_of, render
from churnradar.errors import ConfigError
from churnradar.opstore import audit_actions, audit_page
from churnradar.views import admin as admin_views

router = APIRouter(include_in_schema=False)

AdminPage = Annotated[Principal, Depends(permission("users"))]
AuditPage = Annotated[Principal, Depends(permission("audit"))]
AdminForm = Annotated[Principal, Depends(admin_write)]
Name = Annotated[str, Path(pattern=USERNAME_PATTERN)]
TokenName = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]

#: what a redirect after a write may announce (``?done=``)
DONE = ("created", "updated", "password", "removed", "revoked")
AUDIT_PAGE_SIZE = 50
#: regions an account may be given in one form, at most
MAX_REGIONS = 500


def _done(done: str | None) -> str | None:
    return f"admin.done.{done}" if done in DONE else None


def _problem(exc: auth.UserError, lang: str) -> str:
    """The reason a change was refused, in ``lang`` (the library's English message when it has no key)."""
    if exc.key:
        text = tr(exc.key, lang, **exc.values)
        if text != exc.key:
            return text
    return str(exc)


def _common(request: Request) -> dict[str, Any]:
    """What every administration page shows: region choices and names, roles and their labels."""
    store = request.app.state.data.store
    lang = lang_of(request)
    names = admin_views.region_names(store, lang)
    return {
        "choices": admin_views.region_choices(store),
        "region_name": lambda rid: names.get(rid, rid),
        "roles": [r.value for r in Role],
        "all_region_roles": {r.value for r in ALL_REGION_ROLES},
        "county_label": lambda c: (c["county_name_en"] if lang == "en" else None) or c["county_name"],
    }


def _regions_for(role: str, regions: list[str]) -> list[str]:
    """A form's regions for ``role``: the form offers regions beside every role, and an all-region
    role takes none (its page says so), so they are dropped for admins and analysts."""
    return [] if role in {r.value for r in ALL_REGION_ROLES} else regions[:MAX_REGIONS]


# -- accounts -------------------------------------------------------------------------------------
def _users_page(request: Request, status: int = 200, **ctx: Any) -> Response:
    users = auth.list_users(request.app.state.engine)
    ctx.setdefault("form", {"username": "", "role": Role.regional_manager.value, "regions": []})
    return render(request, "admin_users.html", status=status, users=users, **_common(request), **ctx)


@router.get("/admin")
def admin_home(p: AdminPage) -> Response:
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/users")
def users_page(
    request: Request, p: AdminPage, done: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    return _users_page(request, done=_done(done))


@router.post("/admin/users")
def users_add(
    request: Request,
    p: AdminForm,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    role: Annotated[str, Form(max_length=32)],
    regions: Annotated[list[str] | None, Form()] = None,
) -> Response:
    regs = _regions_for(role, regions or [])
    try:
        auth.add_user(
            request.app.state.engine,
            username,
            password,
            role,
            regs,
            known_regions=request.app.state.data.known_regions(),
            actor=p.username,
            client=client_of(request),
        )
    except auth.UserError as exc:
        form = {"username": username, "role": role, "regions": regs}  # never the password
        return _users_page(request, status=400, problem=_problem(exc, lang_of(request)), form=form)
    return RedirectResponse(f"/admin/users/{quote(username, safe='')}?done=created", status_code=303)


def _user_page(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
    engine = request.app.state.engine
    user = next((u for u in auth.list_users(engine) if u["username"] == name), None)
    if user is None:
        raise auth.NoSuchAccount(f"no user {name!r}", "admin.err.no_user", username=name)
    tokens = auth.list_tokens(engine, name)
    return render(request, "admin_user.html", status=status, u=user, tokens=tokens, **_common(request), **ctx)


@router.get("/admin/users/{name}")
def user_page(
    request: Request, p: AdminPage, name: Name, done: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    return _user_page(request, name, done=_done(done))


def _refused(request: Request, name: str, exc: auth.UserError) -> Response:
    """The account's page again with the reason (the list when the account does not exist)."""
    problem = _problem(exc, lang_of(request))
    if isinstance(exc, auth.NoSuchAccount):
        return _users_page(request, status=404, problem=problem)
    return _user_page(request, name, status=400, problem=problem)


@router.post("/admin/users/{name}")
def user_change(
    request: Request,
    p: AdminForm,
    name: Name,
    role: Annotated[str, Form(max_length=32)],
    regions: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        auth.update_user(
            request.app.state.engine,
            name,
            role=role,
            regions=_regions_for(role, regions or []),
            known_regions=request.app.state.data.known_regions(),
            actor=p.username,
            client=client_of(request),
        )
    except auth.UserError as exc:
        return _refused(request, name, exc)
    return RedirectResponse(f"/admin/users/{quote(name, safe='')}?done=updated", status_code=303)


@router.post("/admin/users/{name}/password")
def user_password(
    request: Request, p: AdminForm, name: Name, password: Annotated[str, Form(max_length=256)]
) -> Response:
    try:
        auth.update_user(
            request.app.state.engine, name, password=password, actor=p.username, client=client_of(request)
        )
    except auth.UserError as exc:
        return _refused(request, name, exc)
    return RedirectResponse(f"/admin/users/{quote(name, safe='')}?done=password", status_code=303)


@router.post("/admin/users/{name}/delete")
def user_remove(request: Request, p: AdminForm, name: Name) -> Response:
    try:
        auth.remove_user(request.app.state.engine, name, actor=p.username, client=client_of(request))
    except auth.UserError as exc:
        return _refused(request, name, exc)
    return RedirectResponse("/admin/users?done=removed", status_code=303)


# -- API tokens -----------------------------------------------------------------------------------
def _tokens_page(request: Request, status: int = 200, **ctx: Any) -> Response:
    engine = request.app.state.engine
    ctx.setdefault("form", {"username": "", "label": ""})
    return render(
        request,
        "admin_tokens.html",
        status=status,
        tokens=auth.list_tokens(engine),
        users=[u["username"] for u in auth.list_users(engine)],
        **_common(request),
        **ctx,
    )


@router.get("/admin/tokens")
def tokens_page(
    request: Request, p: AdminPage, done: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    return _tokens_page(request, done=_done(done))


@router.post("/admin/tokens")
def tokens_create(
    request: Request,
    p: AdminForm,
    username: Annotated[str, Form(max_length=64)],
    label: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """A new token, shown on this answer only (never cached, never in a URL)."""
    try:
        token = auth.create_token(
            request.app.state.engine, username, label, actor=p.username, client=client_of(request)
        )
    except auth.UserError as exc:
        status = 404 if isinstance(exc, auth.NoSuchAccount) else 400
        return _tokens_page(
            request,
            status=status,
            problem=_problem(exc, lang_of(request)),
            form={"username": username, "label": label},
        )
    resp = _tokens_page(
        request, new_token=token, new_token_id=auth.token_id_of(token), new_token_user=username
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.post("/admin/tokens/{name}/revoke")
def tokens_revoke(request: Request, p: AdminForm, name: TokenName) -> Response:
    try:
        auth.revoke_token(request.app.state.engine, name, actor=p.username, client=client_of(request))
    except auth.UserError as exc:
        return _tokens_page(request, status=404, problem=_problem(exc, lang_of(request)))
    return RedirectResponse("/admin/tokens?done=revoked", status_code=303)


# -- roles and regions ------------------------------------------------------------------------------
@router.get("/admin/roles")
def roles_page(request: Request, p: AdminPage) -> Response:
    users = auth.list_users(request.app.state.engine)
    rows = [
        {
            "role": r.value,
            "permissions": PERMISSIONS[r],
            "all_regions": r in ALL_REGION_ROLES,
            "users": [u["username"] for u in users if u["role"] == r.value],
        }
        for r in Role
    ]
    every = sorted(set().union(*PERMISSIONS.values()))
    return render(request, "admin_roles.html", rows=rows, every=every, **_common(request))


@router.get("/admin/regions")
def regions_page(request: Request, p: AdminPage) -> Response:
    users = auth.list_users(request.app.state.engine)
    by_region: dict[str, list[str]] = {}
    for u in users:
        for r in u["regions"]:
            by_region.setdefault(r, []).append(u["username"])
    return render(request, "admin_regions.html", by_region=by_region, **_common(request))


# -- audit log --------------------------------------------------------------------------------------
def _day(text: str | None) -> date | None:
    """A day from a date field (empty: none); ValueError names the value when it is not a day."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a day; expected YYYY-MM-DD") from None


def _detail_items(detail: Any, lang: str, names: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) pairs of an audit row's detail, labels in ``lang``; values as recorded, but
    regions by name (``names``: county and grid id → name)."""
    if not isinstance(detail, dict):
        return [("", _value(detail, lang, names))] if detail not in (None, "", {}) else []
    out = []
    for k, v in detail.items():
        if v is None or v == "" or v == [] or v == {}:
            continue
        text = tr(f"audit.key.{k}", lang)
        out.append((k if text == f"audit.key.{k}" else text, _value(v, lang, names, key=k)))
    return out


#: detail keys whose values are county or grid ids
_REGION_KEYS = ("regions", "region", "county")


def _value(v: Any, lang: str, names: dict[str, str], key: str = "") -> str:
    if isinstance(v, bool):
        return tr("yes" if v else "no", lang)
    if key == "role" and isinstance(v, str):
        return tr(f"role.{v}", lang)
    if key in _REGION_KEYS and isinstance(v, str):
        return names.get(v, v)
    if isinstance(v, dict):
        sep = "；" if lang == "zh" else "; "
        return sep.join(f"{label}={text}" for label, text in _detail_items(v, lang, names))
    if isinstance(v, list | tuple):
        return ", ".join(_value(x, lang, names, key=key) for x in v)
    if isinstance(v, float):
        return f"{v:,.2f}"
    return json.dumps(v, ensure_ascii=False) if not isinstance(v, str | int) else str(v)


def _actor_label(actor: str, lang: str) -> str:
    """An account's name as it is; the command line (``cli``) named in ``lang``."""
    return tr("audit.actor.cli", lang) if actor == "cli" else actor


def _action_label(action: str, lang: str) -> str:
    text = tr(f"audit.action.{action}", lang)
    return action if text == f"audit.action.{action}" else text


@router.get("/admin/audit")
def audit_log_page(
    request: Request,
    p: AuditPage,
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    lang = lang_of(request)
    engine = request.app.state.engine
    names = admin_views.region_names(request.app.state.data.store, lang)
    filters = {"actor": actor.strip(), "action": action.strip(), "since": since, "until": until}
    problem, result = None, {"total": 0, "page": page, "page_size": AUDIT_PAGE_SIZE, "rows": []}
    try:
        result = audit_page(
            engine,
            actor=filters["actor"] or None,
            action=filters["action"] or None,
            since=_day(since),
            until=_day(until),
            page=page,
            page_size=AUDIT_PAGE_SIZE,
        )
    except ValueError:
        problem = tr("admin.err.day", lang)
    except ConfigError:
        problem = tr("admin.err.period", lang)
    query = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "admin_audit.html",
        status=400 if problem else 200,
        result=result,
        filters=filters,
        actions=audit_actions(engine),
        action_label=lambda a: _action_label(a, lang),
        detail_items=lambda d: _detail_items(d, lang, names),
        actor_label=lambda a: _actor_label(a, lang),
        problem=problem,
        next_q=urlencode({**query, "page": page + 1}),
        prev_q=urlencode({**query, "page": page - 1}),
        **_common(request),
    )
