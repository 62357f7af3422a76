"""Region scope: the grids a reader may see, the one filter every view applies.

A :class:`RegionScope` is a plain value: ``grids is None`` means the whole operator, otherwise the
set of grid ids (and the counties they lie in). Views never filter by hand: they build their row
filter with :func:`grid_filter` on a ``grid_id`` column, so no view returns a subscriber outside
the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from churnradar.errors import ChurnRadarError


class NotInScope(ChurnRadarError):
    """The object does not exist or lies outside the reader's regions."""


@dataclass(frozen=True)
class RegionScope:
    """The grids a reader may see; ``grids is None`` means every region."""

    grids: frozenset[str] | None
    counties: frozenset[str] = field(default_factory=frozenset)

    @property
    def everything(self) -> bool:
        return self.grids is None

    def allows_grid(self, grid_id: str | None) -> bool:
        return self.grids is None or (grid_id is not None and grid_id in self.grids)

    def allows_county(self, county_id: str | None) -> bool:
        return self.grids is None or (county_id is not None and county_id in self.counties)

    @classmethod
    def of_regions(cls, regions: list[str] | None, region_rows: list[tuple[str, str]]) -> RegionScope:
        """The scope of listed county or grid ids (None: every region), given (grid_id, county_id) rows."""
        if regions is None:
            return cls(None)
        wanted = {r.strip() for r in regions if r.strip()}
        grids = frozenset(g for g, c in region_rows if g in wanted or c in wanted)
        counties = frozenset(c for g, c in region_rows if g in grids)
        return cls(grids, counties)


#: The whole operator.
EVERYTHING = RegionScope(None)


def grid_filter(scope: RegionScope, column: str = "grid_id") -> tuple[str, list[Any]]:
    """The row filter of ``scope`` on ``column`` (a grid id) and its parameters (DuckDB ``?`` style)."""
    if scope.grids is None:
        return "TRUE", []
    if not scope.grids:
        return "FALSE", []
    return f"list_contains(?::VARCHAR[], {column})", [sorted(scope.grids)]
