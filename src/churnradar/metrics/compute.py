"""The expressions behind the catalogue: each family of figures is one Ibis query over the store,
grouped by month, so one month and a series of months are the same computation.

A family takes a :class:`Scoped` store (the whole operator, or a set of grids) and the months, and
returns a frame indexed by month with one column per count it defines. Rates are then formed from
the catalogue's ``ratio`` declarations (:func:`compute`), never computed a second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from churnradar.errors import ConfigError
from churnradar.labels.definitions import get_definition
from churnradar.labels.events import activity, exits_and_reselections
from churnradar.metrics.catalogue import CAMPAIGN_FOLLOWUP_MONTHS, CATALOGUE, RISK_LEVELS, TPLUS
from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS, lifespans, open_at
from churnradar.periods import add_months, format_month, month_end, month_end_exclusive, months_between
from churnradar.schema.enums import OFFNET_KINDS
from churnradar.store.backends import Backend


@dataclass
class Scoped:
    """A store as the metrics read it: every table about lines limited to ``grids`` (None: all)."""

    bk: Backend
    grids: frozenset[str] | None = None

    def subscriptions(self) -> ir.Table:
        s = self.bk.table("subscription")
        return s if self.grids is None else s.filter(s.grid_id.isin(sorted(self.grids)))

    def table(self, name: str) -> ir.Table:
        """A table about lines (``subscriber_id``), limited to the scope's lines."""
        t = self.bk.table(name)
        if self.grids is None:
            return t
        return t.semi_join(self.subscriptions().select("subscriber_id"), "subscriber_id")

    def lifespans(self, by: tuple[str, ...] = ()) -> ir.Table:
        """:func:`~churnradar.metrics.population.lifespans` of the scope's lines, with ``county_id``
        when ``by`` asks for it."""
        life = lifespans(self.subscriptions(), self.bk.table("status_event"))
        if "county_id" in by:
            life = life.join(self.bk.table("region").select("grid_id", "county_id"), "grid_id")
        if "package_id" in by:  # the package at activation
            life = life.join(
                self.bk.table("subscription").select("subscriber_id", "package_id"), "subscriber_id"
            )
        return life

    def run(self, expr: ir.Expr) -> pd.DataFrame:
        return self.bk.to_pyarrow(expr).to_pandas()

    @cached_property
    def data_months(self) -> tuple[date, date]:
        """First and last month of usage data (the whole store's, whatever the scope)."""
        u = self.bk.table("usage_monthly")
        row = self.bk.to_pyarrow(u.aggregate(lo=u.month.min(), hi=u.month.max())).to_pylist()[0]
        if row["lo"] is None:
            raise ConfigError("the store has no usage_monthly rows; ingest data first")
        return _first(row["lo"]), _first(row["hi"])


def _first(d: object) -> date:
    d = pd.Timestamp(d)  # type: ignore[assignment]
    return date(d.year, d.month, 1)  # type: ignore[attr-defined]


def _month_table(months: list[date], **offsets: int) -> ir.Table:
    """One row per month: ``month``, its ``last_day`` and ``next_start``, and for each ``name=n`` of
    ``offsets`` the month ``n`` months earlier with its last day and next start (``name``,
    ``name_last``, ``name_next``)."""
    cols: dict[str, list] = {"month": months}
    schema: dict[str, str] = {"month": "date"}
    for name, n in {"": 0, **offsets}.items():
        ms = [add_months(m, -n) for m in months]
        key = name or "m"
        if name:
            cols[key] = ms
            schema[key] = "date"
        cols[f"{key}_last"] = [month_end(m) for m in ms]
        cols[f"{key}_next"] = [month_end_exclusive(m) for m in ms]
        schema[f"{key}_last"] = "date"
        schema[f"{key}_next"] = "timestamp"
    return ibis.memtable(pd.DataFrame(cols), schema=schema)


def _by_key(df: pd.DataFrame, by: tuple[str, ...], cols: list[str]) -> pd.DataFrame:
    """A family's rows indexed by (month, *by) — the breakdown of :func:`compute` with ``by``."""
    df = df.assign(month=[_first(m) for m in df["month"]])
    return df.set_index(["month", *by])[cols]


def _by_month(df: pd.DataFrame, months: list[date], cols: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.Index(months, name="month"))
    if len(df):
        df = df.assign(month=[_first(m) for m in df["month"]]).set_index("month")
        for c in cols:
            out[c] = df[c].reindex(out.index)
    else:
        for c in cols:
            out[c] = np.nan
    return out


