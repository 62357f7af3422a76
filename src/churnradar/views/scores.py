"""Stored scores: the newest ``score`` batch (or a given month's), its model and one subscriber's row.

``score`` (written by ``churnradar score``) holds one row per subscriber and month: the horizon
probabilities, health score and components, risk level, the top reasons (``reason_<n>``,
``reason_<n>_driver``, ``reason_<n>_size``) and the ``model_id`` of the model that wrote it.
``value_segment`` (retention: CLV, CVF, value tier, segment, recommended action) is joined on the
subscriber from its newest month.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from churnradar.errors import ConfigError, StoreError
from churnradar.views._json import jsonable, maybe_json, quoted
from churnradar.views.scope import NotInScope, RegionScope
from churnradar.views.store import ReadStore

#: Columns the risk list and the subscriber page take from retention's ``value_segment`` table.
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


def score_info(store: ReadStore) -> dict[str, Any]:
    """Which score batch the views read: the newest ``as_of`` of ``score`` and the model that wrote
    it, or ``no_model`` before any scoring (read once per open store)."""
    return dict(store.memo("score_info", lambda: _score_info(store)))


def _score_info(store: ReadStore) -> dict[str, Any]:
    if not store.has("score"):
        return {"state": "no_model", "as_of": None, "horizons": [], "model_id": None}
    cols = store.columns("score")
    as_of = store.value("SELECT max(as_of) FROM score") if "as_of" in cols else None
    horizons = [c for c in cols if c.startswith("p_churn_")]
    return {
        "state": "scored" if as_of or horizons else "no_model",
        "as_of": as_of,
        "horizons": horizons,
        "model_id": _batch_model(store, as_of),
    }


def _batch_model(store: ReadStore, as_of: date | None) -> str | None:
    """The model that wrote (most of) the score batch of ``as_of``; None without one."""
    if as_of is None or "model_id" not in store.columns("score"):
        return None
    return store.value(
        "SELECT model_id FROM score WHERE as_of = ? GROUP BY model_id ORDER BY count(*) DESC, model_id LIMIT 1",
        [as_of],
    )


def batch_info(store: ReadStore, month: date | None) -> dict[str, Any]:
    """:func:`score_info` of the score batch of ``month`` (None: the newest); a month without a
    batch raises ConfigError naming the scored months."""
    info = score_info(store)
    if month is None or info["state"] == "no_model" or month == info["as_of"]:
        return info
    from churnradar.periods import format_month

    scored = score_months(store)
    if month not in scored:
        raise ConfigError(
            f"month {format_month(month)} has no score batch; scored months: "
            f"{', '.join(format_month(m) for m in reversed(scored)) or '(none)'}"
        )
    return {**info, "as_of": month, "model_id": _batch_model(store, month)}


def score_months(store: ReadStore) -> list[date]:
    """The months that have a score batch, oldest first."""
    if not store.has("score") or "as_of" not in store.columns("score"):
        return []
    return [r["as_of"] for r in store.rows("SELECT DISTINCT as_of FROM score ORDER BY as_of")]


def score_select(store: ReadStore, month: date | None = None) -> tuple[str, list[str]]:
    """A subquery of one score batch (``month``, default the newest) joined to the newest value and
    segment batch, and its columns."""
    cols = store.columns("score")
    if "as_of" not in cols:
        where = ""
    elif month is None:
        where = "WHERE sc0.as_of = (SELECT max(as_of) FROM score)"
    else:
        where = f"WHERE sc0.as_of = DATE '{month.isoformat()}'"
    extra, join = "", ""
    if store.has("value_segment"):
        vcols = [c for c in VALUE_COLUMNS if c in store.columns("value_segment")]
        if vcols:
            extra = ", " + ", ".join(f"v.{quoted(c)}" for c in vcols)
            join = (
                "LEFT JOIN value_segment v ON v.subscriber_id = sc0.subscriber_id "
                "AND v.as_of = (SELECT max(as_of) FROM value_segment)"
            )
            cols = cols + [c for c in vcols if c not in cols]
    return f"(SELECT sc0.*{extra} FROM score sc0 {join} {where})", cols


def main_p(cols: list[str]) -> str:
    """The headline probability column: the longest horizon (e.g. ``p_churn_3m``)."""
    ps = [c for c in cols if c.startswith("p_churn_")]
    if not ps:
        for c in ("p", "probability", "risk"):
            if c in cols:
                return c
        raise StoreError("score table has no p_churn_* column")
    return sorted(ps, key=lambda c: (len(c), c))[-1]


def high_condition(cols: list[str], pcol: str) -> str:
    """Condition of a high-risk score row ``sc``: the model's risk level, else p ≥ 0.5."""
    if "risk_level" in cols:
        return "sc.risk_level IN ('high', 'very_high')"
    return f"sc.{pcol} >= 0.5"


