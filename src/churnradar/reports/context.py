"""The shared inputs of every report: one store, one as-of month, one churn dating, cached facts.

Counting conventions (docs/reports.md says the same):

- **Churn** is off-net churn (deregistration 销户 or port-out 携出) from :func:`churnradar.labels.churn_events`,
  so in-network number and tariff re-selection are never counted as lost. ``dating="left"`` (default,
  the project's ``offnet`` definition) dates a churn in the month the customer actually left (last
  billable activity); ``dating="recorded"`` dates it by the recorded deregistration or port-out.
  Under ``left``, the last ``DEREGISTRATION_LAG_MONTHS`` months of data are *provisional*: leavers on
  the arrears path are recorded about three months after leaving, so those months still grow.
- **Base (denominator)**: 上月末在网数 — lines open at the end of the previous month by BSS status
  (activated by then, no deregistration or port-out recorded by then). Churn rate = churn in the
  month / that base.
- **Segments** are those of the line at activation: package and brand at activation, acquisition
  channel, home county and grid, customer group. Tenure is months from the activation month.
- **Scope**: a context opened for a county (``region``) or a set of grids (``grids``: a caller's
  regions) reads only those grids' subscribers. Builders read the store through
  :meth:`ReportContext.table`, which applies the scope to every table about subscribers or
  regions, so a scoped report is built from the scoped rows, never filtered afterwards.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from churnradar.errors import ConfigError
from churnradar.i18n import normalise_lang
from churnradar.labels.definitions import DATING_ALIASES, DATINGS, get_definition
from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS, line_ends, open_at
from churnradar.periods import (
    add_months,
    format_month,
    month_end,
    month_end_exclusive,
    months_between,
    parse_month,
)
from churnradar.schema.enums import OFFNET_KINDS
from churnradar.store.backends import Backend, open_backend

#: Tenure bands in months (inclusive bounds); 3–9 is the promotion-churn window.
TENURE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 2, "0-2"),
    (3, 9, "3-9"),
    (10, 23, "10-23"),
    (24, 35, "24-35"),
    (36, None, "36+"),
)


def tenure_band(months: np.ndarray | pd.Series) -> np.ndarray:
    """Tenure band label of each tenure in months (``TENURE_BANDS``)."""
    m = np.asarray(months, dtype=float)
    out = np.full(m.shape, "", dtype=object)
    for lo, hi, name in TENURE_BANDS:
        sel = (m >= lo) & ((m >= 0) if hi is None else (m <= hi))
        out[sel] = name
    return out


def month_index(month: date) -> int:
    """``year * 12 + month - 1`` of a month (a date)."""
    return month.year * 12 + month.month - 1


def month_indices(values: pd.Series) -> np.ndarray:
    """Vectorised :func:`month_index` of dates, timestamps or ``YYYY-MM`` text (read by
    :func:`churnradar.periods.parse_month`); NaN where the value is null."""
    if values.map(lambda v: isinstance(v, str)).any():
        parsed = {v: month_index(parse_month(v)) for v in values.dropna().unique()}
        return values.map(parsed).to_numpy(dtype=float)
    ts = pd.to_datetime(values)
    return (ts.dt.year * 12 + ts.dt.month - 1).to_numpy(dtype=float)


def month_strings(values: pd.Series) -> pd.Series:
    """Dates → ``YYYY-MM`` strings, vectorised."""
    return pd.to_datetime(values).dt.strftime("%Y-%m")


@dataclass
class ReportContext:
    """One report run: backend, as-of month, month window, dating, language and suppression threshold."""

    bk: Backend
    as_of: date
    months: list[date]
    dating: str = "left"
    lang: str = "zh"
    min_count: int = 5
    first_data_month: date | None = None
    last_data_month: date | None = None
    region: str | None = None
    #: the grids this report may read (None: the whole operator); set from ``region`` and ``grids``
    grids: frozenset[str] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _pending_cache: Any = field(default=None, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def open(
        cls,
        store: Path | str,
        as_of: str | date | None = None,
        *,
        window: int = 24,
        dating: str = "left",
        lang: str = "zh",
        min_count: int = 5,
        backend: str = "duckdb",
        region: str | None = None,
        grids: frozenset[str] | set[str] | None = None,
    ) -> ReportContext:
        """Open ``store`` and fix the month window: up to ``window`` months ending at ``as_of``.

        ``as_of`` defaults to the last month with data; it must lie within the data. ``region`` (a
        county id or name) and ``grids`` (grid ids, e.g. a caller's regions) limit what the report
        reads: with both, the county's grids within ``grids``.
        """
        dating = DATING_ALIASES.get(dating, dating)
        if dating not in DATINGS:
            raise ConfigError(f"dating {dating!r} is not known; expected one of {', '.join(DATINGS)}")
        if not 1 <= int(window) <= 120:
            raise ConfigError(f"window {window} is out of range; expected 1 to 120 months")
        if int(min_count) < 1:
            raise ConfigError(f"min_count {min_count} is out of range; expected 1 or more")
        bk = open_backend(store, backend)
        u = bk.table("usage_monthly")
        row = bk.to_pyarrow(u.aggregate(lo=u.month.min(), hi=u.month.max())).to_pylist()[0]
        if row["lo"] is None:
            bk.close()
            raise ConfigError(f"{store}: the store has no usage_monthly rows; ingest data first")
        first, last = parse_month(row["lo"]), parse_month(row["hi"])
        month = parse_month(as_of) if as_of is not None else last
        if not first <= month <= last:
            bk.close()
            raise ConfigError(
                f"as-of month {format_month(month)} is outside the data; expected a month from "
                f"{format_month(first)} to {format_month(last)}"
            )
        # under "left" dating the first month of data also holds every line that left before the
        # data start (its last activity is unknown), so it is left out of the window
        earliest = add_months(first, 1) if dating == "left" and month > first else first
        n = min(int(window), months_between(earliest, month) + 1)
        months = [add_months(month, -i) for i in range(n - 1, -1, -1)]
        scope: frozenset[str] | None = None if grids is None else frozenset(grids)
        if region is not None or scope is not None:
            r = bk.to_pyarrow(
                bk.table("region").select("grid_id", "county_id", "county_name", "county_name_en")
            ).to_pylist()
            if region is not None:
                found = [
                    x["county_id"]
                    for x in r
                    if region in (x["county_id"], x["county_name"], x["county_name_en"])
                ]
                if not found:
                    bk.close()
                    allowed = sorted({x["county_id"] for x in r if scope is None or x["grid_id"] in scope})
                    raise ConfigError(
                        f"region {region!r} is not a county of this store; expected one of "
                        + ", ".join(allowed)
                    )
                region = found[0]
                county_grids = frozenset(x["grid_id"] for x in r if x["county_id"] == region)
                scope = county_grids if scope is None else county_grids & scope
            scope = scope & frozenset(x["grid_id"] for x in r)
            if not scope:
                bk.close()
                raise ConfigError(
                    "the report's scope holds no grid of this store; expected a county or grid id"
                )
        return cls(
            bk, month, months, dating, normalise_lang(lang), int(min_count), first, last, region, scope
        )

    def close(self) -> None:
        for v in self._cache.values():
            release = getattr(v, "release", None)
            if callable(release):
                with contextlib.suppress(Exception):  # the connection may already be gone
                    release()
        self._cache.clear()
        self.bk.close()
        if self._pending_cache is not None:
            self._persist_events()

    def _persist_events(self) -> None:
        """Keep the freshly computed events in the store (best effort: a store another process holds,
        or a read-only file, just computes them again next time)."""
        from churnradar.labels.stored import write_events

        rows, self._pending_cache = self._pending_cache, None
        try:
            write_events(Path(self.bk.source), rows)
        except Exception as exc:
            import logging

            logging.getLogger(__name__).info("churn events not kept in the store: %s", exc)

    def __enter__(self) -> ReportContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ month helpers
    @property
    def complete_through(self) -> date:
        """Last month whose churn is fully recorded under this dating."""
        assert self.last_data_month is not None
        if self.dating == "recorded":
            return self.last_data_month
        return add_months(self.last_data_month, -DEREGISTRATION_LAG_MONTHS)

    def is_provisional(self, month: date) -> bool:
        return month > self.complete_through

    @property
    def start(self) -> date:
        return self.months[0]

    def month_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "month": [format_month(m) for m in self.months],
                "provisional": [self.is_provisional(m) for m in self.months],
            }
        )

    def run(self, expr: ir.Expr) -> pd.DataFrame:
        """Execute an Ibis expression on the backend into pandas."""
        return self.bk.to_pyarrow(expr).to_pandas()

    # ------------------------------------------------------------------ scope
    @property
    def scoped(self) -> bool:
        return self.grids is not None

    def table(self, name: str) -> ir.Table:
        """A store table as this report may read it: the whole table for the whole operator, else
        only the scope's rows — regions and subscriptions by grid, every table about subscribers
        (usage, billing, events, calls, complaints, surveys, contacts...) by the scope's
        subscribers, customers by their lines, promotions by county (operator-wide ones stay).
        Dimensions (packages, channels, competitors, campaigns) are read whole."""
        t = self.bk.table(name)
        if self.grids is None:
            return t
        cols = set(t.columns)
        if "grid_id" in cols:
            return t.filter(t.grid_id.isin(sorted(self.grids)))
        if "subscriber_id" in cols:
            return t.semi_join(self._scoped_subscribers(), "subscriber_id")
        if name == "customer":
            return t.semi_join(self._scoped_subscriptions().select("customer_id"), "customer_id")
        if name == "outcome" and "contact_id" in cols:
            return t.semi_join(self.table("contact").select("contact_id"), "contact_id")
        if name == "promotion" and "county_id" in cols:
            return t.filter(t.county_id.isnull() | t.county_id.isin(sorted(self.counties)))
        return t

    def _scoped_subscriptions(self) -> ir.Table:
        s = self.bk.table("subscription")
        return s.filter(s.grid_id.isin(sorted(self.grids or ())))

    def _scoped_subscribers(self) -> ir.Table:
        return self._scoped_subscriptions().select("subscriber_id")

    @cached_property
    def counties(self) -> frozenset[str]:
        """Counties with at least one grid in scope (every county without a scope)."""
        return frozenset(self.run(self.table("region").select("county_id").distinct())["county_id"])

    # ------------------------------------------------------------------ cached facts
    def _cached(self, key: str, make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def definition_name(self) -> str:
        return "offnet" if self.dating == "left" else "offnet_recorded"

    def events(self) -> ir.Table:
        """Churn events of every kind (labels' ``offnet`` definition), computed once per data version.

        They are most of a report run's cost, so they are read from the store's ``churn_event`` table
        when it is current (see :mod:`churnradar.labels.stored`; ``churnradar label`` writes it),
        and otherwise computed and kept there when the context closes. Under ``recorded`` dating,
        off-net events are dated by their recorded month (the same events; only the date differs).
        """

        def make() -> ir.Table:
            from churnradar.labels.stored import events_for

            ev, self._pending_cache = events_for(self.bk, get_definition("offnet"))
            if self.dating == "recorded":
                off = ev.kind.isin(OFFNET_KINDS) & ev.recorded_month.notnull()
                ev = ev.mutate(event_month=ibis.cases((off, ev.recorded_month), else_=ev.event_month))
            return ev

        return self._cached("events", make)

    def lines(self) -> ir.Table:
        """One row per line: segments at activation, cohort month and recorded close month."""

        def make() -> ir.Table:
            bk = self.bk
            s = self.table("subscription")
            c = bk.table("customer").select("customer_id", "customer_group")
            ch = bk.table("channel").select("channel_id", "channel_type")
            r = self.table("region").select("grid_id", "county_id")
            ends = line_ends(bk.table("status_event")).select("subscriber_id", "end_time")
            j = (
                s.join(c, "customer_id")
                .join(ch, "channel_id")
                .join(r, "grid_id")
                .left_join(ends, "subscriber_id")
            )
            return j.select(
                "subscriber_id",
                "customer_id",
                "county_id",
                "grid_id",
                "package_id",
                "brand",
                "payment_type",
                "channel_id",
                "channel_type",
                "customer_group",
                cohort=j.activation_date.truncate("M"),
                close_month=j.end_time.cast("date").truncate("M"),
            ).cache()

        return self._cached("lines", make)

    def churn(self) -> ir.Table:
        """Off-net churners (first off-net or port-out event per line) with their line facts.

        ``revenue_3m``: the line's mean monthly billed revenue over the three months before the
        churn month (the monthly revenue that walks out; zero when there were no bills).
        """

        def make() -> ir.Table:
            ev = self.events()
            off = ev.filter(ev.kind.isin(OFFNET_KINDS))
            first = off.group_by("subscriber_id").agg(
                churn_month=off.event_month.min(),
                kind=off.kind.argmin(off.event_month),
                reason_code=off.reason_code.argmin(off.event_month),
                intent=off.intent.argmin(off.event_month),
                voluntary=off.voluntary.argmin(off.event_month),
                recorded_month=off.recorded_month.argmin(off.event_month),
            )
            j = self.lines().join(first, "subscriber_id")
            return self._with_revenue(j, "churn_month").cache()

        return self._cached("churn", make)

    def kind_events(self) -> ir.Table:
        """Events of every kind within the window, with the line's facts and ``revenue_3m``."""

        def make() -> ir.Table:
            ev = self.events()
            lo, hi = ibis.literal(self.start), ibis.literal(self.as_of)
            ev = ev.filter(ev.event_month.between(lo, hi)).select(
                "subscriber_id", "kind", "event_month", "reason_code", "intent"
            )
            j = ev.join(
                self.lines().select("subscriber_id", "customer_id", "customer_group"), "subscriber_id"
            )
            return self._with_revenue(j, "event_month").cache()

        return self._cached("kind_events", make)

    def _with_revenue(self, t: ir.Table, month_col: str) -> ir.Table:
        b = self.table("billing_monthly").select("subscriber_id", "month", "revenue")
        keys = t.select("subscriber_id", m=t[month_col]).distinct()
        jj = keys.join(b, "subscriber_id")
        jj = jj.filter((jj.month < jj.m) & (jj.month >= (jj.m - ibis.interval(months=3)).cast("date")))
        rev = jj.group_by(["subscriber_id", "m"]).agg(revenue_3m=jj.revenue.sum() / 3.0)
        out = t.left_join(rev, (t.subscriber_id == rev.subscriber_id) & (t[month_col] == rev.m))
        out = out.drop([c for c in out.columns if c.endswith("_right") or c == "m"])
        return out.mutate(revenue_3m=out.revenue_3m.fill_null(0.0))

    # ------------------------------------------------------------------ stocks and counts
    def stock(self, dims: list[str], by_cohort: bool = False) -> pd.DataFrame:
        """Lines open at the end of the previous month (上月末在网数) by ``dims`` and window month.

        With ``by_cohort`` the activation month stays as a column (``cohort``), so tenure bands can
        be derived (tenure = month − cohort, in months).
        """
        key = f"stock:{','.join(dims)}:{by_cohort}"

        def make() -> pd.DataFrame:
            ln = self.lines()
            # lines with the same segments, activation month and close month count alike: the
            # population's test (in network at the end of the previous month) runs on those groups,
            # the activation and close months standing for the dates (the test reads only months)
            agg = ln.group_by([*dims, "cohort", "close_month"]).agg(n=ln.count())
            agg = agg.mutate(activation_date=agg.cohort, end_time=agg.close_month.cast("timestamp"))
            prev = [add_months(m, -1) for m in self.months]
            mt = ibis.memtable(
                pd.DataFrame(
                    {
                        "month": [format_month(m) for m in self.months],
                        "prev_last": [month_end(p) for p in prev],
                        "prev_next": [month_end_exclusive(p) for p in prev],
                    }
                ),
                schema={"month": "string", "prev_last": "date", "prev_next": "timestamp"},
            )
            j = agg.cross_join(mt)
            j = j.filter(open_at(j, j.prev_last, j.prev_next))
            group = [*dims, "month"] + (["cohort"] if by_cohort else [])
            out = self.run(j.group_by(group).agg(base=j.n.sum()))
            out["base"] = out["base"].astype("int64")
            return out.sort_values(group).reset_index(drop=True)

        return self._cached(key, make)

    def churn_counts(self, dims: list[str], by_cohort: bool = False) -> pd.DataFrame:
        """Off-net churners by ``dims`` and churn month within the window, with lost revenue."""
        key = f"churn:{','.join(dims)}:{by_cohort}"

        def make() -> pd.DataFrame:
            ch = self.churn()
            ch = ch.filter(ch.churn_month.between(ibis.literal(self.start), ibis.literal(self.as_of)))
            group = [*dims, "churn_month"] + (["cohort"] if by_cohort else [])
            df = self.run(ch.group_by(group).agg(churners=ch.count(), revenue=ch.revenue_3m.sum()))
            df["month"] = month_strings(df.pop("churn_month"))
            return df

        return self._cached(key, make)

    def rates(self, dims: list[str], by_cohort: bool = False) -> pd.DataFrame:
        """Churners and base joined by ``dims`` and month (before suppression)."""
        base = self.stock(dims, by_cohort)
        cnt = self.churn_counts(dims, by_cohort)
        keys = [*dims, "month"] + (["cohort"] if by_cohort else [])
        if by_cohort:
            base = base.assign(cohort=month_strings(base["cohort"]))
            cnt = cnt.assign(cohort=month_strings(cnt["cohort"]))
        df = base.merge(cnt, on=keys, how="outer")
        df["base"] = df["base"].fillna(0).astype(int)
        df["churners"] = df["churners"].fillna(0).astype(int)
        df["revenue"] = df["revenue"].fillna(0.0)
        return df

    def label(self, labels: dict[str, tuple[str, str]], code: Any) -> str:
        from churnradar.i18n import enum_label

        return enum_label(labels, code, self.lang)

    @cached_property
    def names(self) -> dict[str, dict[str, str]]:
        """Display names of dimension codes in this language (county, grid, package, channel, competitor)."""
        zh = self.lang == "zh"
        out: dict[str, dict[str, str]] = {}
        r = self.run(self.table("region"))
        out["county_id"] = dict(zip(r.county_id, r.county_name if zh else r.county_name_en, strict=False))
        out["grid_id"] = dict(zip(r.grid_id, r.grid_name, strict=False))
        p = self.run(self.bk.table("package"))
        out["package_id"] = dict(zip(p.package_id, p.package_name if zh else p.package_name_en, strict=False))
        c = self.run(self.bk.table("channel"))
        out["channel_id"] = dict(zip(c.channel_id, c.channel_name if zh else c.channel_name_en, strict=False))
        k = self.run(self.bk.table("competitor"))
        out["competitor_id"] = dict(
            zip(k.competitor_id, k.competitor_name if zh else k.competitor_name_en, strict=False)
        )
        return out
