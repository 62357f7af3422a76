"""One truth: every churn figure defined once, with its names, unit, formula and 口径.

The catalogue (:data:`CATALOGUE`) says what each figure is; :mod:`churnradar.metrics.compute` holds
the one Ibis expression behind each; :mod:`churnradar.metrics.population` is the one definition of
the lines in network at a month, of line ends and of the deregistration lag, which labels, features,
reports, retention and the API import. The CLI (``churnradar metrics``), the API
(``GET /api/metrics``), the dashboard cards and the KPI report all read :func:`month_metrics`.

>>> from churnradar.metrics import store_metrics
>>> r = store_metrics("operator.duckdb", "2024-06", region="C01")  # doctest: +SKIP
>>> r.values["offnet_rate"]  # doctest: +SKIP
0.0183
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from churnradar.errors import ConfigError
from churnradar.metrics.catalogue import CAMPAIGN_FOLLOWUP_MONTHS, CATALOGUE, Metric, catalogue
from churnradar.metrics.population import (
    DEREGISTRATION_LAG_MONTHS,
    ended_by,
    has_end_events,
    in_network,
    known_at,
    lifespans,
    line_ends,
    open_at,
    population,
)
from churnradar.periods import add_months, format_month, parse_month

__all__ = [
    "CATALOGUE",
    "DEREGISTRATION_LAG_MONTHS",
    "Metric",
    "MetricsResult",
    "NotInRegion",
    "catalogue",
    "ended_by",
    "in_network",
    "known_at",
    "lifespans",
    "line_ends",
    "month_metrics",
    "open_at",
    "population",
    "resolve_region",
    "series",
    "store_metrics",
]


class NotInRegion(ConfigError):
    """The region asked for is not a county or grid the caller may read."""


def resolve_region(
    bk: Any, region: str | None, allowed: frozenset[str] | None = None
) -> frozenset[str] | None:
    """The grids of ``region`` (a county id or name, or a grid id) within ``allowed`` (None: every
    grid). Without ``region``, ``allowed`` itself. Raises :class:`NotInRegion` for a region that is
    not in the store or has no grid in ``allowed``."""
    if region is None:
        return allowed
    rows = bk.to_pyarrow(
        bk.table("region").select("grid_id", "county_id", "county_name", "county_name_en")
    ).to_pylist()
    grids = frozenset(
        r["grid_id"]
        for r in rows
        if region in (r["grid_id"], r["county_id"], r["county_name"], r["county_name_en"])
    )
    if allowed is not None:
        grids = grids & allowed
    if not grids:
        choices = sorted({r["county_id"] for r in rows if allowed is None or r["grid_id"] in allowed})
        raise NotInRegion(
            f"region {region!r} is not a county or grid you can read; expected a county id such as "
            + ", ".join(choices[:8])
            + (" or one of their grid ids" if choices else "")
        )
    return grids


@dataclass
class MetricsResult:
    """Every metric of one month for one scope."""

    month: date
    region: str | None
    values: dict[str, float | int | None]
    provisional: set[str] = field(default_factory=set)
    #: what the figures cannot say for this store, in plain words (zh-CN / en)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"month", "region", "metrics": {id: {value, name_zh, name_en, unit, ...}}}`` — what
        ``churnradar metrics --json`` prints and ``GET /api/metrics`` returns."""
        out = {}
        for mid, v in self.values.items():
            m = CATALOGUE[mid]
            out[mid] = {
                "value": v,
                **{k: x for k, x in m.describe().items() if k != "id"},
                "provisional": mid in self.provisional,
            }
        return {
            "month": format_month(self.month),
            "region": self.region,
            "metrics": out,
            "notes": list(self.notes),
        }


def _plain(v: Any, count: bool) -> float | int | None:
    """A JSON value: None for no value, an int for a count of lines, else a float."""
    if v is None:
        return None
    v = float(v)
    if not np.isfinite(v):
        return None
    return int(v) if count and v.is_integer() else v


def series(
    bk: Any,
    months: list[date],
    grids: frozenset[str] | None = None,
    ids: list[str] | None = None,
    by: tuple[str, ...] = (),
):
    """The metrics of ``ids`` (default all) for each of ``months`` over ``grids`` (None: the whole
    operator): a pandas frame, one row per month, one column per metric id. ``by=("county_id",)``
    or ``("grid_id",)`` breaks the 在网数 and exit figures (and their rates) down by region: one row
    per (month, region), each region's rows equal to that region's own figures."""
    from churnradar.metrics.compute import Scoped, compute

    df = compute(Scoped(bk, grids), months, ids, by)
    if not has_end_events(bk):  # exits are unknown without any end event (see month_metrics)
        for mid in df.columns:
            if _needs_end_events(mid):
                df[mid] = np.nan
    return df


def month_metrics(
    bk: Any,
    month: str | date,
    grids: frozenset[str] | None = None,
    region: str | None = None,
    ids: list[str] | None = None,
) -> MetricsResult:
    """Every metric (or those of ``ids``) of ``month`` for the lines of ``grids`` (None: the whole
    operator) narrowed to ``region`` (a county or grid id) when given."""
    from churnradar.metrics.compute import Scoped, check_month, compute

    m = parse_month(month)
    scope = resolve_region(bk, region, grids)
    sc = Scoped(bk, scope)
    check_month(sc, m)
    df = compute(sc, [m], ids)
    row = df.loc[m]
    _, last = sc.data_months
    prov = set()
    for mid in df.columns:
        meta = CATALOGUE[mid]
        if not meta.lagged:
            continue
        need = DEREGISTRATION_LAG_MONTHS + (CAMPAIGN_FOLLOWUP_MONTHS if mid.startswith("campaign_") else 0)
        if add_months(m, need) > last:
            prov.add(mid)
    values = {mid: _plain(row[mid], CATALOGUE[mid].unit == "lines") for mid in df.columns}
    notes = []
    if not has_end_events(bk):
        # no exit is ever recorded: counting them would print 0 churn, which the data do not say
        for mid in values:
            if _needs_end_events(mid):
                values[mid] = None
        notes.append(
            "数据中没有销户或携出记录：离网类指标无法计算，在网数不会减少 / the store records no deregistration "
            "or port-out: exit figures cannot be computed and lines in network never decrease "
            "(usage-based churn: `churnradar label --definition silent:30`)"
        )
    return MetricsResult(m, region, values, prov, notes)


#: Figures that count lines ending (销户, 携出, re-selections, the lines retained): without any end
#: event in the store they are unknown, not 0.
NEEDS_END_EVENTS = frozenset(
    {
        "deregistrations",
        "port_outs",
        "offnet_churn",
        "offnet_rate",
        "port_out_rate",
        "offnet_churn_rate",
        "offnet_churn_left",
        "offnet_churn_rate_left",
        "number_reselections",
        "tariff_reselections",
        "reselections",
        "retained_lines",
        "customer_retention",
        "campaign_retention_rate",
        "campaign_control_retention_rate",
        "campaign_uplift",
    }
)


def _needs_end_events(mid: str) -> bool:
    return mid in NEEDS_END_EVENTS or mid.startswith(("cancelled_t", "cancel_rate_t"))


def store_metrics(
    store: Path | str, month: str | date, region: str | None = None, backend: str = "duckdb"
) -> MetricsResult:
    """:func:`month_metrics` on a store file (or Parquet folder) for the whole operator or ``region``."""
    from churnradar.store.backends import open_backend

    bk = open_backend(store, backend)
    try:
        return month_metrics(bk, month, region=region)
    finally:
        bk.close()
