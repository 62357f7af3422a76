"""``/api/admin/...``: accounts, roles, the regions accounts are given, API tokens and the audit log.

Administrators only (every other role is answered 403). Writes made with a session cookie carry the
session's CSRF token like every other write, and each one is written to the audit log with the
administrator and the client address, in the same transaction as the change. A new API token is in
the answer that creates it and nowhere else; passwords are never answered, logged or audited. An
administrator cannot remove their own account, and the last administrator is never removed nor given
another role.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from churnradar.api import auth
from churnradar.api.auth import Principal
from churnradar.api.deps import client_of, csrf_protect, permission
from churnradar.api.roles import ALL_REGION_ROLES, PERMISSIONS, Role, require
from churnradar.opstore import audit_actions, audit_page
from churnradar.opstore.web import MAX_AUDIT_PAGE
from churnradar.views import admin as admin_views

router = APIRouter(prefix="/api/admin", tags=["admin"])

USERNAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
TOKEN_ID_PATTERN = r"^[0-9a-f]{12}$"
#: actors and actions as the audit log writes them (accounts, ``cli``; ``user.add``...)
ACTION_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"

Username = Annotated[str, Path(pattern=USERNAME_PATTERN, description="Login name of the account")]
TokenId = Annotated[str, Path(pattern=TOKEN_ID_PATTERN, description="Public id of the token (`cr_<id>_...`)")]
RoleName = Literal["admin", "analyst", "regional_manager", "agent"]
Region = Annotated[str, Field(min_length=1, max_length=64)]

AdminRead = Annotated[Principal, Depends(permission("users"))]
AuditRead = Annotated[Principal, Depends(permission("audit"))]


async def admin_write(p: Annotated[Principal, Depends(csrf_protect)]) -> Principal:
    """An administrator's write: the CSRF token checked (session callers), then the role."""
    require(p.role, "users")
    return p


AdminWrite = Annotated[Principal, Depends(admin_write)]


class NewUser(BaseModel):
    username: str = Field(max_length=64, description="1-64 letters, digits, '_', '.', '-'")
    password: str = Field(
        max_length=256, description=f"At least {auth.MIN_PASSWORD} characters; never echoed"
    )
    role: RoleName
    regions: list[Region] = Field(
        default_factory=list,
        max_length=500,
        description="County or grid ids (regional managers and agents; none for admins and analysts)",
    )


class UserChange(BaseModel):
    role: RoleName | None = Field(default=None, description="New role (regions are kept unless given)")
    regions: list[Region] | None = Field(default=None, max_length=500, description="New county or grid ids")
    password: str | None = Field(default=None, max_length=256, description="New password; ends the sessions")


class NewToken(BaseModel):
    username: str = Field(max_length=64, description="The account the token acts as")
    label: str = Field(default="", max_length=128, description="What the token is for")


def _engine(request: Request) -> Any:
    return request.app.state.engine


def _known_regions(request: Request) -> set[str]:
    return request.app.state.data.known_regions()