def _sum(col: ir.NumericColumn) -> ir.NumericScalar:
    """Sum of a money or volume column, exact to 0.0001 (as a decimal, then a float): a float sum
    depends on the engine's (parallel) order of addition, so the same figure could differ in its last
    digits from one run to the next."""
    return col.cast(dt.Decimal(38, 4)).sum().cast("float64")


def _month_of(v: ir.Value) -> ir.Value:
    return ibis.date(v.year(), v.month(), 1)


# ------------------------------------------------------------------ families
def lifecycle(sc: Scoped, months: list[date], by: tuple[str, ...] = ()) -> pd.DataFrame:
    """在网数 at the start and end of each month, activations, and the T+n acquisition cohorts."""
    life = sc.lifespans(by)
    mt = _month_table(months, prev=1, **{f"c{n}": n for n in TPLUS})
    j = life.cross_join(mt)
    act_month = _month_of(j.activation_date)
    aggs: dict[str, ir.Value] = {
        "lines_start": open_at(j, j.prev_last, j.prev_next).cast("int64").sum(),
        "lines_end": open_at(j, j.m_last, j.m_next).cast("int64").sum(),
        "activations": (act_month == j.month).cast("int64").sum(),
    }
    ended = j.end_time.notnull() & (j.end_time < j.m_next)
    for n in TPLUS:
        cohort = act_month == j[f"c{n}"]
        aggs[f"cohort_t{n}"] = cohort.cast("int64").sum()
        aggs[f"cancelled_t{n}"] = (cohort & ended).cast("int64").sum()
    df = sc.run(j.group_by(["month", *by]).agg(**aggs))
    if by:
        return _by_key(df, by, list(aggs))
    out = _by_month(df, months, list(aggs))
    return out.fillna(0)


def exit_events(bk: Backend) -> tuple[ir.Table, ir.Table]:
    """Off-net exits that are churn and the re-selections, with both datings (``recorded_month``,
    ``effective_month``): the labels' split (:func:`churnradar.labels.events.exits_and_reselections`)."""
    return exits_and_reselections(bk, get_definition("offnet"))


def exits(sc: Scoped, months: list[date], by: tuple[str, ...] = ()) -> pd.DataFrame:
    """销户数, 携出数 and re-selections by recorded month, and off-net churn by the month left, of the
    lines in network at the end of the previous month."""
    offnet, resel = exit_events(sc.bk)
    cols = ["subscriber_id", "kind", "recorded_month", "effective_month"]
    ev = offnet.select(*cols).union(resel.select(*cols))
    life = sc.lifespans(by)
    ev = ev.join(life, "subscriber_id")
    mt = _month_table(months, prev=1)
    out = []
    for dating, col in (("recorded", "recorded_month"), ("left", "effective_month")):
        j = ev.join(mt, ev[col] == mt.month)
        j = j.filter(open_at(j, j.prev_last, j.prev_next))
        out.append(sc.run(j.group_by(["month", "kind", *by]).agg(n=j.count())).assign(dating=dating))
    df = pd.concat(out, ignore_index=True)
    names = {
        ("recorded", "offnet"): "deregistrations",
        ("recorded", "port_out"): "port_outs",
        ("recorded", "number_reselection"): "number_reselections",
        ("recorded", "tariff_reselection"): "tariff_reselections",
    }
    df["metric"] = [names.get((d, k), f"{d}:{k}") for d, k in zip(df["dating"], df["kind"], strict=True)]
    keys = ["month", *by]
    wide = df.pivot_table(index=keys, columns="metric", values="n", aggfunc="sum").reset_index()
    wide.columns.name = None
    metric_cols = [c for c in wide.columns if c not in keys]
    res = (_by_key(wide, by, metric_cols) if by else _by_month(wide, months, metric_cols)).fillna(0)
    for c in names.values():
        if c not in res:
            res[c] = 0
    res["offnet_churn"] = res["deregistrations"] + res["port_outs"]
    res["reselections"] = res["number_reselections"] + res["tariff_reselections"]
    res["offnet_churn_left"] = sum(res.get(f"left:{k}", 0) for k in OFFNET_KINDS)
    keep = [*names.values(), "offnet_churn", "reselections", "offnet_churn_left"]
    return res[keep]


