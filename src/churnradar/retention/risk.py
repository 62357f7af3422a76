"""Churn risk for retention: the ``score`` table written by the model that scored the month.

The interface retention needs is small: a frame with ``subscriber_id`` and ``p_churn_1m``,
``p_churn_2m``, ``p_churn_3m`` (monotone in the horizon). :func:`load_scores` reads it from the
``score`` table written by ``churnradar score`` (the stored model the registry chose for the month,
named in the frame's ``attrs``). A month no model has scored is an error (:class:`RiskError`) that
names the month and the command that scores it: retention never trains a model of its own.

Off-net exits here (:func:`exits`) are the labels' own (the ``offnet`` definition: dated by the last
active month, never later than the recorded deregistration or port-out). The old number of an in-network re-selection
(the same person or handset on a new number of ours, :func:`churnradar.labels.events.reselections`)
is not an exit: the customer stayed, so a campaign member who re-selected counts as retained.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS
from churnradar.periods import format_month, parse_month
from churnradar.retention.errors import RiskError
from churnradar.schema.enums import END_EVENTS_SQL

HORIZONS = (1, 2, 3)
#: the deregistration lag (:data:`churnradar.metrics.population.DEREGISTRATION_LAG_MONTHS`)
DEREG_LAG = DEREGISTRATION_LAG_MONTHS

#: Every line with a recorded deregistration or port-out, re-selections included (no dating).
EXITS_SQL = f"SELECT DISTINCT subscriber_id FROM status_event WHERE event_type IN {END_EVENTS_SQL}"


class RiskWarning(UserWarning):
    """Outcome windows are not fully observed yet (exits are recorded with a lag)."""


def _backend(store_path: Path | str):
    from churnradar.store.backends import open_backend

    return open_backend(store_path)


def exits_expr(bk):
    """Ibis expression of ``subscriber_id``, ``exit_month`` of every off-net exit that is churn:
    the labels' split (:func:`churnradar.labels.events.exits_and_reselections`, ``offnet``
    definition, as the metrics layer counts it), dated by the month left."""
    from churnradar.metrics.compute import exit_events

    offnet, _ = exit_events(bk)
    return offnet.select("subscriber_id", exit_month=offnet.effective_month)


def exits(store_path: Path | str) -> pd.DataFrame:
    """``subscriber_id``, ``exit_month`` of every recorded off-net exit (deregistration or port-out),
    except the old numbers of in-network re-selections: those customers stayed."""
    bk = _backend(store_path)
    try:
        return bk.to_pyarrow(exits_expr(bk)).to_pandas()
    finally:
        bk.close()


def last_month(store_path: Path | str) -> date:
    """The last month of usage in the store."""
    bk = _backend(store_path)
    try:
        u = bk.table("usage_monthly")
        got = bk.to_pyarrow(u.month.max().name("m").as_table()).column(0)[0].as_py()
    finally:
        bk.close()
    if got is None:
        raise RiskError(f"{store_path}: the store has no usage months; ingest data first")
    return got.date() if hasattr(got, "date") else got


def score_command(store_path: Path | str, month: date) -> str:
    """The command that scores ``month`` of the store at ``store_path``."""
    return f"churnradar score --store {store_path} --as-of {format_month(month)}"


def load_scores(store_path: Path | str, as_of: str | date) -> pd.DataFrame:
    """Risk per subscriber for ``as_of``: the ``score`` table's rows for that month.

    ``attrs["source"]`` names the model that scored them. A month without scores raises
    :class:`RiskError` naming the month and the command that scores it.
    """
    month = parse_month(as_of)
    bk = _backend(store_path)
    try:
        scores = None
        if bk.has_table("score"):
            s = bk.table("score")
            pcols = [c for c in s.columns if c.startswith("p_churn_")]
            if "as_of" in s.columns and pcols:
                keep = {"subscriber_id": s.subscriber_id, **{c: s[c].cast("float64") for c in pcols}}
                if "model_id" in s.columns:
                    keep["model_id"] = s.model_id
                got = s.filter(s.as_of.cast("date") == month).select(**keep)
                scores = bk.to_pyarrow(got).to_pandas()
    finally:
        bk.close()
    if scores is None or scores.empty:
        raise RiskError(
            f"no model has scored {format_month(month)} in {store_path}: retention reads the churn "
            f"model's scores; run `{score_command(store_path, month)}` first"
        )
    models = sorted(scores.pop("model_id").dropna().unique()) if "model_id" in scores.columns else []
    scores.attrs["source"] = f"score table (model {', '.join(models)})" if models else "score table"
    scores.attrs["model_id"] = models[0] if len(models) == 1 else None
    return scores.sort_values("subscriber_id", kind="stable").reset_index(drop=True)


def churned_within(ex: pd.DataFrame, ids: pd.Series, last: date) -> pd.Series:
    """Whether each subscriber's exit month is on or before ``last`` (a window's last month)."""
    m = ex.set_index("subscriber_id")["exit_month"]
    got = pd.to_datetime(ids.map(m))
    return (got.notna() & (got <= pd.Timestamp(last))).astype(bool)