def _user(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": _iso(row.get("created_at"))}


def _iso(t: Any) -> str | None:
    """ISO text of a stored time; SQLite drops the zone, and every stored time is UTC."""
    if isinstance(t, datetime):
        return (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()
    return None if t is None else str(t)


# -- accounts -------------------------------------------------------------------------------------
@router.get("/users")
def list_users(request: Request, p: AdminRead) -> list[dict[str, Any]]:
    """Every account: name, role, regions, created, active, number of live API tokens (no password)."""
    return [_user(u) for u in auth.list_users(_engine(request))]


@router.post("/users", status_code=201)
def add_user(body: NewUser, request: Request, p: AdminWrite) -> dict[str, Any]:
    """Create an account. Regional managers and agents need at least one county or grid id of the
    store; admins and analysts see every region and take none. Audited (``user.add``)."""
    return auth.add_user(
        _engine(request),
        body.username,
        body.password,
        body.role,
        body.regions,
        known_regions=_known_regions(request),
        actor=p.username,
        client=client_of(request),
    )


@router.patch("/users/{name}")
def change_user(name: Username, body: UserChange, request: Request, p: AdminWrite) -> dict[str, Any]:
    """Change an account's role and regions, or set a new password (its sessions end). The last
    administrator keeps the admin role. Audited (``user.update``, ``user.password``)."""
    return auth.update_user(
        _engine(request),
        name,
        role=body.role,
        regions=body.regions,
        password=body.password,
        known_regions=_known_regions(request),
        actor=p.username,
        client=client_of(request),
    )


@router.delete("/users/{name}")
def remove_user(name: Username, request: Request, p: AdminWrite) -> dict[str, Any]:
    """Remove an account with its sessions and API tokens. Refused for your own account and for the
    last administrator. Audited (``user.remove``)."""
    auth.remove_user(_engine(request), name, actor=p.username, client=client_of(request))
    return {"username": name, "removed": True}


# -- roles and regions ------------------------------------------------------------------------------
@router.get("/roles")
def roles(request: Request, p: AdminRead) -> list[dict[str, Any]]:
    """Each role, what it may do and whether it sees every region, with its number of accounts."""
    counts: dict[str, int] = {}
    for u in auth.list_users(_engine(request)):
        counts[u["role"]] = counts.get(u["role"], 0) + 1
    return [
        {
            "role": r.value,
            "permissions": sorted(PERMISSIONS[r]),
            "all_regions": r in ALL_REGION_ROLES,
            "users": counts.get(r.value, 0),
        }
        for r in Role
    ]


@router.get("/regions")
def regions(request: Request, p: AdminRead) -> list[dict[str, Any]]:
    """The store's counties (with their names) and their grids: what an account's regions are chosen from."""
    return admin_views.region_choices(request.app.state.data.store)


# -- API tokens -----------------------------------------------------------------------------------
@router.get("/tokens")
def list_tokens(
    request: Request,
    p: AdminRead,
    username: Annotated[str | None, Query(pattern=USERNAME_PATTERN)] = None,
) -> list[dict[str, Any]]:
    """API tokens, newest first: public id, account, label, created, revoked (never the secret)."""
    return [{**t, "created_at": _iso(t["created_at"])} for t in auth.list_tokens(_engine(request), username)]


@router.post("/tokens", status_code=201)
def create_token(body: NewToken, request: Request, p: AdminWrite) -> dict[str, Any]:
    """Create an API token for an account. The token is in this answer only: it is never stored
    (the store keeps its SHA-256) and cannot be shown again. Audited (``token.create``, with its id)."""
    token = auth.create_token(
        _engine(request), body.username, body.label, actor=p.username, client=client_of(request)
    )
    return {
        "token": token,
        "token_id": auth.token_id_of(token),
        "username": body.username,
        "label": body.label,
    }


@router.delete("/tokens/{name}")
def revoke_token(name: TokenId, request: Request, p: AdminWrite) -> dict[str, Any]:
    """Revoke an API token: it stops working on its next request. Audited (``token.revoke``)."""
    return auth.revoke_token(_engine(request), name, actor=p.username, client=client_of(request))


# -- audit log --------------------------------------------------------------------------------------
@router.get("/audit")
def audit(
    request: Request,
    p: AuditRead,
    actor: Annotated[str | None, Query(pattern=ACTION_PATTERN, description="Account (or `cli`)")] = None,
    action: Annotated[
        str | None, Query(pattern=ACTION_PATTERN, description="An action (`user.add`) or its family (`user`)")
    ] = None,
    since: Annotated[date | None, Query(description="First day (UTC), included")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC), included")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 50,
) -> dict[str, Any]:
    """The audit log, newest first, one page at a time, filtered by actor, action and days:
    ``{"total", "page", "page_size", "rows", "actions"}`` (``actions``: every action logged)."""
    engine = _engine(request)
    out = audit_page(
        engine, actor=actor, action=action, since=since, until=until, page=page, page_size=page_size
    )
    rows = [{**r, "at": _iso(r["at"])} for r in out["rows"]]
    return {**out, "rows": rows, "actions": audit_actions(engine)}
