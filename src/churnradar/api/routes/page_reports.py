"""Dashboard pages: the forecast, the report downloads and the model registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from churnradar.api.deps import PrincipalDep
from churnradar.api.roles import require
from churnradar.api.routes.pages import (
    SAFE_ID,
    render,
)

router = APIRouter(include_in_schema=False)


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