def usage(sc: Scoped, months: list[date]) -> pd.DataFrame:
    """Active lines, data volume and voice minutes of each month."""
    u = sc.table("usage_monthly")
    u = u.filter(u.month.isin(months))
    act = activity(u)
    aggs = {
        "active_lines": (act > 0).cast("int64").sum(),
        "data_gb": _sum(u.data_mb.fill_null(0)) / 1024.0,
        "voice_min": _sum(u.voice_out_min.fill_null(0) + u.voice_in_min.fill_null(0)),
    }
    df = sc.run(u.group_by("month").agg(**aggs))
    out = _by_month(df, months, list(aggs))
    return out.fillna({"active_lines": 0})


def billing(sc: Scoped, months: list[date]) -> pd.DataFrame:
    """Billed revenue and lines of each month, and the package-customer revenue churn rate."""
    b = sc.table("billing_monthly").select("subscriber_id", "month", "revenue")
    cur = b.filter(b.month.isin(months))
    df = sc.run(
        cur.group_by("month").agg(
            revenue=_sum(cur.revenue), billed_lines=(cur.revenue > 0).cast("int64").sum()
        )
    )
    out = _by_month(df, months, ["revenue", "billed_lines"]).fillna({"billed_lines": 0})
    prev = b.filter(b.month.isin([add_months(m, -1) for m in months]))
    prev = prev.mutate(next_month=(prev.month + ibis.interval(months=1)).cast("date"))
    nxt = b.select("subscriber_id", cur_month=b.month, cur_revenue=b.revenue)
    j = prev.left_join(nxt, (prev.subscriber_id == nxt.subscriber_id) & (prev.next_month == nxt.cur_month))
    pk = sc.run(
        j.group_by(month=j.next_month).agg(last=_sum(j.revenue), this=_sum(j.cur_revenue.fill_null(0)))
    )
    pk = _by_month(pk, months, ["last", "this"])
    out["package_revenue_churn_rate"] = np.where(
        pk["last"] > 0, (pk["this"] - pk["last"]) / pk["last"], np.nan
    )
    return out


def snapshot_month(month: date, first_data_month: date) -> date:
    """The snapshot (拍照) month of ``month``: December of the previous year, or the first month of
    data when that December is not in the data (documented project convention)."""
    dec = date(month.year - 1, 12, 1)
    return dec if dec >= first_data_month else first_data_month


def stock(sc: Scoped, months: list[date]) -> pd.DataFrame:
    """拍照 base, its lines billed this month, 收保率 and 存量收入流失率."""
    first, _ = sc.data_months
    b = sc.table("billing_monthly").select("subscriber_id", "month", "revenue")
    rows = []
    snaps = sorted({snapshot_month(m, first) for m in months})
    for snap in snaps:
        mine = [m for m in months if snapshot_month(m, first) == snap]
        base = b.filter((b.month == ibis.literal(snap)) & (b.revenue > 0)).select(
            "subscriber_id", rev0=b.revenue
        )
        n0 = sc.run(base.aggregate(lines=base.count(), revenue=_sum(base.rev0))).iloc[0]
        later = b.filter((b.month > ibis.literal(snap)) & (b.month <= ibis.literal(max(mine))))
        j = later.semi_join(base, "subscriber_id")
        cells = sc.run(
            j.group_by("month").agg(revenue=_sum(j.revenue), billed=(j.revenue > 0).cast("int64").sum())
        )
        cells = _by_month(
            cells,
            [add_months(snap, i) for i in range(1, months_between(snap, max(mine)) + 1)],
            ["revenue", "billed"],
        )
        for m in mine:
            k = months_between(snap, m)
            row = {
                "month": m,
                "snapshot_lines": int(n0["lines"]),
                "retained_lines": np.nan,
                "revenue_retention": np.nan,
            }
            if k >= 1:
                window = cells.loc[[add_months(snap, i) for i in range(1, k + 1)]]
                row["retained_lines"] = float(np.nan_to_num(cells.loc[m, "billed"]))
                rev0 = float(n0["revenue"] or 0.0)
                if rev0 > 0:
                    row["revenue_retention"] = float(window["revenue"].fillna(0).sum()) / k / rev0
            rows.append(row)
    out = pd.DataFrame(rows).set_index("month").reindex(months)
    out.index.name = "month"
    out["stock_revenue_churn_rate"] = 1 - out["revenue_retention"]
    return out


