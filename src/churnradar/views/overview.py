"""The dashboard's figures: KPI cards and trend, drill-down by county or grid, reasons, packages.

Line counts, exits, rates and revenue come from the metrics layer (:mod:`churnradar.metrics`), so
each card equals ``churnradar metrics`` for the same month and regions; risk comes from the newest
score batch.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from churnradar.errors import ConfigError
from churnradar.views._json import jsonable
from churnradar.views.filters import Filters, line_conditions, month_choices, narrowed
from churnradar.views.regions import regions, subs_cte
from churnradar.views.scope import NotInScope, RegionScope
from churnradar.views.scores import (
    high_condition,
    main_p,
    reason_codes,
    reason_column,
    score_info,
    score_select,
)
from churnradar.views.store import ReadStore

#: The dashboard's cards (``kpis`` keys) and the metric each shows.
CARD_METRICS = {
    "subscribers": "lines_end",
    "active_last_month": "active_lines",
    "churned_last_month": "deregistrations",
    "ported_out_last_month": "port_outs",
    "churn_rate_last_month": "offnet_rate",
    "revenue_last_month": "revenue",
}
#: The metrics behind the overview's cards and trend.
OVERVIEW_METRICS = ("lines_end", "active_lines", "deregistrations", "port_outs", "offnet_rate", "revenue")
#: Months of the drill-down's and the package view's churn window.
DRILL_MONTHS = 12


def metrics(store: ReadStore, scope: RegionScope, month: str | None = None, region: str | None = None):
    """Every metric of ``month`` (default: the last month of data) in ``scope``, narrowed to
    ``region`` (a county or grid id in scope): :func:`churnradar.metrics.month_metrics` as a dict."""
    from churnradar.metrics import NotInRegion, month_metrics

    bk = store.backend()
    try:
        try:
            return month_metrics(
                bk, month or store.data_months()[1], grids=scope.grids, region=region
            ).to_dict()
        except NotInRegion:
            raise NotInScope(f"no region {region!r} in your regions") from None
    finally:
        bk.close()


def card_definitions() -> dict[str, dict[str, str]]:
    """Each card's metric id, names and definition (what a hover on the card shows)."""
    from churnradar.metrics import CATALOGUE

    out = {}
    for card, mid in CARD_METRICS.items():
        m = CATALOGUE[mid]
        out[card] = {
            "metric": mid,
            "name_zh": m.name_zh,
            "name_en": m.name_en,
            "definition_zh": m.definition_zh,
            "definition_en": m.definition_en,
        }
    return out


def overview(
    store: ReadStore, scope: RegionScope, month: date | None = None, filters: Filters | None = None
) -> dict[str, Any]:
    """The metrics layer's figures of every month of data in ``scope`` (narrowed to the county or
    grid of ``filters``), the cards of ``month`` (default: the filters' month, else the last month
    of data; 用户数 = 月末在网数, active lines, 销户数, 携出数, 离网率, revenue), the risk of the newest
    score batch, and which months they are: ``month`` (the cards'), ``data_month`` (the last month
    of data) and ``score_month`` (the newest score batch, None before scoring);
    ``provisional_months``: those whose exits dated by the month left can still grow."""
    from churnradar.periods import month_range

    f = filters or Filters()
    scope = narrowed(scope, f, store)
    first, last = store.data_months()
    month = _window_end(store, month or f.month)[1]
    provisional = {c["month"] for c in month_choices(store) if c["provisional"]}
    df = store.series(month_range(first, last), scope.grids, list(OVERVIEW_METRICS))

    def count(x: Any) -> int | None:
        return None if x != x else int(x)

    def num(x: Any) -> float | None:
        return None if x != x else float(x)

    monthly = [
        {
            "month": m,
            "active": count(r["active_lines"]),
            "deregistered": count(r["deregistrations"]),
            "ported_out": count(r["port_outs"]),
            "churn_rate": num(r["offnet_rate"]),
            "revenue": num(r["revenue"]),
            "subscribers": count(r["lines_end"]),
        }
        for m, r in df.iterrows()
    ]
    last_row = next((r for r in monthly if r["month"] == month), {})
    kpis = {
        "subscribers": last_row.get("subscribers", 0),
        "active_last_month": last_row.get("active", 0),
        "churned_last_month": last_row.get("deregistered", 0),
        "ported_out_last_month": last_row.get("ported_out", 0),
        "churn_rate_last_month": last_row.get("churn_rate"),
        "revenue_last_month": last_row.get("revenue"),
        "last_month": last_row.get("month"),
    }
    info = score_info(store)
    if info["state"] == "scored":
        cte, params = subs_cte(scope)
        sel, cols = score_select(store)
        pcol = main_p(cols)
        r = (
            store.cursor()
            .execute(
                f"WITH {cte} SELECT count(*), avg(sc.{pcol}), count(*) FILTER (WHERE {high_condition(cols, pcol)}) "
                f"FROM subs JOIN {sel} sc USING (subscriber_id)",
                params,
            )
            .fetchone()
        )
        kpis.update(
            scored=r[0], mean_risk=round(r[1], 4) if isinstance(r[1], float) else r[1], high_risk=r[2]
        )
    return {
        "kpis": kpis,
        "monthly": monthly,
        "model": jsonable(info),
        "month": month,
        # months whose exits dated by the month left can still grow (the cards' figures are dated
        # by the month recorded and final)
        "provisional_months": sorted(provisional),
        "data_month": last,
        "score_month": info["as_of"],
        "filters": f.query(),
        "definitions": card_definitions(),
    }


