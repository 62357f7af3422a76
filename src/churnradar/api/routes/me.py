"""``/api/me`` (who am I, which regions) and ``/api/audit`` (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from churnradar.api.auth import Principal
from churnradar.api.deps import PrincipalDep, permission
from churnradar.api.roles import PERMISSIONS
from churnradar.opstore import read_audit

router = APIRouter(prefix="/api", tags=["account"])


@router.get("/me")
def me(p: PrincipalDep, request: Request) -> dict[str, Any]:
    """The caller's account, role, permissions and the regions (counties and grids) they see."""
    regions = request.app.state.data.regions(p.scope)
    return {
        "username": p.username,
        "role": p.role.value,
        "permissions": sorted(PERMISSIONS[p.role]),
        "all_regions": p.scope.everything,
        "counties": sorted({r["county_id"] for r in regions}),
        "grids": [r["grid_id"] for r in regions],
        "auth": p.via,
    }


@router.get("/regions")
def regions(p: PrincipalDep, request: Request) -> list[dict[str, Any]]:
    """Grids (with their county) the caller may see."""
    return request.app.state.data.regions(p.scope)


@router.get("/audit")
def audit_log(
    request: Request,
    p: Annotated[Principal, Depends(permission("audit"))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    """The newest audit-log rows: logins, exports and writes (admins only)."""
    return read_audit(request.app.state.engine, limit=limit, action=action)
