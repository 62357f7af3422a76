"""The risk list: the newest scores in scope, riskiest first, filtered and paged.

Each line carries its ``status`` at the end of the last month of data: ``active`` (in service), the
code of its first deregistration or port-out (``deregister`` 销户, ``port_out`` 携出), else of its
latest suspension (``suspend_oneway`` 单停, ``suspend_twoway`` 双停, ``pre_deregister`` 预销户)
(:func:`churnradar.metrics.population.line_states`, the metrics layer's definition). By default the
list leaves out the lines that have left or are leaving (``LEAVING_STATES``: ended or
pre-deregistered): a score batch older than the data may name lines that have left since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from churnradar.errors import ConfigError
from churnradar.views._json import jsonable
from churnradar.views.filters import Filters, line_conditions, narrowed
from churnradar.views.regions import subs_cte
from churnradar.views.scope import NotInScope, RegionScope
from churnradar.views.scores import batch_info, decode_score, main_p, score_select
from churnradar.views.store import ReadStore

#: Risk levels of the churn model (``score.risk_level``: multiples of the base rate).
RISK_LEVELS = ("low", "medium", "high", "very_high")
MAX_PAGE_SIZE = 200
#: The ``status`` filter: lines neither ended nor pre-deregistered at the end of the last month of
#: data (the default; suspended lines included), the others (``LEAVING_STATES``), or both.
STATUS_FILTERS = ("active", "ended", "all")


#: The orders the list can be read in (``sort``): the column, ``-`` first for descending. The
#: default is the riskiest first.
SORT_KEYS = {
    "p": "p",
    "subscriber": "subscriber_id",
    "county": "county_id",
    "grid": "grid_id",
    "package": "package_id",
    "health": "health_score",
    "value": "clv",
}


@dataclass
class RiskFilters:
    region: str | None = None  # a county or grid id
    segment: str | None = None
    package: str | None = None
    risk: str | None = None  # one of RISK_LEVELS
    value: str | None = None  # value tier
    min_p: float | None = None
    status: str | None = None  # one of STATUS_FILTERS; None: active
    county: str | None = None  # a county id: outside the scope, NotInScope
    grid: str | None = None  # a grid id: outside the scope (or the county), NotInScope
    customer_group: str | None = None  # customer.customer_group of the line's customer
    brand: str | None = None  # the brand at activation
    channel: str | None = None  # the acquisition channel
    sort: str | None = None  # one of SORT_KEYS, "-" first for descending; None: riskiest first
    month: date | None = None  # the score batch (its as-of month); None: the newest


def risk_list(
    store: ReadStore, scope: RegionScope, filters: RiskFilters, page: int = 1, page_size: int = 50
) -> dict[str, Any]:
    """The newest scores in ``scope``, riskiest first, filtered and paged.

    Before any scoring, the population of the newest feature snapshot, unscored (no filter on
    segment, value, risk or probability matches then).
    """
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ConfigError(f"page must be ≥ 1 and page_size 1..{MAX_PAGE_SIZE}, got {page} and {page_size}")
    if filters.risk and filters.risk not in RISK_LEVELS:
        raise ConfigError(f"risk {filters.risk!r} unknown; expected one of {', '.join(RISK_LEVELS)}")
    status = filters.status or "active"
    if status not in STATUS_FILTERS:
        raise ConfigError(f"status {status!r} unknown; expected one of {', '.join(STATUS_FILTERS)}")
    info = batch_info(store, filters.month)
    scope = _narrowed(store, scope, filters)
    cte, params = subs_cte(scope)
    where, wparams = ["TRUE"], []
    if filters.region:
        where.append("(subs.county_id = ? OR subs.grid_id = ?)")
        wparams += [filters.region, filters.region]
    lines, lparams = line_conditions(
        Filters(
            customer_group=filters.customer_group,
            brand=filters.brand,
            package=filters.package,
            channel=filters.channel,
        ),
        store,
    )
    where += lines
    wparams += lparams
    if status != "all":
        from churnradar.metrics.population import LEAVING_STATES

        leaving = ", ".join(f"'{s}'" for s in LEAVING_STATES)
        where.append(
            f"coalesce(le.state, 'active') NOT IN ({leaving})"
            if status == "active"
            else f"le.state IN ({leaving})"
        )
    ends = f"LEFT JOIN ({line_states_sql(store)}) le ON le.subscriber_id = subs.subscriber_id"
    if info["state"] == "no_model":
        base = ""
        if store.has("feature_snapshot"):
            base = (
                "JOIN (SELECT DISTINCT subscriber_id FROM feature_snapshot "
                "WHERE as_of = (SELECT max(as_of) FROM feature_snapshot)) f USING (subscriber_id)"
            )
        if filters.segment or filters.value or filters.risk or filters.min_p is not None:
            where.append("FALSE")  # nothing has a segment, value or risk before a model
        sql = f"""WITH {cte}
            SELECT subs.subscriber_id, subs.county_id, subs.county_name, subs.county_name_en, subs.grid_id,
                   subs.grid_name, subs.package_id, coalesce(le.state, 'active') AS status, NULL AS p,
                   NULL AS health
            FROM subs {base} {ends} WHERE {" AND ".join(where)}"""
        order = _order(filters.sort, [], "subscriber_id")
        sort_cols: list[str] = []
    else:
        sel, cols = score_select(store, filters.month)
        pcol = main_p(cols)
        extra = [c for c in cols if c not in ("subscriber_id", "grid_id", "county_id", "package_id")]
        for name, col in (("segment", "segment"), ("value", "value_tier"), ("risk", "risk_level")):
            wanted = getattr(filters, name)
            if not wanted:
                continue
            if col in cols:
                where.append(f"CAST(sc.{col} AS VARCHAR) = ?")
                wparams.append(wanted)
            else:
                where.append("FALSE")
        if filters.min_p is not None:
            where.append(f"sc.{pcol} >= ?")
            wparams.append(filters.min_p)
        sel_cols = ", ".join(f'sc."{c}"' for c in extra)
        sql = f"""WITH {cte}
            SELECT subs.subscriber_id, subs.county_id, subs.county_name, subs.county_name_en, subs.grid_id,
                   subs.grid_name, subs.package_id, coalesce(le.state, 'active') AS status, sc.{pcol} AS p,
                   {sel_cols}
            FROM subs JOIN {sel} sc ON sc.subscriber_id = subs.subscriber_id {ends}
            WHERE {" AND ".join(where)}"""
        order = _order(filters.sort, cols, "p DESC NULLS LAST, subscriber_id")
        sort_cols = [filters.sort.lstrip("-") if filters.sort else pcol]
    total = store.value(f"SELECT count(*) FROM ({sql})", [*params, *wparams])
    items = store.rows(
        f"SELECT * FROM ({sql}) ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, *wparams, page_size, (page - 1) * page_size],
    )
    return {
        "model": jsonable(info),
        "total": total,
        "page": page,
        "page_size": page_size,
        "sorted_by": sort_cols,
        "status": status,
        "data_month": store.data_months()[1],
        "items": [decode_score(i) for i in items],
    }


def _narrowed(store: ReadStore, scope: RegionScope, filters: RiskFilters) -> RegionScope:
    """``scope`` narrowed to the filters' county and grid: one outside it raises NotInScope."""
    if not (filters.county or filters.grid):
        return scope
    rows = store.region_rows()
    county_of = dict(rows)
    if filters.county and (
        not scope.allows_county(filters.county) or filters.county not in set(county_of.values())
    ):
        raise NotInScope(f"no county {filters.county!r} in your regions")
    if filters.grid and (not scope.allows_grid(filters.grid) or filters.grid not in county_of):
        raise NotInScope(f"no region {filters.grid!r} in your regions")
    if filters.grid and filters.county and county_of[filters.grid] != filters.county:
        raise NotInScope(f"no region {filters.grid!r} in county {filters.county!r}")
    return narrowed(scope, Filters(county=filters.county, grid=filters.grid), store)


