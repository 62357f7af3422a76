"""Reports (HTML or XLSX downloads, built on request) and churn-count forecasts, per caller's regions.

Reports and forecasts are aggregates per county: all-region roles get the whole operator or one
county (``county``); a regional manager gets the counties wholly inside their regions. The report
builders and the forecast receive the caller's scope (:class:`~churnradar.reports.context.ReportContext`
is opened on the county *and* the caller's grids), so they never read another region's rows; nothing
is filtered after the fact. Every report download is an export and is audited.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as Path_
from fastapi.responses import Response

from churnradar.api.auth import Principal
from churnradar.api.deps import client_of, permission
from churnradar.api.roles import NotInScope, PermissionDenied
from churnradar.errors import ChurnRadarError
from churnradar.opstore import audit
from churnradar.views._json import jsonable as _jsonable

router = APIRouter(prefix="/api", tags=["reports"])

ReportsDep = Annotated[Principal, Depends(permission("reports"))]
CountyQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
MEDIA = {
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _county_for(request: Request, p: Principal, county: str | None) -> str | None:
    """The county a report or forecast covers for this caller (None: the whole operator)."""
    if p.scope.everything:
        if county is not None and county not in {c for _, c in request.app.state.data.region_rows()}:
            raise NotInScope(f"no county {county!r}")
        return county
    allowed = request.app.state.data.full_counties(p.scope)
    if county is None:
        if len(allowed) == 1:
            return allowed[0]
        if not allowed:
            raise PermissionDenied("reports cover whole counties; your regions hold no whole county")
        raise PermissionDenied(f"choose a county: one of {', '.join(allowed)}")
    if county not in allowed:
        raise NotInScope(f"no county {county!r} in your regions")
    return county


def available_reports(lang: str = "zh") -> list[dict[str, Any]]:
    """Every report the reports module builds, with its title in zh-CN and en."""
    from churnradar.i18n import t
    from churnradar.reports import report_names

    return [
        {
            "name": n,
            "title": t(f"report.{n}.title", "zh"),
            "title_en": t(f"report.{n}.title", "en"),
            "formats": ["html", "xlsx"],
        }
        for n in report_names()
    ]


@router.get("/reports")
def reports(p: ReportsDep) -> list[dict[str, Any]]:
    """The reports that can be downloaded (names, titles, formats)."""
    return available_reports()


@router.get(
    "/reports/{name}",
    response_class=Response,
    responses={200: {"content": {MEDIA["html"]: {}, MEDIA["xlsx"]: {}}}},
)
def report_download(
    name: Annotated[str, Path_(pattern=r"^[a-z_]{1,32}$")],
    request: Request,
    p: ReportsDep,
    format: Annotated[str, Query(pattern="^(html|xlsx)$")] = "html",
    lang: Annotated[str, Query(pattern="^(zh|zh-CN|en)$")] = "zh",
    county: CountyQuery = None,
    as_of: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> Response:
    """Build one report for the caller's county (or the operator) and download it (audited)."""
    from churnradar.reports import ReportContext, build_report, report_names

    if name not in report_names():
        raise NotInScope(f"no report {name!r}; expected one of {', '.join(report_names())}")
    region = _county_for(request, p, county)
    with tempfile.TemporaryDirectory(prefix="churnradar-report-") as tmp:
        with ReportContext.open(
            request.app.state.store_path, as_of, lang=lang, region=region, grids=p.scope.grids
        ) as ctx:
            rep = build_report(ctx, name)
            stem = f"{name}-{ctx.as_of:%Y-%m}" + (f"-{region}" if region else "")
        if format == "html":
            from churnradar.reports.html import render_html

            path = render_html(rep, Path(tmp) / f"{stem}.html")
        else:
            from churnradar.reports.xlsx import render_xlsx

            path = render_xlsx([rep], Path(tmp) / f"{stem}.xlsx")
        body = path.read_bytes()
    audit(
        request.app.state.engine,
        actor=p.username,
        action="export.report",
        target=name,
        client=client_of(request),
        detail={"format": format, "county": region, "lang": lang, "bytes": len(body)},
    )
    return Response(
        body, media_type=MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{path.name}"'}
    )


_FORECASTS: dict[tuple, Any] = {}
_FORECAST_LOCK = threading.Lock()
_FORECASTS_KEPT = 64


def forecast_rows(request: Request, p: Principal, months: int, county: str | None) -> dict[str, Any]:
    """The forecast of the caller's county (or, for all-region roles, the operator or one county).

    It is computed on the caller's scope (series of that county only; ``ALL`` is its total), once
    per app, horizon and scope, then cached.
    """
    region = _county_for(request, p, county) if (county or not p.scope.everything) else None
    grids = p.scope.grids
    key = (str(request.app.state.store_path), months, region, grids)
    with _FORECAST_LOCK:
        res = _FORECASTS.get(key)
        if res is None:
            from churnradar.forecast import forecast_store

            try:
                res = forecast_store(request.app.state.store_path, months, region=region, grids=grids)
            except ChurnRadarError as exc:
                res = exc
            if len(_FORECASTS) >= _FORECASTS_KEPT:
                _FORECASTS.clear()
            _FORECASTS[key] = res
    if isinstance(res, ChurnRadarError):
        return {"state": "unavailable", "detail": str(res), "rows": [], "history": []}
    fc = res.forecast.copy()
    fc["month"] = fc["ds"].dt.strftime("%Y-%m")
    fc = fc.drop(columns="ds")
    hist = res.history.copy()
    hist["month"] = hist["ds"].dt.strftime("%Y-%m")
    hist = hist.drop(columns="ds").rename(columns={"y": "actual"})
    if region is not None:  # its ALL series is the same county again
        fc = fc[fc["unique_id"] == region]
        hist = hist[hist["unique_id"] == region]
    if not res.seasonal:  # no same-month-last-year forecast without a season: no column of gaps
        fc = fc.drop(columns="seasonal_naive")
    rows = fc.rename(columns={"unique_id": "region"}).round(3).to_dict(orient="records")
    history = hist.rename(columns={"unique_id": "region"})[["region", "month", "actual"]].to_dict(
        orient="records"
    )
    return {
        "state": "forecast",
        # seasonal false: fewer than forecast.MIN_SEASONAL_MONTHS months, non-seasonal models
        "seasonal": res.seasonal,
        "summary": _jsonable(res.summary()),
        "rows": _jsonable(rows),
        "history": _jsonable(history),
    }


@router.get("/forecast")
def forecast(
    p: ReportsDep,
    request: Request,
    months: Annotated[int, Query(ge=1, le=24)] = 6,
    county: CountyQuery = None,
) -> dict[str, Any]:
    """Off-net churners per county and month with 80/95% intervals (statsforecast, chosen by backtest).

    ``state`` is ``unavailable`` (with the reason) when the history is too short to backtest;
    ``seasonal`` is false when it was too short for a season (fewer than 18 months: non-seasonal
    models against the naive forecast). ``history`` holds the monthly counts the models learnt from.
    """
    return forecast_rows(request, p, months, county)
