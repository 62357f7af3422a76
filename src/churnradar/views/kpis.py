"""KPI cards with 环比 and 同比, targets and 完成率, and the county ranking (the overview's top).

Every figure is the metrics layer's (:func:`churnradar.metrics.month_metrics`) for the month, the
month before (环比) and the same month a year before (同比), in the reader's scope, so a card equals
``churnradar metrics`` for those months. A comparison with a month outside the data is None (shown
"—"); a figure not final yet (the metrics layer's ``provisional``) is flagged. Targets come from an
operator's targets file (:mod:`churnradar.metrics.targets`); a card without a target has no 完成率.

Changes: a count, money or volume changes by ``(this − that) / that`` (a share); a ratio by
``this − that`` (a difference of ratios, shown in percentage points).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from churnradar.errors import ConfigError
from churnradar.metrics.targets import OPERATOR, Target, Targets, attainment, usual_direction
from churnradar.periods import add_months, format_month, parse_month
from churnradar.views.overview import CARD_METRICS
from churnradar.views.regions import full_counties, regions
from churnradar.views.scope import NotInScope, RegionScope
from churnradar.views.store import ReadStore

#: The cards (key → metric id): the overview's cards, then the churn rate dated by the month the
#: customer left (not final for the last months of data) and ARPU.
CARDS = {**CARD_METRICS, "churn_rate_left": "offnet_churn_rate_left", "arpu": "arpu"}
#: Figures the county ranking can rank by (those the metrics layer breaks down by county).
RANKING_METRICS = (
    "offnet_rate",
    "offnet_churn_rate",
    "port_out_rate",
    "offnet_churn_rate_left",
    "deregistrations",
    "port_outs",
    "offnet_churn",
    "lines_end",
    "activations",
)
DEFAULT_RANKING = "offnet_rate"
#: Units whose change is a difference (in percentage points), not a share.
DIFFERENCE_UNITS = ("ratio", "pp")


def default_month(store: ReadStore) -> date:
    """The latest complete month: the last month of data (the cards' figures are dated by the
    recorded month, final there; figures dated otherwise say when they are provisional)."""
    return store.data_months()[1]


def _month(store: ReadStore, month: str | date | None) -> date:
    m = default_month(store) if month in (None, "") else parse_month(month)
    first, last = store.data_months()
    if not first <= m <= last:
        raise ConfigError(
            f"month {format_month(m)} is outside the data; expected a month from "
            f"{format_month(first)} to {format_month(last)}"
        )
    return m


def _result(store: ReadStore, grids: frozenset[str] | None, region: str | None, month: date, ids: list[str]):
    """:func:`churnradar.metrics.month_metrics` of ``month`` (None outside the data), kept per store."""
    from churnradar.metrics import NotInRegion, month_metrics

    first, last = store.data_months()
    if not first <= month <= last:
        return None
    key = f"kpis:{format_month(month)}:{sorted(grids) if grids is not None else '*'}:{region}:{ids}"

    def build():
        bk = store.backend()
        try:
            return month_metrics(bk, month, grids=grids, region=region, ids=ids)
        except NotInRegion:
            raise NotInScope(f"no region {region!r} in your regions") from None
        finally:
            bk.close()

    return store.memo(key, build)


def change(now: float | int | None, then: float | int | None, unit: str) -> float | None:
    """环比 / 同比 of a figure: ``now − then`` for a ratio, ``(now − then) / then`` otherwise; None
    when either is missing (or ``then`` is 0 for a share)."""
    if now is None or then is None:
        return None
    if unit in DIFFERENCE_UNITS:
        return float(now) - float(then)
    return (float(now) - float(then)) / float(then) if then else None


def _target_region(store: ReadStore, scope: RegionScope, region: str | None) -> str | None:
    """Whose targets the cards compare with: the operator's for the whole operator, a county's for
    that county (asked for, or the whole scope); None for any other set of grids."""
    if region is not None:
        return region if region in {c for _, c in store.region_rows()} else None
    if scope.everything:
        return OPERATOR
    whole = full_counties(store, scope)
    grids_of = {g for g, c in store.region_rows() if c in whole}
    return whole[0] if len(whole) == 1 and grids_of == set(scope.grids or ()) else None


def _better(c: float | None, direction: str) -> bool | None:
    """Whether a change is good for the business (None for no change or none known)."""
    return None if c is None or c == 0 else (c > 0) == (direction == "higher")


def _target_dict(t: Target | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {"value": t.value, "direction": t.direction, "period": t.period, "region": t.region}


def kpi_cards(
    store: ReadStore,
    scope: RegionScope,
    month: str | date | None = None,
    region: str | None = None,
    targets: Targets | None = None,
) -> dict[str, Any]:
    """The cards of ``month`` (default: :func:`default_month`) in ``scope``, narrowed to ``region``
    (a county or grid id in scope): each card's metric, value, ``previous`` (环比's month) and
    ``last_year`` values, ``mom`` and ``yoy`` changes, whether each is ``better`` for the business,
    ``provisional`` flags, the ``target`` (None without one) and its ``attainment`` (完成率), and the
    metric's names and 口径."""
    from churnradar.metrics import CATALOGUE

    m = _month(store, month)
    prev, last_year = add_months(m, -1), add_months(m, -12)
    ids = list(dict.fromkeys(CARDS.values()))
    now = _result(store, scope.grids, region, m, ids)
    before = _result(store, scope.grids, region, prev, ids)
    year = _result(store, scope.grids, region, last_year, ids)
    who = _target_region(store, scope, region)
    cards = []
    for key, mid in CARDS.items():
        meta = CATALOGUE[mid]
        value = now.values[mid]
        p = before.values[mid] if before else None
        y = year.values[mid] if year else None
        target = targets.get(mid, m, who) if targets is not None and who is not None else None
        direction = target.direction if target else usual_direction(mid)
        mom, yoy = change(value, p, meta.unit), change(value, y, meta.unit)

        cards.append(
            {
                "key": key,
                "metric": mid,
                "unit": meta.unit,
                "value": value,
                "provisional": mid in now.provisional,
                "previous": p,
                "previous_provisional": bool(before and mid in before.provisional),
                "last_year": y,
                "last_year_provisional": bool(year and mid in year.provisional),
                "mom": mom,
                "yoy": yoy,
                "mom_better": _better(mom, direction),
                "yoy_better": _better(yoy, direction),
                "change": "difference" if meta.unit in DIFFERENCE_UNITS else "share",
                "direction": direction,
                "target": _target_dict(target),
                "attainment": attainment(value, target),
                "name_zh": meta.name_zh,
                "name_en": meta.name_en,
                "definition_zh": meta.definition_zh,
                "definition_en": meta.definition_en,
            }
        )
    return {
        "month": format_month(m),
        "previous_month": format_month(prev),
        "last_year_month": format_month(last_year),
        "region": region,
        "target_region": who,
        "targets_loaded": targets is not None and len(targets) > 0,
        "notes": list(now.notes),
        "cards": cards,
    }


