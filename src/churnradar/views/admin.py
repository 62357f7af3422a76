"""What the administration pages read from the analytical store: the regions an account may be given.

Accounts themselves live in the operational store (:mod:`churnradar.api.auth`); a regional
manager's or agent's regions are county or grid ids of the store's ``region`` table, offered here by
their names.
"""

from __future__ import annotations

from typing import Any

from churnradar.views.regions import regions
from churnradar.views.scope import EVERYTHING
from churnradar.views.store import ReadStore


def region_choices(store: ReadStore) -> list[dict[str, Any]]:
    """Every county (id, Chinese and English name) with its grids (id, name), in id order: what an
    account's regions are chosen from."""

    def build() -> list[dict[str, Any]]:
        counties: dict[str, dict[str, Any]] = {}
        for r in regions(store, EVERYTHING):
            c = counties.setdefault(
                r["county_id"],
                {
                    "county_id": r["county_id"],
                    "county_name": r["county_name"],
                    "county_name_en": r["county_name_en"],
                    "grids": [],
                },
            )
            c["grids"].append({"grid_id": r["grid_id"], "grid_name": r["grid_name"]})
        return list(counties.values())

    return store.memo("admin:region_choices", build)


def region_names(store: ReadStore, lang: str = "zh") -> dict[str, str]:
    """County and grid id → its name in ``lang`` (a county without an English name keeps its Chinese
    one; grids have one name)."""
    out: dict[str, str] = {}
    for c in region_choices(store):
        out[c["county_id"]] = (
            (c["county_name_en"] if lang == "en" else None) or c["county_name"] or c["county_id"]
        )
        for g in c["grids"]:
            out[g["grid_id"]] = g["grid_name"] or g["grid_id"]
    return out
