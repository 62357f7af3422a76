"""``/api/risk``: the risk list with filters and paging, and its CSV export (audited)."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from churnradar.api.auth import Principal
from churnradar.api.data import MAX_PAGE_SIZE, RiskFilters
from churnradar.api.deps import PrincipalDep, client_of, permission
from churnradar.api.routes.analytics import Month
from churnradar.opstore import audit
from churnradar.periods import parse_month

router = APIRouter(prefix="/api/risk", tags=["risk"])

Code = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


def filters_dep(
    region: Code = None,
    segment: Annotated[str | None, Query(max_length=64, pattern=r"^[\w.:×\-]+$")] = None,
    package: Code = None,
    risk: Annotated[str | None, Query(pattern="^(low|medium|high|very_high)$")] = None,
    value: Code = None,
    min_p: Annotated[float | None, Query(ge=0, le=1)] = None,
    status: Annotated[Literal["active", "ended", "all"] | None, Query()] = None,
    county: Code = None,
    grid: Code = None,
    customer_group: Code = None,
    brand: Code = None,
    channel: Code = None,
    sort: Annotated[str | None, Query(max_length=16, pattern=r"^-?[a-z_]+$")] = None,
    month: Month = None,
) -> RiskFilters:
    return RiskFilters(
        region=region,
        segment=segment,
        package=package,
        risk=risk,
        value=value,
        min_p=min_p,
        status=status,
        county=county,
        grid=grid,
        customer_group=customer_group,
        brand=brand,
        channel=channel,
        sort=sort,
        month=_month(month),
    )


def _month(text: str | None) -> date | None:
    return None if text is None else parse_month(text)


Filters = Annotated[RiskFilters, Depends(filters_dep)]


@router.get("")
def risk_list(
    p: PrincipalDep,
    request: Request,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> dict[str, Any]:
    """Subscribers in the caller's regions, riskiest first, with reasons and recommended action.

    Filters: ``region`` (county or grid id), ``county`` and ``grid`` (404 outside the caller's
    regions, or a grid outside the county), ``customer_group``, ``brand`` (at activation),
    ``package``, ``channel`` (acquisition channel), ``segment``, ``risk`` (the model's risk level),
    ``value`` (value tier), ``min_p``, ``status``: ``active`` (the default: lines neither ended nor
    pre-deregistered at the end of the last month of data), ``ended`` (the others) or ``all``. ``sort``: ``p``,
    ``subscriber``, ``county``, ``grid``, ``package``, ``health`` or ``value``, ``-`` first for
    descending (default: the riskiest first). ``month``: the score batch of that month (default
    the newest; a month without one is refused naming the scored months). Each line carries its
    ``status`` at the end of the last month of data.
    """
    return request.app.state.data.risk_list(p.scope, filters, page=page, page_size=page_size)


XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: most rows one export gives (also the default, so an export has the list's ``total`` rows up to it)
EXPORT_MAX = 100_000


@router.get(
    "/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA: {}}}},
)
def risk_export(
    request: Request,
    p: Annotated[Principal, Depends(permission("export"))],
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=EXPORT_MAX)] = EXPORT_MAX,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    """The filtered risk list as CSV, or as an XLSX workbook with ``format=xlsx`` (pseudonymous ids
    only; the same filters as ``GET /api/risk``, so its ``total`` rows, up to ``limit``, by default
    100,000); every export is audited.

    Text cells that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR
    first) are written with a leading ``'`` in CSV and as text cells in XLSX; numbers are written
    as they are.
    """
    from churnradar.reports.safe_cells import csv_rows  # the product's one CSV cell rule

    data = request.app.state.data
    items: list[dict[str, Any]] = []
    page = 1
    while len(items) < limit:
        chunk = data.risk_list(p.scope, filters, page=page, page_size=MAX_PAGE_SIZE)["items"]
        items += chunk
        if len(chunk) < MAX_PAGE_SIZE:
            break
        page += 1
    items = items[:limit]
    cols = list(items[0]) if items else ["subscriber_id"]
    flat = [
        {k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for k, v in it.items()}
        for it in items
    ]
    _audit_export(request, p, filters, len(items), format)
    if format == "xlsx":
        return Response(
            _xlsx_bytes(flat, cols),
            media_type=XLSX_MEDIA,
            headers={"Content-Disposition": 'attachment; filename="risk_list.xlsx"'},
        )
    text = csv_rows(flat, cols)
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="risk_list.csv"'},
    )


def _xlsx_bytes(rows: list[dict[str, Any]], cols: list[str]) -> bytes:
    """Rows as a one-sheet workbook (frozen header, filters, number formats), written safely."""
    import pandas as pd

    from churnradar.reports.safe_cells import write_xlsx_table

    with tempfile.TemporaryDirectory(prefix="churnradar-risk-") as tmp:
        path = Path(tmp) / "risk_list.xlsx"
        write_xlsx_table(path, pd.DataFrame(rows, columns=cols), "risk_list")
        return path.read_bytes()


def _audit_export(request: Request, p: Principal, filters: RiskFilters, rows: int, fmt: str) -> None:
    audit(
        request.app.state.engine,
        actor=p.username,
        action="export.risk_list",
        target=filters.grid or filters.county or filters.region or "*",
        client=client_of(request),
        detail={"rows": rows, "filters": filters.__dict__, **({"format": fmt} if fmt != "csv" else {})},
    )