def drill(
    store: ReadStore, scope: RegionScope, county: str | None = None, month: date | None = None
) -> dict[str, Any]:
    """Lines in network and off-net churn by county, or by grid within ``county``, from the metrics
    layer: ``subscribers`` = 月末在网数 of ``month`` (default: the last month of data),
    ``churned_12m`` = 离网数 (销户 + 携出, recorded, re-selections excluded) of the 12 months ending
    with it, ``churn_rate_12m`` = that over 月初在网数 of the window's first month; risk from the
    newest score batch. ``total`` adds the rows up (合计: the rate over the summed 月初在网数)."""
    from churnradar.periods import add_months, month_range

    if county is not None and not scope.allows_county(county):
        raise NotInScope(f"no county {county!r} in your regions")
    key = "grid_id" if county else "county_id"
    rows_in = [r for r in regions(store, scope) if county is None or r["county_id"] == county]
    if county and not rows_in:
        raise NotInScope(f"no county {county!r} in your regions")
    grids = frozenset(r["grid_id"] for r in rows_in)
    first, last = _window_end(store, month)
    months = month_range(max(first, add_months(last, 1 - DRILL_MONTHS)), last)
    df = store.series(months, grids, ["lines_start", "lines_end", "offnet_churn"], (key,))
    risk = _risk_by(store, scope, key)
    starts = 0
    names: dict[str, tuple[str, str]] = {}
    for r in rows_in:
        names[r[key]] = (
            (r["grid_name"], r["grid_name"]) if county else (r["county_name"], r["county_name_en"])
        )
    out = []
    for rid in sorted(names):
        sub = df.xs(rid, level=key) if rid in df.index.get_level_values(key) else None
        end = int(sub["lines_end"].get(last, 0)) if sub is not None else 0
        start = int(sub["lines_start"].get(months[0], 0)) if sub is not None else 0
        churned = int(sub["offnet_churn"].sum()) if sub is not None else 0
        starts += start
        out.append(
            {
                "id": rid,
                "name": names[rid][0],
                "name_en": names[rid][1],
                "subscribers": end,
                "churned_12m": churned,
                "churn_rate_12m": churned / start if start else None,
                **risk.get(rid, {"mean_risk": None, "high_risk": None}),
            }
        )
    names_of = rows_in[0] if county else {}
    return {
        "level": "grid" if county else "county",
        "county": county,
        "county_name": names_of.get("county_name"),
        "county_name_en": names_of.get("county_name_en"),
        "month": last,
        "first_month": months[0],
        "rows": out,
        "total": _total(out, starts),
    }


def _total(rows: list[dict[str, Any]], starts: int) -> dict[str, Any]:
    """合计 of drill rows: lines and exits summed, the rate over the summed 月初在网数."""
    churned = sum(r["churned_12m"] for r in rows)
    high = [r["high_risk"] for r in rows if r.get("high_risk") is not None]
    return {
        "subscribers": sum(r["subscribers"] for r in rows),
        "churned_12m": churned,
        "churn_rate_12m": churned / starts if starts else None,
        "high_risk": sum(high) if high else None,
    }


def _window_end(store: ReadStore, month: date | None) -> tuple[date, date]:
    """(first month of data, ``month`` or the last month of data); a month outside the data is a
    ConfigError naming the months there are."""
    first, last = store.data_months()
    if month is None:
        return first, last
    if not first <= month <= last:
        raise ConfigError(
            f"month {month:%Y-%m} is outside the data; expected a month from {first:%Y-%m} to {last:%Y-%m}"
        )
    return first, month


