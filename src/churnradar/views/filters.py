"""The dashboard's filters: one parser, the choices each page offers, and the rows they keep.

A page honours only some filters (:data:`PAGE_FILTERS`): the metrics layer breaks figures down by
region and month, so the KPI pages offer those; the risk list and the reasons read lines one by one
and can narrow them by any attribute of the line. A filter a page cannot honour is neither offered
nor read there.

>>> f = Filters(county="C01", risk="high")
>>> f.query()
{'county': 'C01', 'risk': 'high'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from churnradar.errors import ConfigError
from churnradar.views.scope import NotInScope, RegionScope
from churnradar.views.store import ReadStore

#: Risk levels of the churn model (``score.risk_level``), highest first as the drop-down lists them.
RISK_CHOICES = ("very_high", "high", "medium", "low")
#: The line-status filter of the risk list (``active`` is the default).
STATUS_CHOICES = ("active", "ended", "all")
#: Value tiers of the retention policy, highest first.
VALUE_CHOICES = ("high", "mid", "low")

#: The filters each analytical page honours, in the order its bar shows them.
PAGE_FILTERS: dict[str, tuple[str, ...]] = {
    # the metrics layer's figures of a month, for the lines of some grids
    "overview": ("month", "county", "grid"),
    # the drill-down is itself by county then grid; its 12 months end at the chosen month
    "regions": ("month", "county"),
    # labelled and predicted reasons of lines: any attribute of the line
    "reasons": ("county", "grid", "customer_group", "brand", "package", "channel"),
    # the packages' figures of the metrics layer (by package, for some grids); a brand keeps its packages
    "packages": ("month", "county", "grid", "brand"),
    # the scores of a month (a score batch; default the newest), line by line
    "risk": (
        "month",
        "county",
        "grid",
        "customer_group",
        "brand",
        "package",
        "channel",
        "segment",
        "value",
        "risk",
        "status",
    ),
}


@dataclass(frozen=True)
class Filters:
    """What a page is narrowed to; None: not narrowed."""

    month: date | None = None
    county: str | None = None
    grid: str | None = None
    customer_group: str | None = None
    brand: str | None = None
    package: str | None = None
    channel: str | None = None
    segment: str | None = None
    value: str | None = None
    risk: str | None = None
    status: str | None = None

    def query(self) -> dict[str, str]:
        """The filters set, as URL query parameters (months as ``YYYY-MM``)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None:
                out[f.name] = v.strftime("%Y-%m") if isinstance(v, date) else str(v)
        return out

    def without(self, *names: str) -> Filters:
        return replace(self, **dict.fromkeys(names))

    @property
    def region(self) -> str | None:
        """The narrowest region chosen: the grid, else the county."""
        return self.grid or self.county


FILTER_NAMES = tuple(f.name for f in fields(Filters))


def parse(
    params: Mapping[str, Any], page: str, store: ReadStore, scope: RegionScope, *, strict: bool = True
) -> Filters:
    """The filters of ``page`` found in ``params`` (a URL's query), checked against the store and the
    reader's ``scope``. Empty values are not filters; parameters the page does not honour are not
    read. A county or grid outside the scope (or not in the store) raises :class:`NotInScope`, as
    does a grid outside the chosen county; an unknown code raises :class:`ConfigError` naming the
    choices, or with ``strict=False`` is dropped (a page keeps working on a stale link)."""
    if page not in PAGE_FILTERS:
        raise ConfigError(f"page {page!r} has no filters; expected one of {', '.join(PAGE_FILTERS)}")
    wanted = {k: str(params[k]).strip() for k in PAGE_FILTERS[page] if params.get(k) not in (None, "")}
    got: dict[str, Any] = {}
    if "month" in wanted:
        got["month"] = _month(wanted["month"], store)
        if page == "risk":  # the month of a score batch
            from churnradar.views.scores import batch_info

            batch_info(store, got["month"])
    rows = store.region_rows()
    if "county" in wanted:
        county = wanted["county"]
        if not scope.allows_county(county) or county not in {c for _, c in rows}:
            raise NotInScope(f"no county {county!r} in your regions")
        got["county"] = county
    if "grid" in wanted:
        grid = wanted["grid"]
        county_of = dict(rows)
        if not scope.allows_grid(grid) or grid not in county_of:
            raise NotInScope(f"no region {grid!r} in your regions")
        if got.get("county") and county_of[grid] != got["county"]:
            raise NotInScope(f"no region {grid!r} in county {got['county']!r}")
        got["grid"] = grid
    for name in ("customer_group", "brand", "package", "channel", "segment", "value", "risk", "status"):
        if name not in wanted:
            continue
        allowed = codes(store, name)
        if wanted[name] in allowed:
            got[name] = wanted[name]
        elif strict:
            raise ConfigError(
                f"{name} {wanted[name]!r} unknown; expected one of {', '.join(allowed) or '(none in this store)'}"
            )
    return Filters(**got)