def _order(sort: str | None, cols: list[str], default: str) -> str:
    """The ORDER BY of ``sort`` (a key of SORT_KEYS, ``-`` first for descending) over the list's
    columns, the subscriber id breaking ties; ``default`` without one."""
    if not sort:
        return default
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise ConfigError(
            f"sort {sort!r} unknown; expected one of {', '.join(SORT_KEYS)}, with '-' first for descending"
        )
    col = SORT_KEYS[key]
    known = {"p", "subscriber_id", "county_id", "grid_id", "package_id", *cols}
    if col not in known:
        return default  # a column this score batch does not carry: the default order
    return f'"{col}" {"DESC" if sort.startswith("-") else "ASC"} NULLS LAST, subscriber_id'


def line_states_sql(store: ReadStore) -> str:
    """A query of the lines not plain in service at the end of the last month of data
    (``subscriber_id``, ``state``): :func:`churnradar.metrics.population.line_states` compiled once
    per store."""

    def build() -> str:
        from churnradar.metrics.population import line_states
        from churnradar.periods import month_end_exclusive

        bk = store.backend()
        try:
            states = line_states(bk.table("status_event"), month_end_exclusive(store.data_months()[1]))
            return str(bk.con.compile(states))
        finally:
            bk.close()

    return store.memo("line_states_sql", build)
