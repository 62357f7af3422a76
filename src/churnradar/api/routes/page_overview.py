"""Dashboard pages: the overview (KPI cards), the region drill, churn reasons and packages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from churnradar.api.deps import PrincipalDep
from churnradar.api.messages import code_label, tr
from churnradar.api.routes.pages import (
    SAFE_ID,
    lang_of,
    render,
)

router = APIRouter(include_in_schema=False)


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