def _month(text: str, store: ReadStore) -> date:
    from churnradar.periods import format_month, parse_month

    first, last = store.data_months()
    try:
        m = parse_month(text)
    except Exception:
        raise ConfigError(f"month {text!r} is not a month; expected YYYY-MM") from None
    if not first <= m <= last:
        raise ConfigError(
            f"month {format_month(m)} is outside the data; expected a month from "
            f"{format_month(first)} to {format_month(last)}"
        )
    return m


def codes(store: ReadStore, name: str) -> list[str]:
    """The codes the filter ``name`` accepts in this store (empty: the store cannot honour it)."""
    return [o["code"] for o in _options(store, name)]


def _options(store: ReadStore, name: str) -> list[dict[str, Any]]:
    """``{"code", "zh", "en"}`` of each choice of an attribute filter that this store holds."""

    def build() -> list[dict[str, Any]]:
        from churnradar.schema import enums as E

        if name == "customer_group":
            if not (store.has("customer") and "customer_group" in store.columns("customer")):
                return []
            held = {
                r["g"]
                for r in store.rows(
                    "SELECT DISTINCT customer_group AS g FROM customer WHERE customer_group IS NOT NULL"
                )
            }
            return [_enum(E.CUSTOMER_GROUP, c) for c in E.CUSTOMER_GROUP if c in held]
        if name == "brand":
            held = set()
            if "brand" in store.columns("subscription"):
                held |= {
                    r["b"]
                    for r in store.rows(
                        "SELECT DISTINCT brand AS b FROM subscription WHERE brand IS NOT NULL"
                    )
                }
            if store.has("package"):
                held |= {
                    r["b"]
                    for r in store.rows("SELECT DISTINCT brand AS b FROM package WHERE brand IS NOT NULL")
                }
            return [_enum(E.BRAND, c) for c in E.BRAND if c in held]
        if name == "package":
            if not store.has("package"):
                return []
            rows = store.rows(
                "SELECT package_id, package_name, package_name_en, brand FROM package ORDER BY package_id"
            )
            return [
                {"code": r["package_id"], "zh": r["package_name"] or r["package_id"],
                 "en": r["package_name_en"] or r["package_name"] or r["package_id"], "brand": r["brand"]}
                for r in rows
            ]  # fmt: skip
        if name == "channel":
            if not (store.has("channel") and "channel_id" in store.columns("subscription")):
                return []
            rows = store.rows(
                "SELECT c.channel_id, any_value(c.channel_name) AS zh, any_value(c.channel_name_en) AS en "
                "FROM channel c JOIN (SELECT DISTINCT channel_id FROM subscription) s USING (channel_id) "
                "GROUP BY 1 ORDER BY 1"
            )
            return [
                {
                    "code": r["channel_id"],
                    "zh": r["zh"] or r["channel_id"],
                    "en": r["en"] or r["zh"] or r["channel_id"],
                }
                for r in rows
            ]
        if name == "segment":
            from churnradar.retention.policy import Policy, segment_label

            risks = list(reversed(Policy.load().risk_names))
            segs = [f"{v}×{r}" for v in VALUE_CHOICES for r in risks]
            return [{"code": s, "zh": segment_label(s, "zh"), "en": segment_label(s, "en")} for s in segs]
        if name == "value":
            from churnradar.retention.policy import VALUE_LABELS

            return [{"code": v, "zh": VALUE_LABELS.get(v, v), "en": f"{v} value"} for v in VALUE_CHOICES]
        if name in ("risk", "status"):
            from churnradar.i18n import t

            return [
                {"code": c, "zh": t(f"{name}_filter.{c}", "zh"), "en": t(f"{name}_filter.{c}", "en")}
                for c in (RISK_CHOICES if name == "risk" else STATUS_CHOICES)
            ]
        raise ConfigError(f"no filter {name!r}; expected one of {', '.join(FILTER_NAMES)}")

    return store.memo(f"filter_options:{name}", build)


def _enum(labels: dict[str, tuple[str, str]], code: str) -> dict[str, str]:
    en, zh = labels[code]
    return {"code": code, "zh": zh, "en": en}