def county_ranking(
    store: ReadStore,
    scope: RegionScope,
    month: str | date | None = None,
    kpi: str = DEFAULT_RANKING,
    targets: Targets | None = None,
) -> dict[str, Any]:
    """The counties of ``scope`` (those all of whose grids it holds) ranked by ``kpi`` for ``month``,
    highest first (a county without a value last): each row's rank, value, the month before's value
    and 环比, its county target and 完成率. Values are the metrics layer's breakdown by county, each
    equal to that county's own figure."""
    from churnradar.metrics import CATALOGUE

    if kpi not in RANKING_METRICS:
        raise ConfigError(f"cannot rank counties by {kpi!r}; expected one of {', '.join(RANKING_METRICS)}")
    m = _month(store, month)
    prev = add_months(m, -1)
    first, _ = store.data_months()
    counties = full_counties(store, scope)
    names: dict[str, tuple[str, str]] = {}
    for r in regions(store, scope):
        if r["county_id"] in counties:
            names[r["county_id"]] = (
                r["county_name"] or r["county_id"],
                r["county_name_en"] or r["county_id"],
            )
    grids = frozenset(g for g, c in store.region_rows() if c in names)
    months = [x for x in (prev, m) if x >= first]
    meta = CATALOGUE[kpi]
    df = store.series(months, grids, [kpi], ("county_id",)) if grids else None
    provisional = kpi in _result(store, scope.grids, None, m, [kpi]).provisional

    def value(month: date, county: str) -> float | int | None:
        if df is None or (month, county) not in df.index:
            return None
        v = df.loc[(month, county), kpi]
        if v != v:  # NaN: no denominator, or unknown
            return None
        return int(v) if meta.unit == "lines" else float(v)

    rows = []
    for cid, (name, name_en) in names.items():
        v, p = value(m, cid), value(prev, cid)
        target = targets.get(kpi, m, cid) if targets is not None else None
        rows.append(
            {
                "county_id": cid,
                "name": name,
                "name_en": name_en,
                "value": v,
                "previous": p,
                "mom": change(v, p, meta.unit),
                "target": _target_dict(target),
                "attainment": attainment(v, target),
            }
        )
    rows.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0), r["county_id"]))
    for i, r in enumerate(rows, start=1):
        r["rank"] = i if r["value"] is not None else None
    return {
        "month": format_month(m),
        "previous_month": format_month(prev),
        "kpi": kpi,
        "unit": meta.unit,
        "name_zh": meta.name_zh,
        "name_en": meta.name_en,
        "definition_zh": meta.definition_zh,
        "definition_en": meta.definition_en,
        "direction": usual_direction(kpi),
        "provisional": provisional,
        "choices": [
            {"id": k, "name_zh": CATALOGUE[k].name_zh, "name_en": CATALOGUE[k].name_en}
            for k in RANKING_METRICS
        ],
        "rows": rows,
    }