def reason_column(cols: list[str]) -> str | None:
    for c in ("reason_1", "top_reasons", "reasons", "reason_codes", "top_reason", "reason_code"):
        if c in cols:
            return c
    return None


def reason_codes(v: Any) -> list[str]:
    """Reason codes of a stored reasons value (a code, a list, JSON text or reason objects)."""
    if v is None:
        return []
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            return [x.strip() for x in v.split(",") if x.strip()]
    if isinstance(v, dict):
        v = [v]
    if not isinstance(v, list):
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


_REASON_COL = re.compile(r"^reason_(\d+)(?:_(driver|size|zh|en))?$")


def decode_score(row: dict[str, Any]) -> dict[str, Any]:
    """A score row as served: JSON text decoded, ``reason_<n>_*`` columns folded into ``reasons``."""
    out: dict[str, Any] = {}
    reasons: dict[int, dict[str, Any]] = {}
    for k, v in row.items():
        m = _REASON_COL.match(k)
        if m:
            slot = reasons.setdefault(int(m.group(1)), {})
            slot[m.group(2) or "reason"] = v
            continue
        out[k] = maybe_json(v)
    if reasons:
        out["reasons"] = [
            {"reason": r.get("reason"), "driver": r.get("driver"), "size": r.get("size")}
            for _, r in sorted(reasons.items())
            if r.get("reason")
        ]
    return jsonable(out)


def score_row(store: ReadStore, subscriber_id: str, month: date | None = None) -> dict[str, Any] | None:
    """The stored score of one subscriber in the batch of ``month`` (default: the newest), decoded;
    None when that batch has no row for them (or nothing was scored)."""
    if not store.has("score"):
        return None
    sel, _cols = score_select(store, month)
    rows = store.rows(f"SELECT * FROM {sel} WHERE subscriber_id = ?", [subscriber_id])
    return decode_score(rows[0]) if rows else None


def stored_score(
    store: ReadStore, scope: RegionScope, subscriber_id: str, month: date | None = None
) -> dict[str, Any]:
    """The stored score of one subscriber in ``scope``: probabilities, health, risk level, reasons
    and the ``model_id`` that wrote them, from the batch of ``month`` (default: the newest).

    Raises :class:`NotInScope` for a subscriber outside the scope, or one the batch has no row for.
    """
    from churnradar.views.regions import in_scope

    if not in_scope(store, scope, subscriber_id):
        raise NotInScope(f"no subscriber {subscriber_id!r} in your regions")
    info = score_info(store)
    if info["state"] != "scored":
        raise NotInScope("nothing is scored yet: run `churnradar score` on this store")
    if month is not None and month not in score_months(store):
        have = ", ".join(f"{m:%Y-%m}" for m in score_months(store)) or "none"
        raise NotInScope(f"no score batch for {month:%Y-%m}; months scored: {have}")
    row = score_row(store, subscriber_id, month)
    batch = month or info["as_of"]
    if row is None:
        raise NotInScope(
            f"subscriber {subscriber_id!r} has no score for {batch:%Y-%m} (not open at the end of that month)"
        )
    return row
