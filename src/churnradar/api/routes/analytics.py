"""Churn analytics for the caller's regions: overview KPIs and trend, drill-down, reasons, packages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from churnradar.api.deps import PrincipalDep
from churnradar.views._json import jsonable as _jsonable

router = APIRouter(prefix="/api", tags=["analytics"])


@router.get("/overview")
def overview(p: PrincipalDep, request: Request) -> dict[str, Any]:
    """KPIs (subscribers, churned and churn rate last month, revenue, risk) and the monthly trend."""
    return _jsonable(request.app.state.data.overview(p.scope))


@router.get("/churn/regions")
def churn_by_region(
    p: PrincipalDep,
    request: Request,
    county: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")] = None,
) -> dict[str, Any]:
    """Churn by county, or by grid within ``county`` (404 for a county outside the caller's regions)."""
    return _jsonable(request.app.state.data.drill(p.scope, county))


@router.get("/churn/reasons")
def churn_by_reason(p: PrincipalDep, request: Request) -> dict[str, Any]:
    """Labelled churn by reason code and kind, and the commonest predicted top reason."""
    return _jsonable(request.app.state.data.reasons(p.scope))


@router.get("/churn/packages")
def churn_by_package(p: PrincipalDep, request: Request) -> list[dict[str, Any]]:
    """Subscribers, churn rate and ARPU per package (activation package)."""
    return _jsonable(request.app.state.data.package_view(p.scope))


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
