"""Reports and forecasts for the caller's regions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from churnradar.api.auth import Principal
from churnradar.api.data import _jsonable
from churnradar.api.deps import permission

router = APIRouter(prefix="/api", tags=["reports"])

ReportsDep = Annotated[Principal, Depends(permission("reports"))]


@router.get("/forecast")
def forecast(p: ReportsDep, request: Request) -> dict[str, Any]:
    """Churn-count forecast per region and month with intervals (newest batch, caller's regions)."""
    return _jsonable(request.app.state.data.forecast(p.scope))


def available_reports() -> list[dict[str, Any]]:
    """Reports the reports module can build (none until it lands)."""
    return []
