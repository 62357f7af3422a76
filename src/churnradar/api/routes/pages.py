"""The dashboard: server-rendered Jinja2 pages with htmx and ECharts (all assets served locally).

Pages call the same scoped queries as the JSON API; forms carry the session's CSRF token and htmx
sends it as ``X-CSRF-Token``. zh-CN is the default language; ``/lang/en`` switches (a cookie).
"""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from churnradar.api import auth
from churnradar.api.auth import Principal
from churnradar.api.data import RISK_LEVELS, STATUS_FILTERS, RiskFilters
from churnradar.api.deps import PrincipalDep, client_of, csrf_protect
from churnradar.api.messages import code_label, localise, tr
from churnradar.api.roles import PERMISSIONS, require
from churnradar.errors import ChurnRadarError
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


# -- pages ---------------------------------------------------------------------------------------
@router.get("/")
def overview_page(request: Request, p: PrincipalDep) -> Response:
    ov = request.app.state.data.overview(p.scope)
    lang = lang_of(request)
    months = [str(m["month"])[:7] for m in ov["monthly"]]
    chart = {
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "xAxis": {"type": "category", "data": months},
        "yAxis": [{"type": "value"}, {"type": "value", "axisLabel": {"formatter": "{value}"}}],
        "series": [
            {
                "name": tr("chart.deregistered", lang),
                "type": "bar",
                "stack": "c",
                "data": [m["deregistered"] for m in ov["monthly"]],
            },
            {
                "name": tr("chart.ported_out", lang),
                "type": "bar",
                "stack": "c",
                "data": [m["ported_out"] for m in ov["monthly"]],
            },
            {
                "name": tr("chart.churn_rate", lang),
                "type": "line",
                "yAxisIndex": 1,
                # a month without a rate (or not final yet) is a gap in the line, never 0%
                "data": [
                    None
                    if m["churn_rate"] is None or m.get("provisional")
                    else round(m["churn_rate"] * 100, 2)
                    for m in ov["monthly"]
                ],
            },
        ],
    }
    return render(request, "overview.html", ov=ov, chart=chart)


@router.get("/regions")
def regions_page(
    request: Request, p: PrincipalDep, county: Annotated[str | None, Query(pattern=SAFE_ID)] = None
) -> Response:
    d = request.app.state.data.drill(p.scope, county)
    lang = lang_of(request)
    names = [(r["name_en"] if lang == "en" else r["name"]) or r["id"] for r in d["rows"]]
    chart = {
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": names},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": tr("col.churn_rate_12m", lang),
                "type": "bar",
                "data": [
                    None if r["churn_rate_12m"] is None else round(r["churn_rate_12m"] * 100, 2)
                    for r in d["rows"]
                ],
                "cursor": "pointer",
            }
        ],
        # app.js: a click on a bar opens this link (county → its grids, grid → its risk list)
        "_links": [
            f"/regions?county={r['id']}" if d["level"] == "county" else f"/risk?region={r['id']}"
            for r in d["rows"]
        ],
    }
    return render(request, "regions.html", d=d, chart=chart)


@router.get("/reasons")
def reasons_page(request: Request, p: PrincipalDep) -> Response:
    r = request.app.state.data.reasons(p.scope)
    lang = lang_of(request)
    totals: dict[str, int] = {}
    for row in r["labelled"]:
        totals[row["reason_code"]] = totals.get(row["reason_code"], 0) + row["n"]
    chart = {
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "pie",
                "radius": "65%",
                "data": [{"name": code_label("reason", k, lang), "value": v} for k, v in totals.items()],
            }
        ],
    }
    return render(request, "reasons.html", r=r, chart=chart)


@router.get("/packages")
def packages_page(request: Request, p: PrincipalDep) -> Response:
    rows = request.app.state.data.package_view(p.scope)
    return render(request, "packages.html", rows=rows)


#: rows per page the risk list offers (the first is the default)
PAGE_SIZES = (25, 50, 100, 200)


def _back_to_list(request: Request) -> str:
    """Where the subscriber page's back link goes: the list page (with its filters) the user came
    from when it is one of ours, else the risk list."""
    from urllib.parse import urlsplit

    ref = urlsplit(request.headers.get("referer", ""))
    same_site = not ref.netloc or ref.netloc == request.url.netloc
    if same_site and (ref.path in ("/risk", "/campaigns") or ref.path.startswith("/campaigns/")):
        return _safe_next(ref.path + (f"?{ref.query}" if ref.query else ""))
    return "/risk"


def wants_fragment(request: Request) -> bool:
    """Does htmx ask for the page's fragment only? Not when it restores history (Back with an empty
    history cache sends ``HX-History-Restore-Request`` and needs the whole page)."""
    h = request.headers
    return h.get("HX-Request") == "true" and h.get("HX-History-Restore-Request") != "true"


def _risk_filters(
    region: str | None,
    segment: str | None,
    package: str | None,
    risk: str | None,
    value: str | None,
    status: str | None = None,
) -> RiskFilters:
    clean = {
        k: (v or None) for k, v in dict(region=region, segment=segment, package=package, value=value).items()
    }
    return RiskFilters(
        **clean,
        risk=risk if risk in RISK_LEVELS else None,
        status=status if status in STATUS_FILTERS else None,
    )


