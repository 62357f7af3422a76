"""Churn risk for retention: the model's ``score`` table when it has the month, else an interim model.

The interface retention needs is small: a frame with ``subscriber_id`` and ``p_churn_1m``,
``p_churn_2m``, ``p_churn_3m`` (monotone in the horizon). :func:`load_scores` reads it from the
``score`` table written by ``churnradar score``; until a score exists for the month it falls back to
:func:`interim_risk`, a LightGBM classifier of 3-month off-net churn on the retention covariates
trained at the latest month whose outcome window (plus the deregistration lag) the data covers.

Off-net exits here (:func:`exits`) are the labels' own (the ``offnet`` definition: dated by the last
active month, never later than the recorded deregistration or port-out). The old number of an in-network re-selection
(the same person or handset on a new number of ours, :func:`churnradar.labels.events.reselections`)
is not an exit: the customer stayed, so a campaign member who re-selected counts as retained.
"""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS
from churnradar.periods import add_months, format_month, parse_month
from churnradar.retention.covariates import covariates, design_matrix
from churnradar.schema.enums import END_EVENTS_SQL

HORIZONS = (1, 2, 3)
#: the deregistration lag (:data:`churnradar.metrics.population.DEREGISTRATION_LAG_MONTHS`)
DEREG_LAG = DEREGISTRATION_LAG_MONTHS

#: Every line with a recorded deregistration or port-out, re-selections included (no dating).
EXITS_SQL = f"SELECT DISTINCT subscriber_id FROM status_event WHERE event_type IN {END_EVENTS_SQL}"


class RiskWarning(UserWarning):
    """Risk comes from the interim model, or outcome windows are not fully observed yet."""


def _con(store_path):
    import duckdb

    con = duckdb.connect(str(store_path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def exits_sql(con) -> str:
    """DuckDB SQL of ``subscriber_id``, ``exit_month`` of every off-net exit that is churn: the
    labels' split (:func:`churnradar.labels.events.exits_and_reselections`, ``offnet``
    definition), dated by the month left, compiled for this connection."""
    import ibis

    from churnradar.labels.definitions import get_definition
    from churnradar.labels.events import exits_and_reselections
    from churnradar.store.backends import Backend

    bk = Backend("duckdb", ibis.duckdb.from_connection(con), Path("."))
    offnet, _ = exits_and_reselections(bk, get_definition("offnet"))
    return bk.con.compile(offnet.select("subscriber_id", exit_month=offnet.effective_month))


def exits(store_path: Path | str, con=None) -> pd.DataFrame:
    """``subscriber_id``, ``exit_month`` of every recorded off-net exit (deregistration or port-out),
    except the old numbers of in-network re-selections: those customers stayed."""
    own = con is None
    con = con or _con(store_path)
    try:
        return con.sql(exits_sql(con)).df()
    finally:
        if own:
            con.close()


def last_month(store_path: Path | str, con=None) -> date:
    own = con is None
    con = con or _con(store_path)
    try:
        return con.sql("SELECT max(month) FROM usage_monthly").fetchone()[0]
    finally:
        if own:
            con.close()


def churned_within(ex: pd.DataFrame, ids: pd.Series, last: date) -> pd.Series:
    """Whether each subscriber's exit month is on or before ``last`` (a window's last month)."""
    m = ex.set_index("subscriber_id")["exit_month"]
    got = pd.to_datetime(ids.map(m))
    return (got.notna() & (got <= pd.Timestamp(last))).astype(bool)


def interim_risk(
    store_path: Path | str, as_of: str | date, cov: pd.DataFrame | None = None, random_state: int = 0
) -> pd.DataFrame:
    """``p_churn_1m..3m`` from a LightGBM classifier of off-net churn within 3 months.

    Trained on the covariates of the latest month ``t ≤ as_of − 3`` whose window t+1..t+3 is
    observed with the deregistration lag; horizons 1 and 2 assume a constant monthly hazard.
    """
    import lightgbm as lgb

    month = parse_month(as_of)
    con = _con(store_path)
    try:
        last = last_month(store_path, con)
        first = con.sql("SELECT min(month) FROM usage_monthly").fetchone()[0]
        t = min(add_months(month, -3), add_months(last, -(3 + DEREG_LAG)))
        t = max(t, add_months(first, 2))
        train = covariates(store_path, t, con=con)
        ex = exits(store_path, con)
        cov = cov if cov is not None else covariates(store_path, month, con=con)
    finally:
        con.close()
    y = churned_within(ex, train["subscriber_id"], add_months(t, 3)) & ~churned_within(
        ex, train["subscriber_id"], t
    )
    x = design_matrix(train)
    model = lgb.LGBMClassifier(
        n_estimators=150,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=40,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=random_state,
        n_jobs=1,  # one thread: far faster than two on a shared 2-core box
        max_bin=63,
        verbose=-1,
    )
    model.fit(x, y.astype(int))
    p3 = model.predict_proba(design_matrix(cov, list(x.columns)))[:, 1]
    out = pd.DataFrame({"subscriber_id": cov["subscriber_id"].to_numpy()})
    for h in HORIZONS:
        out[f"p_churn_{h}m"] = 1 - (1 - p3) ** (h / 3)
    out.attrs["source"] = f"interim model trained at {format_month(t)}"
    return out


def load_scores(
    store_path: Path | str, as_of: str | date, cov: pd.DataFrame | None = None, warn: bool = True
) -> pd.DataFrame:
    """Risk per subscriber for ``as_of``: the ``score`` table's rows for that month if present,
    otherwise :func:`interim_risk` (with a :class:`RiskWarning`)."""
    month = parse_month(as_of)
    con = _con(store_path)
    try:
        tables = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        scores = None
        if "score" in tables:
            cols = [r[0] for r in con.sql("DESCRIBE score").fetchall()]
            pcols = [c for c in cols if c.startswith("p_churn_")]
            if "as_of" in cols and pcols:
                scores = con.execute(
                    f"SELECT subscriber_id, {', '.join(pcols)} FROM score WHERE as_of = ?", [month]
                ).df()
                if scores.empty:
                    scores = None
    finally:
        con.close()
    if scores is not None:
        scores.attrs["source"] = "score table"
        return scores
    if warn:
        warnings.warn(
            f"no score for {format_month(month)} in the store: using the interim retention risk model",
            RiskWarning,
            stacklevel=2,
        )
    return interim_risk(store_path, month, cov)


def monotone(p: pd.DataFrame) -> bool:
    cols = [f"p_churn_{h}m" for h in HORIZONS if f"p_churn_{h}m" in p.columns]
    a = p[cols].to_numpy()
    return bool(np.all(np.diff(a, axis=1) >= -1e-12))
