"""Churn analytics for the caller's regions: overview KPIs and trend, drill-down, reasons, packages.

Each takes the filters its dashboard page offers (:data:`churnradar.views.filters.PAGE_FILTERS`):
a county or grid outside the caller's regions is a 404, an unknown code or a month outside the
data a 400 naming what is allowed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from churnradar.api.deps import PrincipalDep
from churnradar.views._json import jsonable as _jsonable

router = APIRouter(prefix="/api", tags=["analytics"])

Code = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Month = Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-?\d{2}(-01)?$")]


def _filters(request: Request, p: Any, page: str, **given: Any):
    return request.app.state.data.filters(p.scope, page, {k: v for k, v in given.items() if v})


@router.get("/overview")
def overview(
    p: PrincipalDep, request: Request, month: Month = None, county: Code = None, grid: Code = None
) -> dict[str, Any]:
    """KPIs of ``month`` (default: the last month of data; subscribers, churned and churn rate,
    revenue, risk) and the monthly trend, for the caller's regions or the ``county`` or ``grid``
    chosen; ``month``, ``data_month`` and ``score_month`` say which months they are."""
    f = _filters(request, p, "overview", month=month, county=county, grid=grid)
    out = _jsonable(request.app.state.data.overview(p.scope, f))
    for key in ("data_month", "score_month"):  # YYYY-MM (None before any scoring)
        out[key] = out[key][:7] if out.get(key) else None
    return out


@router.get("/churn/regions")
def churn_by_region(
    p: PrincipalDep, request: Request, county: Code = None, month: Month = None
) -> dict[str, Any]:
    """Churn by county, or by grid within ``county`` (404 for a county outside the caller's regions),
    over the 12 months ending with ``month`` (default: the last month of data), with a 合计 row."""
    f = _filters(request, p, "regions", month=month, county=county)
    return _jsonable(request.app.state.data.drill(p.scope, f.county, f.month))


@router.get("/churn/reasons")
def churn_by_reason(
    p: PrincipalDep,
    request: Request,
    county: Code = None,
    grid: Code = None,
    customer_group: Code = None,
    brand: Code = None,
    package: Code = None,
    channel: Code = None,
) -> dict[str, Any]:
    """Labelled churn by reason code and kind, and the commonest predicted top reason, of the lines
    matching the filters (county, grid, customer group, brand at activation, package, channel)."""
    f = _filters(
        request,
        p,
        "reasons",
        county=county,
        grid=grid,
        customer_group=customer_group,
        brand=brand,
        package=package,
        channel=channel,
    )
    return _jsonable(request.app.state.data.reasons(p.scope, f))


@router.get("/churn/packages")
def churn_by_package(
    p: PrincipalDep,
    request: Request,
    month: Month = None,
    county: Code = None,
    grid: Code = None,
    brand: Code = None,
) -> list[dict[str, Any]]:
    """Subscribers, churn rate (12 months ending with ``month``) and ARPU per package (activation
    package), for the caller's regions or the ``county`` or ``grid`` chosen; ``brand`` keeps its
    packages."""
    f = _filters(request, p, "packages", month=month, county=county, grid=grid, brand=brand)
    return _jsonable(request.app.state.data.package_view(p.scope, f))


@router.get("/filters")
def filter_choices(
    p: PrincipalDep,
    request: Request,
    page: Annotated[str, Query(pattern=r"^(overview|regions|reasons|packages|risk)$")] = "overview",
    lang: Annotated[str, Query(pattern=r"^(zh|en)$")] = "zh",
) -> dict[str, Any]:
    """The filters ``page`` offers and their choices (code and name in ``lang``) for the caller:
    counties and grids of the caller's regions only (grids carry their county); a filter the store
    cannot honour is absent."""
    return _jsonable(request.app.state.data.filter_choices(p.scope, page, lang))


@router.get("/metrics")
def metrics(
    p: PrincipalDep,
    request: Request,
    month: Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-?\d{2}(-01)?$")] = None,
    region: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")] = None,
) -> dict[str, Any]:
    """Every metric of ``month`` (default: the last month of data) for the caller's regions, or for
    ``region`` (a county or grid id within them; 404 otherwise): ``{"month", "region", "metrics":
    {id: {value, name_zh, name_en, unit, formula, definition_zh, definition_en, provisional}}}``,
    the same object as ``churnradar metrics --json``."""
    return _jsonable(request.app.state.data.metrics(p.scope, month, region))
