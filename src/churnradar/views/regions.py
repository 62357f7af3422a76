"""Regions, packages and which subscribers lie in a scope.

Every subscriber view builds on :func:`subs_cte`: subscriptions joined to their region, keeping
only the grids in scope.
"""

from __future__ import annotations

from typing import Any

from churnradar.views.scope import RegionScope, grid_filter
from churnradar.views.store import ReadStore


def subs_cte(scope: RegionScope) -> tuple[str, list[Any]]:
    """The ``subs`` common table expression (subscriptions in scope with their region) and its parameters."""
    pred, params = grid_filter(scope, "s.grid_id")
    sql = f"""subs AS (
      SELECT s.subscriber_id, s.customer_id, s.brand, s.package_id, s.payment_type, s.activation_date,
             s.channel_id, s.contract_end, s.family_group_id, s.grid_id, r.grid_name, r.county_id,
             r.county_name, r.county_name_en
      FROM subscription s LEFT JOIN region r ON r.grid_id = s.grid_id
      WHERE {pred}
    )"""
    return sql, params


def regions(store: ReadStore, scope: RegionScope) -> list[dict[str, Any]]:
    """Grids in scope with their county, city and area type."""
    pred, params = grid_filter(scope, "grid_id")
    return store.rows(
        f"SELECT grid_id, grid_name, county_id, county_name, county_name_en, city, area_type "
        f"FROM region WHERE {pred} ORDER BY county_id, grid_id",
        params,
    )


def full_counties(store: ReadStore, scope: RegionScope) -> list[str]:
    """Counties all of whose grids are in scope (aggregate reports are per whole county)."""
    by_county: dict[str, set[str]] = {}
    for g, c in store.region_rows():
        by_county.setdefault(c, set()).add(g)
    return sorted(c for c, grids in by_county.items() if all(scope.allows_grid(g) for g in grids))


def counties(store: ReadStore) -> list[str]:
    """Every county id."""
    return sorted({c for _, c in store.region_rows()})


def packages(store: ReadStore) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT package_id, package_name, package_name_en, brand, payment_type, monthly_fee "
        "FROM package ORDER BY package_id"
    )


def in_scope(store: ReadStore, scope: RegionScope, subscriber_id: str) -> bool:
    """Whether the subscriber exists and lives in ``scope``."""
    cte, params = subs_cte(scope)
    return (
        store.value(f"WITH {cte} SELECT 1 FROM subs WHERE subscriber_id = ?", [*params, subscriber_id]) == 1
    )


def in_scope_ids(store: ReadStore, scope: RegionScope, subscriber_ids: list[str]) -> set[str]:
    """The subset of ``subscriber_ids`` that lives in ``scope``."""
    if not subscriber_ids:
        return set()
    cte, params = subs_cte(scope)
    rows = store.rows(
        f"WITH {cte} SELECT subscriber_id FROM subs WHERE list_contains(?::VARCHAR[], subscriber_id)",
        [*params, list(subscriber_ids)],
    )
    return {r["subscriber_id"] for r in rows}
