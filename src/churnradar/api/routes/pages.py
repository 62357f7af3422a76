"""The dashboard: server-rendered Jinja2 pages with htmx and ECharts (all assets served locally).

Pages call the same scoped queries as the JSON API; forms carry the session's CSRF token and htmx
sends it as ``X-CSRF-Token``. zh-CN is the default language; ``/lang/en`` switches (a cookie).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from churnradar.api import auth
from churnradar.api.auth import Principal
from churnradar.api.deps import client_of, csrf_protect
from churnradar.api.messages import code_label, localise, tr
from churnradar.api.roles import PERMISSIONS
from churnradar.views._json import jsonable as _jsonable

router = APIRouter(include_in_schema=False)

templates = Jinja2Templates(directory=FsPath(__file__).parent.parent / "templates")
LANG_COOKIE = "churnradar_lang"
SAFE_ID = r"^[A-Za-z0-9_.:\-]{1,64}$"


def lang_of(request: Request) -> str:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = lang_of(request)
    p: Principal | None = getattr(request.state, "principal", None)
    base = {
        "lang": lang,
        "t": lambda key, **v: tr(key, lang, **v),
        "code": lambda kind, c: code_label(kind, c, lang),
        "localise": lambda detail: localise(detail, lang),
        "user": p,
        "perms": PERMISSIONS[p.role] if p else frozenset(),
        "csrf": p.csrf_token if p else "",
        "path": request.url.path,
        # where the language toggle returns: this page with its filters (app.js keeps it current
        # when htmx pushes a new URL)
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "pct": _pct,
        "num": _num,
        "month": _month,
        "cell": _cell,
        "is_number": _is_number,
        "colname": lambda key: _colname(key, lang),
        "event_reason": lambda c: _event_reason(c, lang),
        "tojson": lambda v: json.dumps(_jsonable(v), ensure_ascii=False),
        "reason_codes": _reasons_of,
        "value_of": lambda row: _value_of(row, lang),
        "action_of": lambda row: _action_of(row, lang),
        "segment_of": lambda row: _segment_of(row, lang),
    }
    return templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status)


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, detail=detail)


def _reasons_of(row: dict[str, Any] | None) -> list[str]:
    from churnradar.views.scores import reason_codes as _reason_codes

    if not row:
        return []
    for c in ("reasons", "top_reasons", "reason_codes", "top_reason", "reason_code"):
        if row.get(c) is not None:
            return _reason_codes(row[c])
    return []


VALUE_TIERS = ("high", "mid", "low")


def _tier_label(tier: str, lang: str) -> str:
    from churnradar.retention.policy import VALUE_LABELS

    if lang == "zh":
        return VALUE_LABELS.get(tier, tier)
    return f"{tier} value" if tier in VALUE_LABELS else tier


def _value_options(lang: str) -> list[tuple[str, str]]:
    """(code, label) of the value tiers, highest first."""
    return [(v, _tier_label(v, lang)) for v in VALUE_TIERS]


def _segment_options(lang: str) -> list[tuple[str, str]]:
    """(code, label) of every value × risk segment of the retention policy."""
    from churnradar.retention.policy import Policy, segment_label

    risks = list(reversed(Policy.load().risk_names))
    return [(f"{v}×{r}", segment_label(f"{v}×{r}", lang)) for v in VALUE_TIERS for r in risks]


def _value_of(row: dict[str, Any] | None, lang: str = "zh") -> str:
    if not row:
        return ""
    parts = []
    for c in ("value_tier", "tier"):
        if row.get(c) is not None:
            parts.append(_tier_label(str(row[c]), lang))
            break
    for c in ("clv", "value"):
        if isinstance(row.get(c), int | float):
            parts.append(f"{row[c]:,.0f}")
            break
    return " · ".join(parts)


def _action_of(row: dict[str, Any] | None, lang: str = "zh") -> str:
    if not row:
        return ""
    for c in (f"action_{lang}", "recommended_action", "action"):
        if row.get(c):
            return str(row[c])
    return ""


def _segment_of(row: dict[str, Any] | None, lang: str = "zh") -> str:
    seg = (row or {}).get("segment")
    if not seg:
        return ""
    try:
        from churnradar.retention.policy import segment_label

        return segment_label(seg, lang)
    except Exception:
        return str(seg)


def _pct(v: Any) -> str:
    return "" if v is None else f"{float(v) * 100:.1f}%"


def _num(v: Any, digits: int = 0) -> str:
    if v is None:
        return ""
    return f"{float(v):,.{digits}f}"


def _month(v: Any) -> str:
    """A month as ``YYYY-MM`` (a date, a datetime or an ISO text), whatever day it carries."""
    if v is None or v == "":
        return ""
    return str(v)[:7]


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


#: keys of generic tables (forecast, model registry) that hold a month
_MONTH_KEYS = ("month", "as_of", "score_month", "data_month", "train_end", "trained_through")


def _cell(key: str, v: Any) -> str:
    """One value of a generic table: months as ``YYYY-MM``, numbers with thousands separators."""
    if v is None:
        return ""
    if key in _MONTH_KEYS or key.endswith("_month"):
        return _month(v)
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) >= 1 or v == 0 else f"{v:.3f}"
    return str(v)


def _event_reason(code: Any, lang: str) -> str:
    """The reason of a lifecycle event (``arrears`` → 欠费) in ``lang``; the code when unknown."""
    from churnradar.i18n import enum_label
    from churnradar.schema import enums as E

    return enum_label(E.EVENT_REASON, code, lang) if code else ""


def _colname(key: str, lang: str) -> str:
    text = tr(f"col.{key}", lang)
    return key if text == f"col.{key}" else text


# -- login / logout / language -------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str = "/", error: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", login_csrf=token, next=_safe_next(next), error=error)
    resp.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=3600,
    )
    return resp


def _safe_next(next: str) -> str:
    # a local path only: "//host" and "/\\host" would leave the site
    ok = next.startswith("/") and not next.startswith(("//", "/\\")) and "\r" not in next and "\n" not in next
    return next if ok else "/"


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    """Password login from the form (double-submit CSRF cookie; rate limited; audited)."""
    cookie = request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        raise auth.CsrfError("login form expired or forged: reload the login page")
    engine = request.app.state.engine
    try:
        uid = auth.authenticate(engine, username, password, client_of(request))
    except auth.RateLimited as exc:
        resp = login_form(request, next=next, error=tr("login.limited", lang_of(request)))
        resp.status_code = 429
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except auth.AuthError:
        resp = login_form(request, next=next, error=tr("login.failed", lang_of(request)))
        resp.status_code = 401
        return resp
    value, _csrf = auth.create_session(engine, uid)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        auth.SESSION_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(auth.SESSION_TTL.total_seconds()),
    )
    resp.delete_cookie(auth.LOGIN_CSRF_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, p: Annotated[Principal, Depends(csrf_protect)]) -> Response:
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie:
        auth.end_session(request.app.state.engine, cookie)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(auth.SESSION_COOKIE)
    return resp


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, next: str = "/") -> Response:
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(LANG_COOKIE, "en" if code == "en" else "zh", samesite="lax", max_age=365 * 86400)
    return resp


def wants_fragment(request: Request) -> bool:
    """Does htmx ask for the page's fragment only? Not when it restores history (Back with an empty
    history cache sends ``HX-History-Restore-Request`` and needs the whole page)."""
    h = request.headers
    return h.get("HX-Request") == "true" and h.get("HX-History-Restore-Request") != "true"


# -- the filter bar (every analytical page) ------------------------------------------------------
def filter_bar(
    request: Request,
    page: str,
    f: Any,
    *,
    target: str | None = None,
    form_id: str = "filter-bar",
    apply_id: str = "filter-apply",
) -> dict[str, Any]:
    """What ``_filter_bar.html`` draws for ``page`` (a key of
    :data:`churnradar.views.filters.PAGE_FILTERS`) with the filters ``f`` in force: the choices of
    the reader's regions in the page's language, the data and score months, and the breadcrumbs
    (operator › county › grid) as links that keep the other filters. With ``target`` the form
    swaps that element through htmx and pushes the URL."""
    p: Principal = request.state.principal
    data = request.app.state.data
    lang = lang_of(request)
    choices = data.filter_choices(p.scope, page, lang)
    values = f.query()
    path = request.url.path

    def link(**q: Any) -> str:
        from urllib.parse import urlencode

        kept = {k: v for k, v in {**values, **q}.items() if v}
        return path + (f"?{urlencode(kept)}" if kept else "")

    name = {c["code"]: c["label"] for k in ("county", "grid") for c in choices.get(k, [])}
    crumbs = [(tr("filters.operator", lang), link(county=None, grid=None) if f.county or f.grid else None)]
    if f.county:
        crumbs.append((name.get(f.county, f.county), link(grid=None) if f.grid else None))
    if f.grid:
        crumbs.append((name.get(f.grid, f.grid), None))
    info = data.score_info()
    last = data.store.data_months()[1]
    return {
        "page": page,
        "action": path,
        "target": target,
        "form_id": form_id,
        "apply_id": apply_id,
        "choices": choices,
        "values": values,
        "crumbs": crumbs if "county" in choices else [],
        "data_month": _month(last),
        "score_month": _month(info.get("as_of")),
    }