@router.get("/risk")
def risk_page(
    request: Request,
    p: PrincipalDep,
    region: Annotated[str | None, Query(max_length=64)] = None,
    segment: Annotated[str | None, Query(max_length=64)] = None,
    package: Annotated[str | None, Query(max_length=64)] = None,
    risk: Annotated[str | None, Query(max_length=16)] = None,
    value: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZES[0],
) -> Response:
    data = request.app.state.data
    f = _risk_filters(region, segment, package, risk, value, status)
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    result = data.risk_list(p.scope, f, page=page, page_size=size)
    query = {k: v for k, v in f.__dict__.items() if v is not None and k != "min_p"}
    paging = {**query, **({"size": size} if size != PAGE_SIZES[0] else {})}
    lang = lang_of(request)
    names = {
        pk["package_id"]: (pk.get("package_name_en") if lang == "en" else pk.get("package_name"))
        for pk in data.packages()
    }
    ctx = {
        "result": result,
        "package_name": lambda code: names.get(code) or code or "",
        "f": f,
        "query": urlencode(query),
        "next_q": urlencode({**paging, "page": page + 1}),
        "prev_q": urlencode({**paging, "page": page - 1}),
        "size": size,
        "sizes": PAGE_SIZES,
    }
    if wants_fragment(request):
        return render(request, "_risk_table.html", **ctx)
    return render(
        request,
        "risk.html",
        regions=data.regions(p.scope),
        packages=data.packages(),
        segments=_segment_options(lang),
        tiers=_value_options(lang),
        **ctx,
    )


@router.get("/subscribers/{subscriber_id}")
def subscriber_page(
    request: Request, p: PrincipalDep, subscriber_id: Annotated[str, Path(pattern=SAFE_ID)]
) -> Response:
    s = request.app.state.data.subscriber(p.scope, subscriber_id)
    lang = lang_of(request)
    h = s["history"]
    chart = {
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "xAxis": {"type": "category", "data": [str(r["month"])[:7] for r in h]},
        "yAxis": [{"type": "value"}, {"type": "value"}],
        "series": [
            {"name": tr("col.revenue", lang), "type": "bar", "data": [r["revenue"] for r in h]},
            {"name": tr("col.mou", lang), "type": "line", "yAxisIndex": 1, "data": [r["mou"] for r in h]},
        ],
    }
    return render(
        request, "subscriber.html", s=s, sid=subscriber_id, chart=chart, back=_back_to_list(request)
    )


@router.get("/campaigns")
def campaigns_page(request: Request, p: PrincipalDep) -> Response:
    from churnradar.api.routes.campaigns import campaigns

    require(p.role, "campaigns")
    return render(request, "campaigns.html", rows=campaigns(p, request))


@router.get("/campaigns/{campaign_id}")
def campaign_page(
    request: Request, p: PrincipalDep, campaign_id: str, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> Response:
    from churnradar.api.routes.campaigns import campaign, contacts

    require(p.role, "campaigns")
    c = campaign(campaign_id, p, request)
    cl = contacts(campaign_id, p, request, page=page, page_size=50)
    return render(request, "campaign.html", c=c, cl=cl, cid=campaign_id, page=page, new_key=_key)


def _key() -> str:
    return "web-" + uuid.uuid4().hex


@router.post("/campaigns/{campaign_id}/contacts/{contact_id}/outcome")
def outcome_form(
    request: Request,
    campaign_id: str,
    contact_id: str,
    p: Annotated[Principal, Depends(csrf_protect)],
    idempotency_key: Annotated[str, Form(min_length=8, max_length=128)],
    accepted: Annotated[str, Form(pattern="^(yes|no)$")],
) -> Response:
    """The dashboard's outcome button (htmx): records through the API's function, returns the cell."""
    from churnradar.api.routes.campaigns import OutcomeIn, post_outcome

    body = OutcomeIn(idempotency_key=idempotency_key, accepted=accepted == "yes")
    try:
        res = post_outcome(campaign_id, contact_id, body, request, p)
        out = json.loads(res.body)
        msg = (
            tr("camp.recorded", lang_of(request))
            + " · "
            + tr("yes" if out["accepted"] else "no", lang_of(request))
        )
    except ChurnRadarError as exc:
        from churnradar.api.errors import status_of

        return render(request, "_outcome_cell.html", status=status_of(exc), message=str(exc), ok=False)
    return render(request, "_outcome_cell.html", message=msg, ok=True)


@router.get("/forecast")
def forecast_page(
    request: Request, p: PrincipalDep, county: Annotated[str | None, Query(pattern=SAFE_ID)] = None
) -> Response:
    from churnradar.api.routes.reports import forecast_rows

    require(p.role, "reports")
    fc = forecast_rows(request, p, 6, county)
    return render(request, "forecast.html", fc=fc, chart=_forecast_chart(fc))


def _forecast_chart(fc: dict[str, Any]) -> dict[str, Any] | None:
    rows = fc.get("rows") or []
    if not rows:
        return None
    series: dict[str, dict[str, float]] = {}
    for r in rows:
        series.setdefault(str(r["region"]), {})[r["month"]] = r.get("forecast")
    months = sorted({r["month"] for r in rows})
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value"},
        "series": [
            {"name": k, "type": "line", "data": [v.get(m) for m in months]} for k, v in sorted(series.items())
        ],
    }


@router.get("/reports")
def reports_page(
    request: Request, p: PrincipalDep, county: Annotated[str | None, Query(pattern=SAFE_ID)] = None
) -> Response:
    require(p.role, "reports")
    from churnradar.api.routes.reports import available_reports

    data = request.app.state.data
    counties = (
        sorted({c for _, c in data.region_rows()}) if p.scope.everything else data.full_counties(p.scope)
    )
    if county is not None and county not in counties:
        from churnradar.api.roles import NotInScope

        raise NotInScope(f"no county {county!r} in your regions")
    if county is None and not p.scope.everything and counties:
        county = counties[0]
    return render(request, "reports.html", reports=available_reports(), counties=counties, county=county)


@router.get("/model")
def model_page(request: Request, p: PrincipalDep) -> Response:
    require(p.role, "model")
    data = request.app.state.data
    rows = data.model_rows()
    return render(request, "model.html", rows=rows, current=data.current_model(rows))