def risk(sc: Scoped, months: list[date]) -> pd.DataFrame:
    """Scored lines and lines per risk level of the month's stored scores (``score``)."""
    cols = ["scored_lines", *[f"risk_{lv}" for lv in RISK_LEVELS]]
    out = pd.DataFrame(index=pd.Index(months, name="month"), columns=cols, dtype=float)
    if not sc.bk.has_table("score"):
        return out
    s = sc.table("score")
    if not {"as_of", "risk_level"} <= set(s.columns):
        return out
    s = s.filter(s.as_of.cast("date").isin(months))
    df = sc.run(s.group_by(month=s.as_of.cast("date"), level=s.risk_level).agg(n=s.count()))
    for m in months:
        got = df[[_first(x) == m for x in df["month"]]] if len(df) else df
        if not len(got):
            continue
        counts = dict(zip(got["level"], got["n"], strict=True))
        out.loc[m, "scored_lines"] = float(sum(counts.values()))
        for lv in RISK_LEVELS:
            out.loc[m, f"risk_{lv}"] = float(counts.get(lv, 0))
    return out


def member_outcomes(bk: Backend, contacts: ir.Table) -> ir.Table:
    """Campaign members (rows of ``contact``) with ``month`` (of assignment) and ``churned``: an
    off-net exit (销户 or 携出, re-selection is retained), dated by the month left, from the
    assignment month to ``CAMPAIGN_FOLLOWUP_MONTHS`` months after. The one definition of a campaign
    member's outcome (the monthly campaign figures and the API's evaluation per arm), as campaign
    evaluation counts it: :func:`churnradar.retention.evaluate.member_churn`."""
    from churnradar.retention.evaluate import member_churn

    c = contacts.mutate(month=_month_of(contacts.assigned_date))
    c = c.mutate(_horizon=(c.month + ibis.interval(months=CAMPAIGN_FOLLOWUP_MONTHS)).cast("date"))
    return member_churn(bk, c, "month", "_horizon").drop("_horizon")


def campaign_arms(sc: Scoped, campaign_id: str) -> pd.DataFrame:
    """Members of one campaign in scope by arm (``control``, or the offer id): ``n``, ``contacted``,
    ``accepted`` (an accepted outcome recorded), ``retention_rate`` (1 − churned share, see
    :func:`member_outcomes`) and ``uplift_vs_control``."""
    c = sc.table("contact")
    c = c.filter(c.campaign_id == campaign_id)
    j = member_outcomes(sc.bk, c)
    if sc.bk.has_table("outcome"):
        o = sc.bk.table("outcome")
        acc = o.group_by("contact_id").agg(accepted=o.accepted.any())
        j = j.left_join(acc, "contact_id").drop("contact_id_right")
        accepted = j.accepted.fill_null(False)
    else:
        accepted = ibis.literal(False)
    arm = ibis.cases((j.is_control, "control"), else_=j.offer_id.fill_null("treatment"))
    df = sc.run(
        j.group_by(arm=arm).agg(
            n=j.count(),
            contacted=j.contacted.fill_null(False).cast("int64").sum(),
            accepted=accepted.cast("int64").sum(),
            churned=j.churned.cast("int64").sum(),
        )
    ).sort_values("arm")
    df["retention_rate"] = 1 - df["churned"] / df["n"]
    control = df.loc[df["arm"] == "control", "retention_rate"]
    df["uplift_vs_control"] = np.where(
        (df["arm"] != "control") & len(control),
        df["retention_rate"] - (control.iloc[0] if len(control) else 0),
        np.nan,
    )
    return df.drop(columns="churned").reset_index(drop=True)


def campaign(sc: Scoped, months: list[date]) -> pd.DataFrame:
    """Members assigned in the month, retention of treated and control, and uplift."""
    cols = [
        "campaign_members",
        "campaign_retention_rate",
        "campaign_control_retention_rate",
        "campaign_uplift",
    ]
    out = pd.DataFrame(index=pd.Index(months, name="month"), columns=cols, dtype=float)
    if not sc.bk.has_table("contact"):
        return out
    c = sc.table("contact")
    c = c.filter(_month_of(c.assigned_date).isin(months))
    j = member_outcomes(sc.bk, c)
    df = sc.run(j.group_by(["month", "is_control"]).agg(n=j.count(), churned=j.churned.cast("int64").sum()))
    for m in months:
        got = df[[_first(x) == m for x in df["month"]]] if len(df) else df
        out.loc[m, "campaign_members"] = float(got["n"].sum()) if len(got) else 0.0
        rate = {}
        for ctrl, key in ((False, "campaign_retention_rate"), (True, "campaign_control_retention_rate")):
            arm = got[got["is_control"] == ctrl]
            n = float(arm["n"].sum())
            if n > 0:
                rate[ctrl] = 1 - float(arm["churned"].sum()) / n
                out.loc[m, key] = rate[ctrl]
        if len(rate) == 2:
            out.loc[m, "campaign_uplift"] = rate[False] - rate[True]
    return out


