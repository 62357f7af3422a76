"""Roles, permissions and region scoping: the one helper every query goes through.

A user's *scope* is the set of grids they may see. Admins and analysts see every region; a
regional manager or an agent sees the grids of the counties (or single grids) listed on their
account. Queries never filter by hand: they call :meth:`Scope.sql` for the predicate on a
``grid_id`` column, so no route can return another region's subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from churnradar.errors import ChurnRadarError


class Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    regional_manager = "regional_manager"
    agent = "agent"


ALL_REGION_ROLES = frozenset({Role.admin, Role.analyst})

#: What each role may do (besides reading subscribers and lists within its scope).
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.admin: frozenset(
        {"read", "reports", "model", "export", "campaigns", "outcomes", "score", "audit", "users"}
    ),
    Role.analyst: frozenset({"read", "reports", "model", "export", "campaigns", "outcomes", "score"}),
    Role.regional_manager: frozenset(
        {"read", "reports", "model", "export", "campaigns", "outcomes", "score"}
    ),
    Role.agent: frozenset({"read", "campaigns", "outcomes"}),
}


class PermissionDenied(ChurnRadarError):
    """The caller's role does not allow this action."""


class NotInScope(ChurnRadarError):
    """The object does not exist or lies outside the caller's regions (answered as 404)."""


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise PermissionDenied(
            f"unknown role {text!r}; expected one of {', '.join(r.value for r in Role)}"
        ) from None


@dataclass(frozen=True)
class Scope:
    """The grids a caller may see; ``grids is None`` means every region."""

    grids: frozenset[str] | None
    counties: frozenset[str] = field(default_factory=frozenset)

    @property
    def everything(self) -> bool:
        return self.grids is None

    def allows_grid(self, grid_id: str | None) -> bool:
        return self.grids is None or (grid_id is not None and grid_id in self.grids)

    def allows_county(self, county_id: str | None) -> bool:
        return self.grids is None or (county_id is not None and county_id in self.counties)

    def sql(self, column: str = "grid_id") -> tuple[str, list[Any]]:
        """A SQL predicate on ``column`` (a grid id) and its parameters (DuckDB ``?`` style)."""
        if self.grids is None:
            return "TRUE", []
        if not self.grids:
            return "FALSE", []
        return f"list_contains(?::VARCHAR[], {column})", [sorted(self.grids)]


def resolve_scope(role: Role, regions: list[str], region_rows: list[tuple[str, str]]) -> Scope:
    """Expand a user's listed regions (county or grid ids) to grids, given (grid_id, county_id) rows."""
    if role in ALL_REGION_ROLES:
        return Scope(None)
    wanted = {r.strip() for r in regions if r.strip()}
    grids = frozenset(g for g, c in region_rows if g in wanted or c in wanted)
    counties = frozenset(c for g, c in region_rows if g in grids)
    return Scope(grids, counties)


def require(role: Role, permission: str) -> None:
    if permission not in PERMISSIONS[role]:
        raise PermissionDenied(f"role {role.value} may not use {permission}")
