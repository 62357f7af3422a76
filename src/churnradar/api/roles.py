"""Roles, permissions and region scoping: the one helper every query goes through.

A user's *scope* is the set of grids they may see. Admins and analysts see every region; a
regional manager or an agent sees the grids of the counties (or single grids) listed on their
account. Routes never filter by hand: they pass the caller's scope to the read views
(:mod:`churnradar.views`), which apply it to every row, so no route can return another region's
subscriber.
"""

from __future__ import annotations

from enum import StrEnum

from churnradar.errors import ChurnRadarError
from churnradar.views.scope import NotInScope, RegionScope

#: A caller's scope is the library's region scope (the grids they may see; None: every region).
Scope = RegionScope

__all__ = ["NotInScope", "PermissionDenied", "Role", "Scope", "parse_role", "require", "resolve_scope"]


class Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    regional_manager = "regional_manager"
    agent = "agent"


ALL_REGION_ROLES = frozenset({Role.admin, Role.analyst})

#: What each role may do (besides reading subscribers and lists within its scope).
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.admin: frozenset(
        {"read", "reports", "model", "export", "campaigns", "outcomes", "score", "audit", "users", "targets"}
    ),
    Role.analyst: frozenset(
        {"read", "reports", "model", "export", "campaigns", "outcomes", "score", "targets"}
    ),
    # "targets": run the optimiser, create campaigns from its list, assign agents, export lists
    Role.regional_manager: frozenset(
        {"read", "reports", "model", "export", "campaigns", "outcomes", "score", "targets"}
    ),
    Role.agent: frozenset({"read", "campaigns", "outcomes"}),
}


class PermissionDenied(ChurnRadarError):
    """The caller's role does not allow this action."""


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise PermissionDenied(
            f"unknown role {text!r}; expected one of {', '.join(r.value for r in Role)}"
        ) from None


def resolve_scope(role: Role, regions: list[str], region_rows: list[tuple[str, str]]) -> Scope:
    """Expand a user's listed regions (county or grid ids) to grids, given (grid_id, county_id) rows."""
    return Scope.of_regions(None if role in ALL_REGION_ROLES else regions, region_rows)


def require(role: Role, permission: str) -> None:
    if permission not in PERMISSIONS[role]:
        raise PermissionDenied(f"role {role.value} may not use {permission}")
