"""Read side of the API and dashboard: scoped queries over the analytical store (DuckDB).

Every function takes the caller's :class:`~churnradar.api.roles.Scope` and builds its SQL on the
``subs`` common table expression, which joins subscriptions to their region and keeps only the
grids in scope. Nothing here reads a subscriber outside the scope, so the routes cannot either.

The store is opened read-only once per app; each call takes its own cursor (DuckDB cursors are
independent connections to the same database and safe to use from different threads).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from churnradar.api.roles import NotInScope, Scope
from churnradar.errors import ConfigError, StoreError

#: Risk levels of the churn model (``score.risk_level``: multiples of the base rate).
RISK_LEVELS = ("low", "medium", "high", "very_high")
#: Columns the risk list takes from retention's ``value_segment`` table.
VALUE_COLUMNS = (
    "clv",
    "cvf",
    "value_tier",
    "switching_cost",
    "segment",
    "action",
    "action_zh",
    "action_en",
    "offer_kind",
    "channel",
)
MAX_PAGE_SIZE = 200


def _subs_cte(scope: Scope) -> tuple[str, list[Any]]:
    pred, params = scope.sql("s.grid_id")
    sql = f"""subs AS (
      SELECT s.subscriber_id, s.customer_id, s.brand, s.package_id, s.payment_type, s.activation_date,
             s.channel_id, s.contract_end, s.family_group_id, s.grid_id, r.grid_name, r.county_id,
             r.county_name, r.county_name_en
      FROM subscription s LEFT JOIN region r ON r.grid_id = s.grid_id
      WHERE {pred}
    )"""
    return sql, params


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    res = cur.execute(sql, params or [])
    cols = [d[0] for d in res.description]
    return [dict(zip(cols, (_plain(v) for v in r), strict=True)) for r in res.fetchall()]


def _plain(v: Any) -> Any:
    if isinstance(v, float) and v != v:  # NaN
        return None
    return v


@dataclass
class RiskFilters:
    region: str | None = None  # a county or grid id
    segment: str | None = None
    package: str | None = None
    risk: str | None = None  # high / medium / low
    value: str | None = None  # value tier
    min_p: float | None = None


class AnalyticalData:
    """Scoped read access to one analytical store."""

    def __init__(self, store_path: str | Path):
        self.path = Path(store_path)
        if not self.path.exists():
            raise StoreError(
                f"{self.path}: no such store; run `churnradar ingest` or `churnradar demo` first"
            )
        try:
            self._con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {self.path} read-only: {exc}") from None
        self._lock = threading.Lock()
        self._tables: set[str] | None = None
        self._region_rows: list[tuple[str, str]] | None = None
        #: metrics-layer series by (months, grids, ids, by): the store is read-only while the app
        #: holds it, so a figure computed once stays right (the dashboard reloads for free)
        self._series_cache: dict[tuple, Any] = {}

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    def close(self) -> None:
        self._con.close()

    # -- catalogue --------------------------------------------------------------------------
    def tables(self) -> set[str]:
        if self._tables is None:
            cur = self.cursor()
            self._tables = {
                r[0]
                for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()
            }
        return self._tables

    def has(self, table: str) -> bool:
        return table in self.tables()

    def columns(self, table: str) -> list[str]:
        cur = self.cursor()
        return [
            r[0]
            for r in cur.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]
            ).fetchall()
        ]

    def region_rows(self) -> list[tuple[str, str]]:
        """(grid_id, county_id) for every grid."""
        if self._region_rows is None:
            cur = self.cursor()
            self._region_rows = [
                tuple(r) for r in cur.execute("SELECT grid_id, county_id FROM region").fetchall()
            ]
        return self._region_rows

    def full_counties(self, scope: Scope) -> list[str]:
        """Counties all of whose grids are in scope (aggregate reports are per whole county)."""
        by_county: dict[str, set[str]] = {}
        for g, c in self.region_rows():
            by_county.setdefault(c, set()).add(g)
        return sorted(c for c, grids in by_county.items() if all(scope.allows_grid(g) for g in grids))

    def known_regions(self) -> set[str]:
        return {g for g, _ in self.region_rows()} | {c for _, c in self.region_rows()}

    def regions(self, scope: Scope) -> list[dict[str, Any]]:
        pred, params = scope.sql("grid_id")
        return _rows(
            self.cursor(),
            f"SELECT grid_id, grid_name, county_id, county_name, county_name_en, city, area_type "
            f"FROM region WHERE {pred} ORDER BY county_id, grid_id",
            params,
        )

    def packages(self) -> list[dict[str, Any]]:
        return _rows(
            self.cursor(),
            "SELECT package_id, package_name, package_name_en, brand, payment_type, monthly_fee "
            "FROM package ORDER BY package_id",
        )

    # -- scores -----------------------------------------------------------------------------
    def score_info(self) -> dict[str, Any]:
        """Which score batch the lists read: the newest ``as_of`` of ``score``, or no model yet."""
        if not self.has("score"):
            return {"state": "no_model", "as_of": None, "horizons": []}
        cols = self.columns("score")
        cur = self.cursor()
        as_of = cur.execute("SELECT max(as_of) FROM score").fetchone()[0] if "as_of" in cols else None
        horizons = [c for c in cols if c.startswith("p_churn_")]
        return {"state": "scored" if as_of or horizons else "no_model", "as_of": as_of, "horizons": horizons}

    def _score_select(self) -> tuple[str, list[str]]:
        """SQL for the newest score batch joined to the newest value and segment batch, and its columns.

        ``score`` (the churn model: probabilities, health, risk level, reasons) is one row per
        subscriber and month; ``value_segment`` (retention: CLV, CVF, value tier, segment,
        recommended action) is joined on the subscriber from its newest month.
        """
        cols = self.columns("score")
        where = "WHERE sc0.as_of = (SELECT max(as_of) FROM score)" if "as_of" in cols else ""
        extra, join = "", ""
        if self.has("value_segment"):
            vcols = [c for c in VALUE_COLUMNS if c in self.columns("value_segment")]
            if vcols:
                extra = ", " + ", ".join(f"v.{_q(c)}" for c in vcols)
                join = (
                    "LEFT JOIN value_segment v ON v.subscriber_id = sc0.subscriber_id "
                    "AND v.as_of = (SELECT max(as_of) FROM value_segment)"
                )
                cols = cols + [c for c in vcols if c not in cols]
        return f"(SELECT sc0.*{extra} FROM score sc0 {join} {where})", cols

    # -- subscriber ------------------------------------------------------------------------
    def subscriber(self, scope: Scope, subscriber_id: str) -> dict[str, Any]:
        """Profile, score, value, reasons, history and contacts of one subscriber in scope."""
        cte, params = _subs_cte(scope)
        cur = self.cursor()
        prof = _rows(
            cur,
            f"""WITH {cte}
            SELECT subs.*, p.package_name, p.package_name_en, p.monthly_fee
            FROM subs LEFT JOIN package p ON p.package_id = subs.package_id
            WHERE subs.subscriber_id = ?""",
            [*params, subscriber_id],
        )
        if not prof:
            raise NotInScope(f"no subscriber {subscriber_id!r} in your regions")
        out: dict[str, Any] = {"profile": prof[0]}
        out["status"] = self._status(cur, subscriber_id)
        out["score"] = self._score_of(cur, subscriber_id)
        out["history"] = _rows(
            cur,
            """SELECT u.month, round(u.voice_out_min + u.voice_in_min, 1) AS mou, round(u.data_mb, 1) AS data_mb,
                      u.active_days, round(b.revenue, 2) AS revenue, round(b.arrears, 2) AS arrears,
                      round(b.balance, 2) AS balance, b.recharge_count, b.package_id
               FROM usage_monthly u
               LEFT JOIN billing_monthly b ON b.subscriber_id = u.subscriber_id AND b.month = u.month
               WHERE u.subscriber_id = ? ORDER BY u.month""",
            [subscriber_id],
        )
        out["events"] = _rows(
            cur,
            "SELECT event_time, event_type, reason FROM status_event WHERE subscriber_id = ? ORDER BY event_time",
            [subscriber_id],
        )
        out["interactions"] = _rows(
            cur,
            "SELECT interaction_time, kind, channel, topic, resolved FROM interaction "
            "WHERE subscriber_id = ? ORDER BY interaction_time DESC LIMIT 50",
            [subscriber_id],
        )
        out["contacts"] = _rows(
            cur,
            """SELECT c.contact_id, c.campaign_id, k.name AS campaign_name, c.offer_id, c.is_control,
                      c.assigned_date, c.contacted, c.contact_time
               FROM contact c LEFT JOIN campaign k ON k.campaign_id = c.campaign_id
               WHERE c.subscriber_id = ? ORDER BY c.assigned_date""",
            [subscriber_id],
        )
        out["label"] = None
        if self.has("churn_label"):
            lab = _rows(
                cur,
                "SELECT as_of, definition, event_kind, event_month, reason_code, intent FROM churn_label "
                "WHERE subscriber_id = ? ORDER BY as_of DESC LIMIT 1",
                [subscriber_id],
            )
            out["label"] = lab[0] if lab else None
        return out

    def _status(self, cur: duckdb.DuckDBPyConnection, subscriber_id: str) -> str:
        r = cur.execute(
            "SELECT event_type FROM status_event WHERE subscriber_id = ? ORDER BY event_time DESC LIMIT 1",
            [subscriber_id],
        ).fetchone()
        return r[0] if r else "active"

    def _score_of(self, cur: duckdb.DuckDBPyConnection, subscriber_id: str) -> dict[str, Any] | None:
        if not self.has("score"):
            return None
        sel, _cols = self._score_select()
        rows = _rows(cur, f"SELECT * FROM {sel} WHERE subscriber_id = ?", [subscriber_id])
        return _decode_score(rows[0]) if rows else None

    def in_scope(self, scope: Scope, subscriber_id: str) -> bool:
        cte, params = _subs_cte(scope)
        r = (
            self.cursor()
            .execute(f"WITH {cte} SELECT 1 FROM subs WHERE subscriber_id = ?", [*params, subscriber_id])
            .fetchone()
        )
        return r is not None

    # -- risk list -------------------------------------------------------------------------
    def risk_list(
        self, scope: Scope, filters: RiskFilters, page: int = 1, page_size: int = 50
    ) -> dict[str, Any]:
        """The newest scores in scope, riskiest first, filtered and paged."""
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"page must be ≥ 1 and page_size 1..{MAX_PAGE_SIZE}")
        info = self.score_info()
        cte, params = _subs_cte(scope)
        where, wparams = ["TRUE"], []
        if filters.region:
            where.append("(subs.county_id = ? OR subs.grid_id = ?)")
            wparams += [filters.region, filters.region]
        if filters.package:
            where.append("subs.package_id = ?")
            wparams.append(filters.package)
        if info["state"] == "no_model":
            # no model trained yet: the population of the newest feature snapshot, unscored
            if self.has("feature_snapshot"):
                base = "JOIN (SELECT DISTINCT subscriber_id FROM feature_snapshot WHERE as_of = (SELECT max(as_of) FROM feature_snapshot)) f USING (subscriber_id)"
            else:
                base = ""
            if filters.segment or filters.value or filters.risk or filters.min_p is not None:
                where.append("FALSE")  # nothing has a segment, value or risk before a model
            sql = f"""WITH {cte}
                SELECT subs.subscriber_id, subs.county_id, subs.county_name, subs.county_name_en, subs.grid_id,
                       subs.grid_name, subs.package_id, NULL AS p, NULL AS health
                FROM subs {base} WHERE {" AND ".join(where)}"""
            order = "subs.subscriber_id"
            sort_cols: list[str] = []
        else:
            sel, cols = self._score_select()
            pcol = _main_p(cols)
            extra = [c for c in cols if c not in ("subscriber_id", "grid_id", "county_id", "package_id")]
            if filters.segment and "segment" in cols:
                where.append("sc.segment = ?")
                wparams.append(filters.segment)
            elif filters.segment:
                where.append("FALSE")
            if filters.value and "value_tier" in cols:
                where.append("CAST(sc.value_tier AS VARCHAR) = ?")
                wparams.append(filters.value)
            elif filters.value:
                where.append("FALSE")
            if filters.risk:
                if filters.risk not in RISK_LEVELS:
                    raise ConfigError(
                        f"risk {filters.risk!r} unknown; expected one of {', '.join(RISK_LEVELS)}"
                    )
                if "risk_level" in cols:
                    where.append("sc.risk_level = ?")
                    wparams.append(filters.risk)
                else:
                    where.append("FALSE")
            if filters.min_p is not None:
                where.append(f"sc.{pcol} >= ?")
                wparams.append(filters.min_p)
            sel_cols = ", ".join(f'sc."{c}"' for c in extra)
            sql = f"""WITH {cte}
                SELECT subs.subscriber_id, subs.county_id, subs.county_name, subs.county_name_en, subs.grid_id,
                       subs.grid_name, subs.package_id, sc.{pcol} AS p, {sel_cols}
                FROM subs JOIN {sel} sc ON sc.subscriber_id = subs.subscriber_id
                WHERE {" AND ".join(where)}"""
            order = f"sc.{pcol} DESC NULLS LAST, subs.subscriber_id"
            sort_cols = [pcol]
        cur = self.cursor()
        total = cur.execute(f"SELECT count(*) FROM ({sql})", [*params, *wparams]).fetchone()[0]
        items = _rows(
            cur,
            f"{sql} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, *wparams, page_size, (page - 1) * page_size],
        )
        return {
            "model": _jsonable(info),
            "total": total,
            "page": page,
            "page_size": page_size,
            "sorted_by": sort_cols,
            "items": [_decode_score(i) for i in items],
        }

    # -- overview and drill-down -----------------------------------------------------------
    def _backend(self) -> Any:
        """An Ibis backend on a cursor of the read-only store (the metrics layer reads through it)."""
        import ibis

        from churnradar.store.backends import Backend

        return Backend("duckdb", ibis.duckdb.from_connection(self.cursor()), self.path)

    def metrics(self, scope: Scope, month: str | None = None, region: str | None = None) -> dict[str, Any]:
        """Every metric of ``month`` (default: the last month of data) for the caller's regions,
        narrowed to ``region`` (a county or grid id in scope): :func:`churnradar.metrics.month_metrics`."""
        from churnradar.metrics import NotInRegion, month_metrics

        bk = self._backend()
        try:
            if month is None:
                month = self._last_month(bk)
            try:
                return month_metrics(bk, month, grids=scope.grids, region=region).to_dict()
            except NotInRegion:
                raise NotInScope(f"no region {region!r} in your regions") from None
        finally:
            bk.close()

    SERIES_CACHE_SIZE = 256

    def _series(
        self, months: list[date], grids: frozenset[str] | None, ids: list[str], by: tuple = ()
    ) -> Any:
        """:func:`churnradar.metrics.series` on this store, kept for the app's lifetime."""
        from churnradar.metrics import series

        key = (tuple(months), grids, tuple(ids), by)
        with self._lock:
            hit = self._series_cache.get(key)
        if hit is not None:
            return hit.copy()
        bk = self._backend()
        try:
            df = series(bk, months, grids, ids, by)
        finally:
            bk.close()
        with self._lock:
            if len(self._series_cache) >= self.SERIES_CACHE_SIZE:
                self._series_cache.pop(next(iter(self._series_cache)))
            self._series_cache[key] = df
        return df.copy()

    def data_months(self) -> tuple[date, date]:
        """First and last month of usage data."""
        if getattr(self, "_data_months", None) is None:
            from churnradar.metrics.compute import Scoped

            bk = self._backend()
            try:
                self._data_months = Scoped(bk).data_months
            finally:
                bk.close()
        return self._data_months

    @staticmethod
    def _last_month(bk: Any) -> date:
        from churnradar.metrics.compute import Scoped

        return Scoped(bk).data_months[1]

    # -- overview and drill-down -----------------------------------------------------------
    #: the metrics behind the overview's cards and trend (``churnradar.metrics`` ids)
    OVERVIEW_METRICS = (
        "lines_end",
        "active_lines",
        "deregistrations",
        "port_outs",
        "offnet_rate",
        "revenue",
    )

    def overview(self, scope: Scope) -> dict[str, Any]:
        """The dashboard: the metrics layer's figures of every month of data for the caller's regions
        (cards: the last month's 用户数 = 月末在网数, active lines, 销户数, 离网率, revenue) and the
        risk of the newest score batch."""
        from churnradar.periods import month_range

        first, last = self.data_months()
        df = self._series(month_range(first, last), scope.grids, list(self.OVERVIEW_METRICS))

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
        last_row = monthly[-1] if monthly else {}
        kpis = {
            "subscribers": last_row.get("subscribers", 0),
            "active_last_month": last_row.get("active", 0),
            "churned_last_month": last_row.get("deregistered", 0),
            "ported_out_last_month": last_row.get("ported_out", 0),
            "churn_rate_last_month": last_row.get("churn_rate"),
            "revenue_last_month": last_row.get("revenue"),
            "last_month": last_row.get("month"),
        }
        cte, params = _subs_cte(scope)
        cur = self.cursor()
        info = self.score_info()
        if info["state"] == "scored":
            sel, cols = self._score_select()
            pcol = _main_p(cols)
            r = cur.execute(
                f"WITH {cte} SELECT count(*), avg(sc.{pcol}), count(*) FILTER (WHERE {_high(cols, pcol)}) "
                f"FROM subs JOIN {sel} sc USING (subscriber_id)",
                params,
            ).fetchone()
            kpis.update(scored=r[0], mean_risk=_round(r[1]), high_risk=r[2])
        return {
            "kpis": kpis,
            "monthly": monthly,
            "model": _jsonable(info),
            "definitions": _card_definitions(),
        }

    #: months of the drill-down's churn window
    DRILL_MONTHS = 12

    def drill(self, scope: Scope, county: str | None = None) -> dict[str, Any]:
        """Lines in network and off-net churn by county, or by grid within ``county``, from the
        metrics layer: ``subscribers`` = 月末在网数 of the last month of data, ``churned_12m`` = 离网数
        (销户 + 携出, recorded, re-selections excluded) of the last 12 months, ``churn_rate_12m`` =
        that over 月初在网数 of the window's first month; risk from the newest score batch."""
        from churnradar.periods import add_months, month_range

        if county is not None and not scope.allows_county(county):
            raise NotInScope(f"no county {county!r} in your regions")
        key = "grid_id" if county else "county_id"
        regions = [r for r in self.regions(scope) if county is None or r["county_id"] == county]
        if county and not regions:
            raise NotInScope(f"no county {county!r} in your regions")
        grids = frozenset(r["grid_id"] for r in regions)
        first, last = self.data_months()
        months = month_range(max(first, add_months(last, 1 - self.DRILL_MONTHS)), last)
        df = self._series(months, grids, ["lines_start", "lines_end", "offnet_churn"], (key,))
        risk = self._risk_by(scope, key)
        names: dict[str, tuple[str, str]] = {}
        for r in regions:
            names[r[key]] = (
                (r["grid_name"], r["grid_name"]) if county else (r["county_name"], r["county_name_en"])
            )
        rows = []
        for rid in sorted(names):
            sub = df.xs(rid, level=key) if rid in df.index.get_level_values(key) else None
            end = int(sub["lines_end"].get(last, 0)) if sub is not None else 0
            start = int(sub["lines_start"].get(months[0], 0)) if sub is not None else 0
            churned = int(sub["offnet_churn"].sum()) if sub is not None else 0
            rows.append(
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
        return {"level": "grid" if county else "county", "county": county, "rows": rows}

    def _risk_by(self, scope: Scope, key: str) -> dict[str, dict[str, Any]]:
        """Mean risk and high-risk lines of the newest score batch by ``key`` (county or grid)."""
        if self.score_info()["state"] != "scored":
            return {}
        cte, params = _subs_cte(scope)
        sel, cols = self._score_select()
        pcol = _main_p(cols)
        rows = _rows(
            self.cursor(),
            f"""WITH {cte} SELECT subs.{key} AS id, round(avg(sc.{pcol}), 4) AS mean_risk,
            count(*) FILTER (WHERE {_high(cols, pcol)}) AS high_risk
            FROM subs JOIN {sel} sc USING (subscriber_id) GROUP BY 1""",
            params,
        )
        return {r.pop("id"): r for r in rows}

    def reasons(self, scope: Scope) -> dict[str, Any]:
        """Churn by reason (newest labels) and the commonest top reason among scored subscribers."""
        cte, params = _subs_cte(scope)
        cur = self.cursor()
        labelled: list[dict[str, Any]] = []
        as_of = None
        if self.has("churn_label"):
            as_of = cur.execute("SELECT max(as_of) FROM churn_label").fetchone()[0]
            labelled = _rows(
                cur,
                f"""WITH {cte} SELECT l.reason_code, l.event_kind, count(*) AS n
                FROM churn_label l JOIN subs USING (subscriber_id)
                WHERE l.as_of = ? AND l.reason_code IS NOT NULL GROUP BY ALL ORDER BY n DESC""",
                [*params, as_of],
            )
        predicted: list[dict[str, Any]] = []
        if self.score_info()["state"] == "scored":
            sel, cols = self._score_select()
            rcol = _reason_col(cols)
            if rcol:
                scored = _rows(
                    cur,
                    f"WITH {cte} SELECT sc.{rcol} AS r FROM subs JOIN {sel} sc USING (subscriber_id)",
                    params,
                )
                counts: dict[str, int] = {}
                for row in scored:
                    codes = _reason_codes(row["r"])
                    if codes:
                        counts[codes[0]] = counts.get(codes[0], 0) + 1
                predicted = [{"reason": k, "n": v} for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
        return {"labels_as_of": as_of, "labelled": labelled, "predicted_top_reason": predicted}

    def package_view(self, scope: Scope) -> list[dict[str, Any]]:
        """Lines and off-net churn by package at activation, from the metrics layer (as the
        drill-down: 月末在网数 of the last month, 离网数 of the last 12 months over 月初在网数 of the
        window's first month), with the mean monthly bill of the package's lines (``arpu``)."""
        from churnradar.periods import add_months, month_range

        first, last = self.data_months()
        months = month_range(max(first, add_months(last, 1 - self.DRILL_MONTHS)), last)
        df = self._series(months, scope.grids, ["lines_start", "lines_end", "offnet_churn"], ("package_id",))
        cte, params = _subs_cte(scope)
        facts = _rows(
            self.cursor(),
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
        rows = []
        for f in facts:
            pid = f["package_id"]
            sub = df.xs(pid, level="package_id") if pid in keys else None
            start = int(sub["lines_start"].get(months[0], 0)) if sub is not None else 0
            churned = int(sub["offnet_churn"].sum()) if sub is not None else 0
            rows.append(
                {
                    **f,
                    "subscribers": int(sub["lines_end"].get(last, 0)) if sub is not None else 0,
                    "churned": churned,
                    "churn_rate": churned / start if start else None,
                }
            )
        return sorted(rows, key=lambda r: (-(r["churn_rate"] or 0), r["package_id"]))

    # -- campaigns ---------------------------------------------------------------------------
    def campaigns(self, scope: Scope) -> list[dict[str, Any]]:
        """Campaigns with at least one contact in scope (every campaign for all-region roles)."""
        cte, params = _subs_cte(scope)
        join = "LEFT JOIN" if scope.everything else "JOIN"
        return _rows(
            self.cursor(),
            f"""WITH {cte},
            c AS (SELECT contact.* FROM contact JOIN subs USING (subscriber_id))
            SELECT k.campaign_id, k.name, k.start_date, k.end_date, k.control_share, k.status,
                   count(c.contact_id) AS contacts, count(c.contact_id) FILTER (WHERE c.is_control) AS control,
                   count(c.contact_id) FILTER (WHERE c.contacted) AS contacted
            FROM campaign k {join} c ON c.campaign_id = k.campaign_id
            GROUP BY ALL ORDER BY k.start_date DESC, k.campaign_id""",
            params,
        )

    def campaign(self, scope: Scope, campaign_id: str) -> dict[str, Any]:
        """One campaign in scope with its offers and an evaluation per arm against control: the
        members' outcomes of the metrics layer (:func:`churnradar.metrics.compute.campaign_arms`:
        an off-net exit, dated by the month left, within the follow-up after assignment)."""
        found = [c for c in self.campaigns(scope) if c["campaign_id"] == campaign_id]
        if not found:
            raise NotInScope(f"no campaign {campaign_id!r} in your regions")
        offers = _rows(
            self.cursor(),
            "SELECT offer_id, kind, channel, cost, description FROM offer WHERE campaign_id = ? ORDER BY offer_id",
            [campaign_id],
        )
        from churnradar.metrics.compute import Scoped, campaign_arms

        bk = self._backend()
        try:
            df = campaign_arms(Scoped(bk, scope.grids), campaign_id)
        finally:
            bk.close()
        arms = _jsonable(df.to_dict("records"))
        return {"campaign": found[0], "offers": offers, "evaluation": arms}

    def contacts(self, scope: Scope, campaign_id: str, page: int = 1, page_size: int = 50) -> dict[str, Any]:
        self.campaign_exists_in_scope(scope, campaign_id)
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"page must be ≥ 1 and page_size 1..{MAX_PAGE_SIZE}")
        cte, params = _subs_cte(scope)
        sql = f"""WITH {cte}
            SELECT c.contact_id, c.subscriber_id, subs.county_id, subs.grid_id, c.offer_id, c.is_control,
                   c.assigned_date, c.contacted, c.contact_time,
                   (SELECT bool_or(accepted) FROM outcome o WHERE o.contact_id = c.contact_id) AS accepted
            FROM contact c JOIN subs USING (subscriber_id) WHERE c.campaign_id = ?"""
        cur = self.cursor()
        total = cur.execute(f"SELECT count(*) FROM ({sql})", [*params, campaign_id]).fetchone()[0]
        items = _rows(
            cur,
            f"{sql} ORDER BY c.contact_id LIMIT ? OFFSET ?",
            [*params, campaign_id, page_size, (page - 1) * page_size],
        )
        return {"total": total, "page": page, "page_size": page_size, "items": items}

    def in_scope_ids(self, scope: Scope, subscriber_ids: list[str]) -> set[str]:
        """The subset of ``subscriber_ids`` that lives in the caller's regions."""
        if not subscriber_ids:
            return set()
        cte, params = _subs_cte(scope)
        rows = (
            self.cursor()
            .execute(
                f"WITH {cte} SELECT subscriber_id FROM subs WHERE list_contains(?::VARCHAR[], subscriber_id)",
                [*params, list(subscriber_ids)],
            )
            .fetchall()
        )
        return {r[0] for r in rows}

    def campaign_exists_in_scope(self, scope: Scope, campaign_id: str) -> None:
        if not any(c["campaign_id"] == campaign_id for c in self.campaigns(scope)):
            raise NotInScope(f"no campaign {campaign_id!r} in your regions")

    def contact(self, scope: Scope, campaign_id: str, contact_id: str) -> dict[str, Any]:
        cte, params = _subs_cte(scope)
        rows = _rows(
            self.cursor(),
            f"""WITH {cte} SELECT c.contact_id, c.campaign_id, c.subscriber_id, c.is_control, c.offer_id
            FROM contact c JOIN subs USING (subscriber_id) WHERE c.campaign_id = ? AND c.contact_id = ?""",
            [*params, campaign_id, contact_id],
        )
        if not rows:
            raise NotInScope(f"no contact {contact_id!r} of campaign {campaign_id!r} in your regions")
        return rows[0]

    # -- model, forecast --------------------------------------------------------------------
    def model_rows(self) -> list[dict[str, Any]]:
        if not self.has("model"):
            return []
        cols = [c for c in self.columns("model") if c not in ("artifact", "booster", "model_json")]
        order = next((f"ORDER BY {c} DESC" for c in ("created", "created_at") if c in cols), "")
        return [
            _jsonable({k: _maybe_json(v) for k, v in r.items()})
            for r in _rows(self.cursor(), f"SELECT {', '.join(map(_q, cols))} FROM model {order}")
        ]


#: The dashboard's cards (``kpis`` keys) and the metric each shows.
CARD_METRICS = {
    "subscribers": "lines_end",
    "active_last_month": "active_lines",
    "churned_last_month": "deregistrations",
    "ported_out_last_month": "port_outs",
    "churn_rate_last_month": "offnet_rate",
    "revenue_last_month": "revenue",
}


def _card_definitions() -> dict[str, dict[str, str]]:
    """Each card's metric id, names and 口径 (what a hover on the card shows)."""
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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _high(cols: list[str], pcol: str) -> str:
    """SQL condition of a high-risk score row: the model's risk level, else p ≥ 0.5."""
    if "risk_level" in cols:
        return "sc.risk_level IN ('high', 'very_high')"
    return f"sc.{pcol} >= 0.5"


def _round(v: Any, n: int = 4) -> Any:
    return round(v, n) if isinstance(v, float) else v


def _main_p(cols: list[str]) -> str:
    ps = [c for c in cols if c.startswith("p_churn_")]
    if not ps:
        for c in ("p", "probability", "risk"):
            if c in cols:
                return c
        raise StoreError("score table has no p_churn_* column")
    # the longest horizon is the headline risk (e.g. p_churn_3m)
    return sorted(ps, key=lambda c: (len(c), c))[-1]


def _reason_col(cols: list[str]) -> str | None:
    for c in ("reason_1", "top_reasons", "reasons", "reason_codes", "top_reason", "reason_code"):
        if c in cols:
            return c
    return None


def _reason_codes(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            return [x.strip() for x in v.split(",") if x.strip()]
    if isinstance(v, dict):
        v = [v]
    out = []
    for x in v:
        if isinstance(x, dict):
            code = x.get("reason") or x.get("code") or x.get("reason_code") or x.get("driver")
            if code:
                out.append(str(code))
        elif x is not None:
            out.append(str(x))
    return out


def _maybe_json(v: Any) -> Any:
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _decode_score(row: dict[str, Any]) -> dict[str, Any]:
    """A score row as served: JSON text decoded, ``reason_<n>_*`` columns folded into ``reasons``."""
    out: dict[str, Any] = {}
    reasons: dict[int, dict[str, Any]] = {}
    for k, v in row.items():
        m = _REASON_COL.match(k)
        if m:
            slot = reasons.setdefault(int(m.group(1)), {})
            slot[m.group(2) or "reason"] = v
            continue
        out[k] = _maybe_json(v)
    if reasons:
        out["reasons"] = [
            {"reason": r.get("reason"), "driver": r.get("driver"), "size": r.get("size")}
            for _, r in sorted(reasons.items())
            if r.get("reason")
        ]
    return _jsonable(out)


_REASON_COL = re.compile(r"^reason_(\d+)(?:_(driver|size|zh|en))?$")


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v
