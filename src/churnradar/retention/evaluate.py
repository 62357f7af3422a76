"""Campaign evaluation against the randomised control group: the one definition of a member's outcome.

Retention is measured on everyone *assigned* (intention to treat): a member churned when the line
has an off-net exit (销户 or 携出; an in-network re-selection is a customer who stayed) dated by the
month left, as the metrics layer dates it (:func:`churnradar.metrics.compute.exit_events`), in the
follow-up window: from the campaign's start month to the last month of the window
(:func:`member_churn`, which the monthly campaign figures of the metrics layer call too). That is
the same for control members, who are never contacted and have no recorded outcome; an outcome an
agent recorded as ``churned`` is not what is counted. Each arm is compared with the control group:
retention rates with Wilson intervals, uplift (difference) with a 95% Wald interval, incremental
retained subscribers, incremental revenue over the window (billed revenue per member, arm minus
control, times the arm's size), cost (offer cost × accepted offers), ROI and cost per incremental
retained subscriber. The three dimensions:

- **contribution**: incremental retained, incremental revenue, cost, ROI — per offer and overall;
- **channel efficiency**: reach (contacted / assigned), acceptance, verified share and uplift per
  channel;
- **offer quality**: uplift, relative churn change, acceptance and cost per retained per offer;

plus breakdowns by segment and region (treated vs control members of the same segment or region).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnradar.periods import add_months, format_month, month_end
from churnradar.retention.errors import CampaignError, RiskError
from churnradar.retention.risk import DEREG_LAG, RiskWarning, exits_expr, score_command

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from churnradar.store.backends import Backend

Z95 = 1.959963984540054


@dataclass
class Evaluation:
    campaign_id: str
    source: str
    start: date
    window_end: date
    observed: bool
    overall: dict[str, Any]
    by_offer: pd.DataFrame
    by_channel: pd.DataFrame
    by_segment: pd.DataFrame
    by_region: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                for r in df.to_dict("records")
            ]

        return {
            "campaign_id": self.campaign_id,
            "source": self.source,
            "start": str(self.start),
            "window_end": str(self.window_end),
            "observed": self.observed,
            "overall": self.overall,
            "contribution": rows(self.by_offer[["arm", *CONTRIBUTION]]) if len(self.by_offer) else [],
            "channel_efficiency": rows(self.by_channel),
            "offer_quality": rows(self.by_offer),
            "by_segment": rows(self.by_segment),
            "by_region": rows(self.by_region),
            "warnings": self.warnings,
        }


CONTRIBUTION = ["incremental_retained", "incremental_revenue", "cost", "roi", "cost_per_retained"]


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    if n <= 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (float(c - h), float(c + h))


def compare(arm: pd.DataFrame, ctrl: pd.DataFrame) -> dict[str, Any]:
    """Effect of one group of treated members against control members (rates, uplift, money)."""
    n_a, n_c = len(arm), len(ctrl)
    r_a = float((~arm["churned"]).mean()) if n_a else float("nan")
    r_c = float((~ctrl["churned"]).mean()) if n_c else float("nan")
    up = r_a - r_c
    se = (
        np.sqrt(r_a * (1 - r_a) / max(n_a, 1) + r_c * (1 - r_c) / max(n_c, 1))
        if n_a and n_c
        else float("nan")
    )
    rev_a = float(arm["revenue"].mean()) if n_a else float("nan")
    rev_c = float(ctrl["revenue"].mean()) if n_c else float("nan")
    accepted = arm["accepted"].fillna(False).astype(bool)
    cost = float((arm["cost"] * accepted).sum())
    inc_ret = up * n_a
    inc_rev = (rev_a - rev_c) * n_a
    contacted = arm["contacted"].fillna(False).astype(bool)
    lo_a, hi_a = wilson((~arm["churned"]).sum(), n_a)
    return {
        "n": n_a,
        "n_control": n_c,
        "retention": r_a,
        "retention_ci": [lo_a, hi_a],
        "control_retention": r_c,
        "uplift": up,
        "uplift_ci": [up - Z95 * se, up + Z95 * se],
        "relative_churn_change": ((1 - r_a) / (1 - r_c) - 1) if n_c and r_c < 1 else float("nan"),
        "retained": int((~arm["churned"]).sum()),
        "incremental_retained": inc_ret,
        "incremental_revenue": inc_rev,
        "cost": cost,
        "roi": (inc_rev - cost) / cost if cost > 0 else float("nan"),
        "cost_per_retained": cost / inc_ret if inc_ret > 0 else float("nan"),
        "reach": float(contacted.mean()) if n_a else float("nan"),
        "acceptance": float(accepted[contacted].mean()) if contacted.any() else float("nan"),
        "verified_share": float(arm.loc[contacted, "verified"].fillna(False).astype(bool).mean())
        if contacted.any()
        else float("nan"),
    }


def member_churn(
    bk: Backend, members: ir.Table, first: date | str, last: date | str, column: str = "churned"
) -> ir.Table:
    """``members`` (a table with ``subscriber_id``) with a boolean ``column``: the line has an off-net
    exit (dated by the month left, :func:`churnradar.retention.risk.exits_expr`) in the months
    ``first`` .. ``last`` (month dates, or names of ``members``' columns holding them).

    The one definition of a campaign member's outcome: campaign evaluation, the logged campaigns
    the uplift models learn from and the metrics layer's monthly campaign figures use it.
    """
    import ibis

    ex = exits_expr(bk).rename(_exit_month="exit_month", _exit_id="subscriber_id")
    j = members.left_join(ex, members.subscriber_id == ex._exit_id)
    lo = j[first] if isinstance(first, str) else ibis.literal(first)
    hi = j[last] if isinstance(last, str) else ibis.literal(last)
    got = j._exit_month.notnull() & (j._exit_month >= lo) & (j._exit_month <= hi)
    return j.mutate(**{column: got.fill_null(False)}).drop("_exit_month", "_exit_id")


def _analytical_members(bk: Backend, campaign_id: str):
    camp = bk.table("campaign")
    head = bk.to_pyarrow(camp.filter(camp.campaign_id == campaign_id)).to_pandas()
    if head.empty:
        return None
    offer = bk.table("offer")
    offers = bk.to_pyarrow(offer.filter(offer.campaign_id == campaign_id)).to_pandas()
    c = bk.table("contact")
    c = c.filter(c.campaign_id == campaign_id).select(
        "contact_id", "subscriber_id", "offer_id", "is_control", "contacted"
    )
    if bk.has_table("outcome"):
        o = bk.table("outcome")
        o = o.group_by("contact_id").agg(
            accepted=o.accepted.any(), retained=o.retained.any(), verified=o.verified.any()
        )
        c = c.left_join(o, "contact_id").drop("contact_id_right")
    members = bk.to_pyarrow(c).to_pandas()
    for col in ("accepted", "retained", "verified"):
        if col not in members.columns:
            members[col] = None
    h = head.iloc[0]
    start = pd.Timestamp(h["start_date"]).date().replace(day=1)
    end = pd.Timestamp(h["end_date"]).date()
    return start, end, offers, members


def campaign_members(
    store_path: Path | str, campaign_id: str, engine=None
) -> tuple[str, date, date, pd.DataFrame, pd.DataFrame]:
    """(source, start month, window end, offers, members) of a campaign from the operational store
    (if ``engine`` is given and has it) or the analytical store's canonical tables."""
    if engine is not None:
        from churnradar.retention.campaigns import campaign_frames

        try:
            head, offers, members = campaign_frames(engine, campaign_id)
            start = pd.Timestamp(head["start_date"]).date()
            return "operational", start, pd.Timestamp(head["end_date"]).date(), offers, members
        except CampaignError:
            pass
    from churnradar.store.backends import open_backend

    bk = open_backend(store_path)
    try:
        got = _analytical_members(bk, campaign_id)
    finally:
        bk.close()
    if got is None:
        raise CampaignError(
            f"campaign {campaign_id!r} is neither in the operational nor in the analytical store"
        )
    start, end, offers, members = got
    return "analytical", start, end, offers, members


def evaluate_campaign(
    store_path: Path | str,
    campaign_id: str,
    engine=None,
    segments: pd.DataFrame | None = None,
    with_segments: bool = True,
) -> Evaluation:
    """Evaluate ``campaign_id`` (see the module docstring for the measures).

    ``segments`` (``subscriber_id``, ``segment``, ``region``) overrides the members' own; analytical
    campaigns get region from the subscription's grid and, with ``with_segments``, value × risk
    segments computed at the month before the start.
    """
    source, start, end, offers, members = campaign_members(store_path, campaign_id, engine)
    if members.empty:
        raise CampaignError(f"campaign {campaign_id!r} has no members")
    notes: list[str] = []
    window_end = end.replace(day=1)
    m = members.copy()
    m["subscriber_id"] = m["subscriber_id"].astype(str)
    last, outcome = member_outcomes(store_path, m["subscriber_id"], start.replace(day=1), window_end)
    observed = last >= add_months(window_end, DEREG_LAG)
    if not observed:
        notes.append(
            f"follow-up window ends {format_month(window_end)}; exits are fully recorded only from "
            f"{format_month(add_months(window_end, DEREG_LAG))} (data ends {format_month(last)}): provisional"
        )
        warnings.warn(notes[-1], RiskWarning, stacklevel=2)
    out = outcome.set_index("subscriber_id")
    m["churned"] = m["subscriber_id"].map(out["churned"]).fillna(False).astype(bool).to_numpy()
    m["revenue"] = m["subscriber_id"].map(out["revenue"]).fillna(0.0)
    off = offers.set_index("offer_id")
    m["kind"] = m["offer_id"].map(off["kind"])
    m["channel"] = m["offer_id"].map(off["channel"])
    m["cost"] = m["offer_id"].map(off["cost"]).fillna(0.0)
    m["is_control"] = m["is_control"].astype(bool)
    for col in ("accepted", "verified", "contacted"):
        m[col] = m[col].astype("boolean") if col in m.columns else pd.array([pd.NA] * len(m), dtype="boolean")
    if "region" not in m.columns or (m["region"].astype(str) == "").all():
        m["region"] = m["subscriber_id"].map(out["region_store"]).fillna("")
    if segments is not None:
        s = segments.set_index("subscriber_id")
        for col in ("segment", "region"):
            if col in s.columns:
                m[col] = m["subscriber_id"].map(s[col]).fillna("")
    elif "segment" not in m.columns and with_segments:
        m["segment"], note = _segments_at(store_path, add_months(start, -1), m["subscriber_id"])
        if note:
            notes.append(note)
    if "segment" not in m.columns:
        m["segment"] = ""
    ctrl = m[m["is_control"]]
    treated = m[~m["is_control"]]
    if ctrl.empty:
        raise CampaignError(f"campaign {campaign_id!r} has no control group; nothing to compare with")
    overall = compare(treated, ctrl)
    by_offer = pd.DataFrame(
        [
            {"arm": oid, "kind": off.at[oid, "kind"], "channel": off.at[oid, "channel"], **compare(g, ctrl)}
            for oid, g in treated.groupby("offer_id", sort=True)
        ]
    )
    by_channel = pd.DataFrame(
        [{"channel": ch, **compare(g, ctrl)} for ch, g in treated.groupby("channel", sort=True)]
    )

    def within(col: str) -> pd.DataFrame:
        rows = []
        for key, g in treated.groupby(col, sort=True):
            c = ctrl[ctrl[col] == key]
            rows.append({col: key, **compare(g, c)})
        return pd.DataFrame(rows)

    return Evaluation(
        campaign_id=campaign_id,
        source=source,
        start=start,
        window_end=window_end,
        observed=bool(observed),
        overall=overall,
        by_offer=by_offer,
        by_channel=by_channel,
        by_segment=within("segment"),
        by_region=within("region"),
        warnings=notes,
    )


def member_outcomes(
    store_path: Path | str, ids: pd.Series, first: date, last: date
) -> tuple[date, pd.DataFrame]:
    """(last month of data, per member ``subscriber_id``, ``churned`` (:func:`member_churn` over
    ``first`` .. ``last``), ``revenue`` billed in those months and ``region_store`` (county of the
    line's grid))."""
    import ibis

    from churnradar.store.backends import open_backend

    bk = open_backend(store_path)
    try:
        u = bk.table("usage_monthly")
        data_end = bk.to_pyarrow(u.month.max().name("m").as_table()).column(0)[0].as_py()
        mem = ibis.memtable(pd.DataFrame({"subscriber_id": pd.unique(ids.astype(str))}))
        b = bk.table("billing_monthly")
        b = b.filter(b.month.cast("date").between(first, last))
        rev = b.group_by("subscriber_id").agg(revenue=b.revenue.sum()).rename(_rev_id="subscriber_id")
        s = bk.table("subscription").select("subscriber_id", "grid_id")
        r = bk.table("region").select("grid_id", region_store="county_id")
        where = s.left_join(r, "grid_id").select("subscriber_id", "region_store")
        where = where.rename(_reg_id="subscriber_id")
        j = member_churn(bk, mem, first, last)
        j = j.left_join(rev, j.subscriber_id == rev._rev_id).drop("_rev_id")
        j = j.left_join(where, j.subscriber_id == where._reg_id).drop("_reg_id")
        got = bk.to_pyarrow(j.select("subscriber_id", "churned", "revenue", "region_store")).to_pandas()
    finally:
        bk.close()
    if data_end is None:
        raise CampaignError(f"{store_path}: the store has no usage months; ingest data first")
    data_end = data_end.date() if hasattr(data_end, "date") else data_end
    return data_end, got.drop_duplicates("subscriber_id")


def _segments_at(store_path: Path | str, as_of: date, ids: pd.Series) -> tuple[np.ndarray, str]:
    """(value × risk segment of each member at ``as_of``, a note when the month has no scores: then
    every member's segment is ``unscored``)."""
    from churnradar.retention.segments import build_segments

    try:
        seg = build_segments(store_path, as_of)
    except RiskError:
        note = (
            f"no model has scored {format_month(as_of)}, the month before the campaign: the "
            f"segment breakdown is not available (run `{score_command(store_path, as_of)}`)"
        )
        return np.full(len(ids), "unscored", dtype=object), note
    seg = (
        seg.set_index("subscriber_id")["value_tier"].astype(str)
        + "×"
        + seg.set_index("subscriber_id")["risk_level"].astype(str)
    )
    return ids.map(seg).fillna("unknown").to_numpy(), ""


def window_end_of(start: date, months: int) -> date:
    return month_end(add_months(start, months - 1))