def _risk_by(store: ReadStore, scope: RegionScope, key: str) -> dict[str, dict[str, Any]]:
    """Mean risk and high-risk lines of the newest score batch by ``key`` (county or grid)."""
    if score_info(store)["state"] != "scored":
        return {}
    cte, params = subs_cte(scope)
    sel, cols = score_select(store)
    pcol = main_p(cols)
    rows = store.rows(
        f"""WITH {cte} SELECT subs.{key} AS id, round(avg(sc.{pcol}), 4) AS mean_risk,
        count(*) FILTER (WHERE {high_condition(cols, pcol)}) AS high_risk
        FROM subs JOIN {sel} sc USING (subscriber_id) GROUP BY 1""",
        params,
    )
    return {r.pop("id"): r for r in rows}


def reasons(store: ReadStore, scope: RegionScope, filters: Filters | None = None) -> dict[str, Any]:
    """Churn by reason (newest labels) and the commonest top reason among scored subscribers, of the
    lines in ``scope`` that match ``filters`` (county, grid, customer group, brand, package,
    channel)."""
    f = filters or Filters()
    cte, params = subs_cte(narrowed(scope, f, store))
    lines, lparams = line_conditions(f, store, alias="s")
    if lines:  # keep the matching lines in the ``subs`` expression every query below joins
        cte = f"{cte.rstrip().removesuffix(')')} AND {' AND '.join(lines)}\n    )"
        params = [*params, *lparams]
    labelled: list[dict[str, Any]] = []
    as_of = None
    if store.has("churn_label"):
        as_of = store.value("SELECT max(as_of) FROM churn_label")
        labelled = store.rows(
            f"""WITH {cte} SELECT l.reason_code, l.event_kind, count(*) AS n
            FROM churn_label l JOIN subs USING (subscriber_id)
            WHERE l.as_of = ? AND l.reason_code IS NOT NULL GROUP BY ALL ORDER BY n DESC""",
            [*params, as_of],
        )
    predicted: list[dict[str, Any]] = []
    if score_info(store)["state"] == "scored":
        sel, cols = score_select(store)
        rcol = reason_column(cols)
        if rcol:
            scored = store.rows(
                f"WITH {cte} SELECT sc.{rcol} AS r FROM subs JOIN {sel} sc USING (subscriber_id)", params
            )
            counts: dict[str, int] = {}
            for row in scored:
                codes = reason_codes(row["r"])
                if codes:
                    counts[codes[0]] = counts.get(codes[0], 0) + 1
            predicted = [{"reason": k, "n": v} for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
    return {"labels_as_of": as_of, "labelled": labelled, "predicted_top_reason": predicted}


def package_view(
    store: ReadStore, scope: RegionScope, month: date | None = None, filters: Filters | None = None
) -> list[dict[str, Any]]:
    """Lines and off-net churn by package at activation, from the metrics layer (as the drill-down:
    月末在网数 of ``month``, default the filters' month or the last month of data, 离网数 of the 12
    months ending with it over 月初在网数 of the window's first month, ``start``), with the mean
    monthly bill of the package's lines (``arpu``), for the lines of ``scope`` narrowed to the
    county or grid of ``filters``; with a ``brand`` filter, the packages of that brand."""
    from churnradar.periods import add_months, month_range

    f = filters or Filters()
    scope = narrowed(scope, f, store)
    first, last = _window_end(store, month or f.month)
    months = month_range(max(first, add_months(last, 1 - DRILL_MONTHS)), last)
    df = store.series(months, scope.grids, ["lines_start", "lines_end", "offnet_churn"], ("package_id",))
    cte, params = subs_cte(scope)
    facts = store.rows(
        f"""WITH {cte},
        rev AS (SELECT subscriber_id, avg(revenue) AS arpu FROM billing_monthly GROUP BY 1)
        SELECT subs.package_id, any_value(p.package_name) AS package_name,
               any_value(p.package_name_en) AS package_name_en, any_value(p.brand) AS brand,
               round(avg(rev.arpu), 2) AS arpu
        FROM subs LEFT JOIN package p ON p.package_id = subs.package_id
        LEFT JOIN rev ON rev.subscriber_id = subs.subscriber_id
        GROUP BY subs.package_id""",
        params,
    )
    keys = set(df.index.get_level_values("package_id")) if len(df) else set()
    if f.brand:
        facts = [r for r in facts if r["brand"] == f.brand]
    out = []
    for fact in facts:
        pid = fact["package_id"]
        sub = df.xs(pid, level="package_id") if pid in keys else None
        start = int(sub["lines_start"].get(months[0], 0)) if sub is not None else 0
        churned = int(sub["offnet_churn"].sum()) if sub is not None else 0
        out.append(
            {
                **fact,
                "start": start,
                "subscribers": int(sub["lines_end"].get(last, 0)) if sub is not None else 0,
                "churned": churned,
                "churn_rate": churned / start if start else None,
            }
        )
    return sorted(out, key=lambda r: (-(r["churn_rate"] or 0), r["package_id"]))