def month_choices(store: ReadStore) -> list[dict[str, Any]]:
    """The months of data, newest first: ``{"month", "provisional"}``, provisional when the metrics
    layer's lagged figures of the month (exits dated by the month left) can still grow."""
    from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS
    from churnradar.periods import add_months, month_range

    first, last = store.data_months()
    return [
        {"month": m, "provisional": add_months(m, DEREGISTRATION_LAG_MONTHS) > last}
        for m in reversed(month_range(first, last))
    ]


def default_month(store: ReadStore) -> date:
    """The month a page shows unless asked: the latest complete month, the last month of data (the
    figures the pages show are dated by the month recorded, complete through it)."""
    return store.data_months()[1]


def choices(
    store: ReadStore, scope: RegionScope, page: str, lang: str = "zh"
) -> dict[str, list[dict[str, Any]]]:
    """The choices of each filter ``page`` shows, in ``lang``: ``{"code", "label"}`` (grids also
    carry their ``county``). Counties and grids are those of ``scope``; an attribute the store does
    not hold has no choices (and the page shows no drop-down for it)."""
    from churnradar.views.regions import regions

    en = lang == "en"
    out: dict[str, list[dict[str, Any]]] = {}
    for name in PAGE_FILTERS[page]:
        if name == "month" and page == "risk":  # the months with a score batch, newest first
            from churnradar.views.scores import score_months

            out[name] = [
                {"code": m.strftime("%Y-%m"), "label": m.strftime("%Y-%m"), "provisional": False}
                for m in reversed(score_months(store))
            ]
        elif name == "month":
            out[name] = [
                {"code": c["month"].strftime("%Y-%m"), "label": c["month"].strftime("%Y-%m"), "provisional": c["provisional"]}
                for c in month_choices(store)
            ]  # fmt: skip
        elif name == "county":
            seen: dict[str, str] = {}
            for r in regions(store, scope):
                seen.setdefault(
                    r["county_id"], (r["county_name_en"] if en else r["county_name"]) or r["county_id"]
                )
            out[name] = [{"code": c, "label": label} for c, label in seen.items()]
        elif name == "grid":
            out[name] = [
                {"code": r["grid_id"], "label": r["grid_name"] or r["grid_id"], "county": r["county_id"]}
                for r in regions(store, scope)
            ]
        else:
            opts = _options(store, name)
            if (
                name == "channel"
            ):  # another county's shop is named after it: only channels of the scope's lines
                used = _channels_in(store, scope)
                opts = [o for o in opts if o["code"] in used]
            out[name] = [{"code": o["code"], "label": o["en" if en else "zh"]} for o in opts]
    return {k: v for k, v in out.items() if v}


def _channels_in(store: ReadStore, scope: RegionScope) -> set[str]:
    """The acquisition channels of the lines in ``scope``."""
    from churnradar.views.regions import subs_cte

    key = "*" if scope.grids is None else ",".join(sorted(scope.grids))

    def build() -> set[str]:
        cte, params = subs_cte(scope)
        rows = store.rows(
            f"WITH {cte} SELECT DISTINCT channel_id FROM subs WHERE channel_id IS NOT NULL", params
        )
        return {r["channel_id"] for r in rows}

    return store.memo(f"filter_channels:{key}", build)


def narrowed(scope: RegionScope, f: Filters, store: ReadStore) -> RegionScope:
    """``scope`` narrowed to the filters' county or grid (``f`` already checked by :func:`parse`)."""
    if not f.region:
        return scope
    grids = frozenset(g for g, c in store.region_rows() if f.region in (g, c) and scope.allows_grid(g))
    return RegionScope(grids, frozenset(c for g, c in store.region_rows() if g in grids))


def line_conditions(f: Filters, store: ReadStore, alias: str = "subs") -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) keeping the lines of ``alias`` (the ``subs`` expression
    of :func:`churnradar.views.regions.subs_cte`) that match the filters' line attributes: customer
    group, brand, package and channel. A filter the store cannot honour keeps no line."""
    where: list[str] = []
    params: list[Any] = []
    if f.customer_group:
        if store.has("customer") and "customer_group" in store.columns("customer"):
            where.append(
                f"{alias}.customer_id IN (SELECT customer_id FROM customer WHERE customer_group = ?)"
            )
            params.append(f.customer_group)
        else:
            where.append("FALSE")
    for name, col in (("brand", "brand"), ("package", "package_id"), ("channel", "channel_id")):
        wanted = getattr(f, name)
        if wanted:
            where.append(f"{alias}.{col} = ?")
            params.append(wanted)
    return where, params