Family = Callable[[Scoped, list[date]], pd.DataFrame]
FAMILIES: dict[str, tuple[Family, tuple[str, ...]]] = {
    "lifecycle": (
        lifecycle,
        (
            "lines_start",
            "lines_end",
            "activations",
            *[f"{p}_t{n}" for n in TPLUS for p in ("cohort", "cancelled")],
        ),
    ),
    "exits": (
        exits,
        (
            "deregistrations",
            "port_outs",
            "number_reselections",
            "tariff_reselections",
            "offnet_churn",
            "reselections",
            "offnet_churn_left",
        ),
    ),
    "usage": (usage, ("active_lines", "data_gb", "voice_min")),
    "billing": (billing, ("revenue", "billed_lines", "package_revenue_churn_rate")),
    "stock": (stock, ("snapshot_lines", "retained_lines", "revenue_retention", "stock_revenue_churn_rate")),
    "risk": (risk, ("scored_lines", *[f"risk_{lv}" for lv in RISK_LEVELS])),
    "campaign": (
        campaign,
        ("campaign_members", "campaign_retention_rate", "campaign_control_retention_rate", "campaign_uplift"),
    ),
}
_FAMILY_OF = {mid: fam for fam, (_, ids) in FAMILIES.items() for mid in ids}


def _needed(ids: list[str]) -> set[str]:
    out = set()
    for mid in ids:
        m = CATALOGUE[mid]
        for part in m.ratio or (mid,):
            out.add(_FAMILY_OF[part])
    return out


#: the families that can break their figures down, and by what: home county or grid, or the package
#: at activation
BY_REGION = ("lifecycle", "exits")
BY_KEYS = ("county_id", "grid_id", "package_id")


def compute(
    sc: Scoped, months: list[date], ids: list[str] | None = None, by: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Every metric of ``ids`` (default: the whole catalogue) for each month: one row per month,
    one column per metric id, NaN where a figure has no value (no scores, no snapshot revenue,
    an empty denominator). With ``by`` (``("county_id",)`` or ``("grid_id",)``), one row per month
    and region, for the lifecycle and exit figures and their rates."""
    ids = list(CATALOGUE) if ids is None else ids
    unknown = [i for i in ids if i not in CATALOGUE]
    if unknown:
        raise ConfigError(f"unknown metric {unknown[0]!r}; `churnradar metrics --list` shows the catalogue")
    months = sorted(set(months))
    families = sorted(_needed(ids))
    if by:
        if set(by) - set(BY_KEYS) or len(by) != 1:
            raise ConfigError(f"metrics break down by one of {', '.join(BY_KEYS)}, not {by!r}")
        other = [f for f in families if f not in BY_REGION]
        if other:
            raise ConfigError(f"the {other[0]} figures have no breakdown by region; ask for them per region")
        parts = [FAMILIES[f][0](sc, months, by) for f in families]
        df = pd.concat(parts, axis=1).fillna(0) if parts else pd.DataFrame()
    else:
        parts = [FAMILIES[f][0](sc, months) for f in families]
        df = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=pd.Index(months, name="month"))
    for mid in ids:
        m = CATALOGUE[mid]
        if m.ratio:
            num, den = (df[x].astype(float) for x in m.ratio)
            df[mid] = np.where(den > 0, num / den.where(den > 0, 1.0), np.nan)
    return df[ids]


def provisional(sc: Scoped, month: date) -> bool:
    """Whether the lagged figures of ``month`` can still grow: the data do not yet reach
    ``DEREGISTRATION_LAG_MONTHS`` months (campaigns: the follow-up too) past it."""
    _, last = sc.data_months
    return add_months(month, DEREGISTRATION_LAG_MONTHS) > last


def check_month(sc: Scoped, month: date) -> None:
    first, last = sc.data_months
    if not first <= month <= last:
        raise ConfigError(
            f"month {format_month(month)} is outside the data; expected a month from "
            f"{format_month(first)} to {format_month(last)}"
        )
