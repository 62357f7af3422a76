"""The risk list: the newest scores in scope, riskiest first, filtered and paged.

Each line carries its ``status`` at the last month of data: ``active`` (在网), ``deregister`` (销户)
or ``port_out`` (携出), from the first deregistration or port-out the store records
(:func:`churnradar.metrics.population.line_ends`, the metrics layer's definition). By default the
list holds active lines only: a score batch older than the data may name lines that have left since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from churnradar.errors import ConfigError
from churnradar.views._json import jsonable
from churnradar.views.regions import subs_cte
from churnradar.views.scope import RegionScope
from churnradar.views.scores import decode_score, main_p, score_info, score_select
from churnradar.views.store import ReadStore

#: Risk levels of the churn model (``score.risk_level``: multiples of the base rate).
RISK_LEVELS = ("low", "medium", "high", "very_high")
MAX_PAGE_SIZE = 200
#: The ``status`` filter: lines in network at the last month of data (the default), lines that
#: have left by then, or both.
STATUS_FILTERS = ("active", "ended", "all")


@dataclass
class RiskFilters:
    region: str | None = None  # a county or grid id
    segment: str | None = None
    package: str | None = None
    risk: str | None = None  # one of RISK_LEVELS
    value: str | None = None  # value tier
    min_p: float | None = None
    status: str | None = None  # one of STATUS_FILTERS; None: active


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
    info = score_info(store)
    cte, params = subs_cte(scope)
    where, wparams = ["TRUE"], []
    if filters.region:
        where.append("(subs.county_id = ? OR subs.grid_id = ?)")
        wparams += [filters.region, filters.region]
    if filters.package:
        where.append("subs.package_id = ?")
        wparams.append(filters.package)
    if status != "all":
        where.append("le.end_type IS NULL" if status == "active" else "le.end_type IS NOT NULL")
    ends = f"LEFT JOIN ({ended_lines_sql(store)}) le ON le.subscriber_id = subs.subscriber_id"
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
                   subs.grid_name, subs.package_id, coalesce(le.end_type, 'active') AS status, NULL AS p,
                   NULL AS health
            FROM subs {base} {ends} WHERE {" AND ".join(where)}"""
        order = "subs.subscriber_id"
        sort_cols: list[str] = []
    else:
        sel, cols = score_select(store)
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
                   subs.grid_name, subs.package_id, coalesce(le.end_type, 'active') AS status, sc.{pcol} AS p,
                   {sel_cols}
            FROM subs JOIN {sel} sc ON sc.subscriber_id = subs.subscriber_id {ends}
            WHERE {" AND ".join(where)}"""
        order = f"sc.{pcol} DESC NULLS LAST, subs.subscriber_id"
        sort_cols = [pcol]
    total = store.value(f"SELECT count(*) FROM ({sql})", [*params, *wparams])
    items = store.rows(
        f"{sql} ORDER BY {order} LIMIT ? OFFSET ?", [*params, *wparams, page_size, (page - 1) * page_size]
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


def ended_lines_sql(store: ReadStore) -> str:
    """A query of the lines that left by the end of the last month of data (``subscriber_id``,
    ``end_type``): :func:`churnradar.metrics.population.line_ends` compiled once per store."""

    def build() -> str:
        import ibis

        from churnradar.metrics.population import line_ends
        from churnradar.periods import month_end_exclusive

        bk = store.backend()
        try:
            ends = line_ends(bk.table("status_event"))
            before = ends.filter(ends.end_time < ibis.literal(month_end_exclusive(store.data_months()[1])))
            return str(bk.con.compile(before.select("subscriber_id", "end_type")))
        finally:
            bk.close()

    return store.memo("ended_lines_sql", build)
