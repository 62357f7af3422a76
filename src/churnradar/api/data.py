"""The web app's read side: the caller's scope handed to the read views of :mod:`churnradar.views`.

:class:`AnalyticalData` holds the analytical store opened read-only once per app
(:class:`~churnradar.views.store.ReadStore`) and answers each read by calling the library view with
the caller's :class:`~churnradar.api.roles.Scope` (the library's region scope), so every surface
reads one definition of each figure and nothing here reads a subscriber outside the scope.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from churnradar import views
from churnradar.api.roles import Scope
from churnradar.views import campaigns as campaign_views
from churnradar.views import filters as filter_views
from churnradar.views import model as model_views
from churnradar.views import overview as overview_views
from churnradar.views import regions as region_views
from churnradar.views import scores as score_views
from churnradar.views._json import jsonable
from churnradar.views.filters import Filters
from churnradar.views.risk import MAX_PAGE_SIZE, RISK_LEVELS, STATUS_FILTERS, RiskFilters, risk_list
from churnradar.views.subscriber import subscriber

__all__ = [
    "MAX_PAGE_SIZE",
    "RISK_LEVELS",
    "STATUS_FILTERS",
    "AnalyticalData",
    "Filters",
    "RiskFilters",
    "jsonable",
]


class AnalyticalData:
    """Scoped read access to one analytical store."""

    def __init__(self, store_path: str | Path):
        self.path = Path(store_path)
        self.store = views.ReadStore.open(self.path)

    def close(self) -> None:
        self.store.close()

    # -- catalogue ----------------------------------------------------------------------------------
    def has(self, table: str) -> bool:
        return self.store.has(table)

    def region_rows(self) -> list[tuple[str, str]]:
        """(grid_id, county_id) for every grid."""
        return self.store.region_rows()

    def known_regions(self) -> set[str]:
        return {g for g, _ in self.region_rows()} | {c for _, c in self.region_rows()}

    def full_counties(self, scope: Scope) -> list[str]:
        return region_views.full_counties(self.store, scope)

    def regions(self, scope: Scope) -> list[dict[str, Any]]:
        return region_views.regions(self.store, scope)

    def packages(self) -> list[dict[str, Any]]:
        return region_views.packages(self.store)

    def in_scope_ids(self, scope: Scope, subscriber_ids: list[str]) -> set[str]:
        return region_views.in_scope_ids(self.store, scope, subscriber_ids)

    # -- scores and subscribers ---------------------------------------------------------------------
    def score_info(self) -> dict[str, Any]:
        return score_views.score_info(self.store)

    def stored_score(self, scope: Scope, subscriber_id: str, month: Any = None) -> dict[str, Any]:
        return score_views.stored_score(self.store, scope, subscriber_id, month)

    def subscriber(self, scope: Scope, subscriber_id: str) -> dict[str, Any]:
        return subscriber(self.store, scope, subscriber_id)

    def risk_list(
        self, scope: Scope, filters: RiskFilters, page: int = 1, page_size: int = 50
    ) -> dict[str, Any]:
        return risk_list(self.store, scope, filters, page=page, page_size=page_size)

    # -- analytics ----------------------------------------------------------------------------------
    def metrics(self, scope: Scope, month: str | None = None, region: str | None = None) -> dict[str, Any]:
        return overview_views.metrics(self.store, scope, month, region)

    def overview(self, scope: Scope, filters: Filters | None = None) -> dict[str, Any]:
        return overview_views.overview(self.store, scope, filters=filters)

    def drill(self, scope: Scope, county: str | None = None, month: date | None = None) -> dict[str, Any]:
        return overview_views.drill(self.store, scope, county, month)

    def reasons(self, scope: Scope, filters: Filters | None = None) -> dict[str, Any]:
        return overview_views.reasons(self.store, scope, filters)

    def package_view(self, scope: Scope, filters: Filters | None = None) -> list[dict[str, Any]]:
        return overview_views.package_view(self.store, scope, filters=filters)

    # -- the filter bar -----------------------------------------------------------------------------
    def filters(self, scope: Scope, page: str, params: Any, strict: bool = True) -> Filters:
        """The filters of ``page`` in ``params`` (a query), checked against the store and ``scope``."""
        return filter_views.parse(params, page, self.store, scope, strict=strict)

    def filter_choices(self, scope: Scope, page: str, lang: str = "zh") -> dict[str, list[dict[str, Any]]]:
        return filter_views.choices(self.store, scope, page, lang)

    # -- campaigns ----------------------------------------------------------------------------------
    def campaigns(self, scope: Scope, engine: Any = None) -> list[dict[str, Any]]:
        return campaign_views.campaigns(self.store, scope, engine)

    def campaign(self, scope: Scope, campaign_id: str, engine: Any = None) -> dict[str, Any]:
        return campaign_views.campaign(self.store, scope, campaign_id, engine)

    def contacts(
        self, scope: Scope, campaign_id: str, engine: Any = None, page: int = 1, page_size: int = 50
    ) -> dict[str, Any]:
        return campaign_views.contacts(self.store, scope, campaign_id, engine, page=page, page_size=page_size)

    def contact(self, scope: Scope, campaign_id: str, contact_id: str) -> dict[str, Any]:
        return campaign_views.contact(self.store, scope, campaign_id, contact_id)

    def ops_members(self, scope: Scope, campaign_id: str, engine: Any) -> Any:
        return campaign_views.ops_members(self.store, scope, engine, campaign_id)

    # -- model --------------------------------------------------------------------------------------
    def model_rows(self) -> list[dict[str, Any]]:
        return model_views.model_rows(self.store)

    def current_model(self, rows: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
        return model_views.current_model(self.store, rows)

    def backtest_rows(self) -> list[dict[str, Any]]:
        return model_views.backtest_rows(self.store)
