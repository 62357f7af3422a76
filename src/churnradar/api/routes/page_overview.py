"""Dashboard pages: the overview (KPI cards), the region drill, churn reasons and packages.

Each page reads its filters from the URL through one parser (:func:`churnradar.views.filters.parse`)
and draws the filter bar (``_filter_bar.html``) with the filters it honours; a county or grid
outside the reader's regions is a 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from churnradar.api.deps import PrincipalDep
from churnradar.api.messages import code_label, tr
from churnradar.api.routes.pages import filter_bar, lang_of, render

router = APIRouter(include_in_schema=False)


def page_filters(request: Request, p: Any, page: str) -> Any:
    """The filters of ``page`` in the request's URL (unknown codes of a stale link are dropped; a
    region outside the reader's scope is a 404)."""
    return request.app.state.data.filters(p.scope, page, request.query_params, strict=False)


def _query(**q: Any) -> str:
    """A query string of the parameters set (None and empty left out)."""
    return urlencode({k: v for k, v in q.items() if v})


def _with(f: Any, **q: Any) -> str:
    """The query string of the filters ``f`` with ``q`` set (None: removed)."""
    return _query(**{**f.query(), **q})


@router.get("/")
def overview_page(request: Request, p: PrincipalDep) -> Response:
    f = page_filters(request, p, "overview")
    ov = request.app.state.data.overview(p.scope, f)
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
        # app.js: a click on a month shows that month's figures
        "_links": [f"/?{_with(f, month=m)}" for m in months],
    }
    # the KPI cards read the page's filters (``filters``: county or grid; the month from the URL)
    return render(
        request,
        "overview.html",
        ov=ov,
        chart=chart,
        filters=f,
        bar=filter_bar(request, "overview", f),
    )


@router.get("/regions")
def regions_page(request: Request, p: PrincipalDep) -> Response:
    f = page_filters(request, p, "regions")
    d = request.app.state.data.drill(p.scope, f.county, f.month)
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
        "_links": [drill_link(f, d["level"], r["id"]) for r in d["rows"]],
    }
    return render(
        request,
        "regions.html",
        d=d,
        chart=chart,
        drill_link=lambda rid: drill_link(f, d["level"], rid),
        rate_class=rate_class,
        bar=filter_bar(request, "regions", f),
    )


def drill_link(f: Any, level: str, rid: str) -> str:
    """Where a county drills (its grids, the month kept) and where a grid drills (its risk list)."""
    if level == "county":
        return f"/regions?{_with(f, county=rid)}"
    return f"/risk?{_query(county=f.county, grid=rid)}"


def rate_class(rate: float | None, total: float | None) -> str:
    """A rate's colour against the total's: ``hot`` above 1.2 times it, ``cool`` below 0.8 times."""
    if rate is None or not total:
        return ""
    return "hot" if rate > 1.2 * total else "cool" if rate < 0.8 * total else ""


@router.get("/reasons")
def reasons_page(request: Request, p: PrincipalDep) -> Response:
    f = page_filters(request, p, "reasons")
    r = request.app.state.data.reasons(p.scope, f)
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
    return render(request, "reasons.html", r=r, chart=chart, bar=filter_bar(request, "reasons", f))


@router.get("/packages")
def packages_page(request: Request, p: PrincipalDep) -> Response:
    f = page_filters(request, p, "packages")
    rows = request.app.state.data.package_view(p.scope, f)
    start = sum(r["start"] for r in rows)
    churned = sum(r["churned"] for r in rows)
    total = {
        "subscribers": sum(r["subscribers"] for r in rows),
        "churned": churned,
        "churn_rate": churned / start if start else None,
    }
    return render(
        request,
        "packages.html",
        rows=rows,
        total=total,
        rate_class=rate_class,
        risk_link=lambda pid: f"/risk?{_query(county=f.county, grid=f.grid, package=pid)}",
        bar=filter_bar(request, "packages", f),
    )
