"""The model registry as the API shows it, and the model that wrote the stored scores."""

from __future__ import annotations

from typing import Any

from churnradar.views._json import jsonable, maybe_json, quoted
from churnradar.views.scores import score_info
from churnradar.views.store import ReadStore

#: registry columns never shown (the serialised model)
HIDDEN = ("artifact", "booster", "model_json")
#: most rows of a stored backtest shown
BACKTEST_ROWS = 1000


def model_rows(store: ReadStore) -> list[dict[str, Any]]:
    """Every model of the registry without its artifact, newest first (JSON columns decoded)."""
    if not store.has("model"):
        return []
    cols = [c for c in store.columns("model") if c not in HIDDEN]
    order = next((f"ORDER BY {c} DESC" for c in ("created", "created_at") if c in cols), "")
    return [
        jsonable({k: maybe_json(v) for k, v in r.items()})
        for r in store.rows(f"SELECT {', '.join(map(quoted, cols))} FROM model {order}")
    ]


def backtest_rows(store: ReadStore) -> list[dict[str, Any]]:
    """The rows of a stored rolling-origin ``backtest`` table (none without one)."""
    if not store.has("backtest"):
        return []
    return jsonable(store.rows(f"SELECT * FROM backtest LIMIT {BACKTEST_ROWS}"))


def current_model(store: ReadStore, rows: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The registry row of the model that wrote the newest score batch (the newest model when
    nothing is scored, or when that model is no longer in the registry); None without models."""
    rows = model_rows(store) if rows is None else rows
    wrote = scoring_model_id(store)
    return next((r for r in rows if wrote and r.get("model_id") == wrote), rows[0] if rows else None)


def scoring_model_id(store: ReadStore) -> str | None:
    """The ``model_id`` that wrote the newest score batch (None before scoring, or for a score table
    without model ids)."""
    return score_info(store)["model_id"]


def scoring_model(store: ReadStore) -> tuple[Any, Any]:
    """(registry record, :class:`~churnradar.models.churn.ChurnModel`) of the model that wrote the
    newest score batch; the newest model of the registry when nothing is scored yet.

    Raises :class:`~churnradar.models.registry.ModelNotFoundError` when there is no such model.
    """
    from churnradar.models.registry import ModelNotFoundError, load_model

    if store.path is None:
        raise ModelNotFoundError("the store has no file to load a model from")
    if not store.has("model"):
        raise ModelNotFoundError(f"{store.path} has no trained model; run `churnradar train` first")
    return load_model(store.path, scoring_model_id(store))


# -- the model page: what the current model is, how it was validated and how it has done since ----
#: Features shown by importance.
TOP_FEATURES = 20
#: Scored months whose realised outcomes are shown (the newest settled ones).
OUTCOME_MONTHS = 6
#: Features drawn month by month in the drift chart (the largest PSIs of the newest month).
DRIFT_FEATURES = 8
#: Risk levels of the score table, lowest first (``score.risk_level``).
RISK_LEVELS = ("low", "medium", "high", "very_high")


def model_card(store: ReadStore) -> dict[str, Any] | None:
    """The current model (:func:`current_model`) as the model page shows it: identity, what it was
    trained on (feature months, outcomes up to, the sample), its held-out metrics per step on the
    calibration slice, whether it is the named champion, and its notes. None without models."""
    rec = current_model(store)
    if rec is None:
        return None
    model_id = rec.get("model_id")

    def build() -> dict[str, Any]:
        meta = _model_meta(store, model_id)
        metrics = rec.get("metrics") or {}
        params = rec.get("params") or {}
        steps = sorted(int(k.rsplit("step", 1)[1]) for k in metrics if k.startswith("hazard_auc_step"))
        return jsonable(
            {
                "model_id": model_id,
                "kind": rec.get("kind"),
                "as_of": rec.get("as_of"),
                "created": rec.get("created"),
                "label_definition": rec.get("label_definition"),
                "feature_set": rec.get("feature_set"),
                "feature_months": meta.get("feature_months") or [],
                "outcome_until": meta.get("outcome_until"),
                "champion": _is_champion(store, model_id, rec.get("label_definition")),
                "scored_by": model_id == scoring_model_id(store),
                "sample": {
                    k: metrics.get(k, params.get(k))
                    for k in (
                        "rows_used",
                        "rows_available",
                        "sample_rate",
                        "events_available",
                        "panel_events",
                        "calibration_rows",
                        "calibration_events",
                        "base_rate",
                    )
                },
                "steps": [
                    {
                        "step": k,
                        "auc": metrics.get(f"hazard_auc_step{k}"),
                        "ece": metrics.get(f"hazard_ece_step{k}"),
                    }
                    for k in steps
                ],
                "params": {
                    k: params.get(k)
                    for k in ("n_estimators", "num_leaves", "learning_rate", "min_child_samples")
                    if params.get(k) is not None
                },
                "notes": meta.get("notes") or [],
            }
        )

    return dict(store.memo(f"model:card:{model_id}", build))


def validation_curves(store: ReadStore) -> dict[str, Any] | None:
    """ROC, gain and reliability points of the current model's 1-month probability on its
    calibration slice, as written by training into the registry's metrics (``curves``); None for a
    model trained before the registry kept them."""
    rec = current_model(store)
    curves = ((rec or {}).get("metrics") or {}).get("curves")
    return curves if isinstance(curves, dict) and curves.get("roc") else None


def feature_importance(store: ReadStore, top: int = TOP_FEATURES) -> list[dict[str, Any]]:
    """The ``top`` features of the current model by total gain (LightGBM), with each one's share of
    the model's total gain; empty without a model."""
    rec = current_model(store)
    if rec is None:
        return []
    model_id = rec.get("model_id")

    def build() -> list[dict[str, Any]]:
        import numpy as np

        _, model = _load(store, model_id)
        booster = model.hazard.booster_
        gain = np.asarray(booster.feature_importance(importance_type="gain"), dtype=float)
        names = list(model.hazard.encoder_.columns_)
        total = float(gain.sum())
        order = np.argsort(-gain, kind="stable")
        return [
            {"feature": names[i], "gain": float(gain[i]), "share": float(gain[i] / total) if total else None}
            for i in order
            if gain[i] > 0
        ]

    return list(store.memo(f"model:importance:{model_id}", build))[:top]


def drift(store: ReadStore, features: int = DRIFT_FEATURES) -> dict[str, Any]:
    """Month-over-month PSI of the score and of the features (all lines) against the current
    model's training month, from the monitoring the cycle writes (``model_monitor``), with each
    one's largest PSI over the model's own training months (``model_monitor_baseline``).

    ``months``; ``score``: PSI per month (None where a month has none); ``features``: the
    ``features`` largest PSIs of the newest month, each a list per month; ``latest``: every
    feature's PSI in the newest month with its training-months PSI, largest first."""
    from churnradar.cycle.monitor import BASELINE_TABLE, MONITOR_TABLE

    rec = current_model(store)
    if rec is None or not store.has(MONITOR_TABLE):
        return {"months": [], "score": [], "features": {}, "latest": []}
    model_id = rec.get("model_id")
    rows = store.rows(
        f"SELECT month, item, value FROM {quoted(MONITOR_TABLE)} WHERE model_id = ? AND metric = 'psi' "
        "AND (item = 'score' OR (item LIKE 'feature:%' AND NOT contains(item, '@'))) ORDER BY month",
        [model_id],
    )
    baseline: dict[str, float] = {}
    if store.has(BASELINE_TABLE):
        baseline = {
            r["item"]: r["psi"]
            for r in store.rows(
                f"SELECT item, psi FROM {quoted(BASELINE_TABLE)} WHERE model_id = ? AND NOT contains(item, '@')",
                [model_id],
            )
        }
    months = sorted({r["month"] for r in rows})
    at = {m: i for i, m in enumerate(months)}
    series: dict[str, list[float | None]] = {}
    for r in rows:
        name = "score" if r["item"] == "score" else r["item"].removeprefix("feature:")
        series.setdefault(name, [None] * len(months))[at[r["month"]]] = r["value"]
    score = series.pop("score", [None] * len(months))
    newest = {k: v[-1] for k, v in series.items() if v and v[-1] is not None}
    ranked = sorted(newest, key=lambda k: -newest[k])
    latest = [{"feature": k, "psi": newest[k], "training_psi": baseline.get(k)} for k in ranked]
    return jsonable(
        {
            "months": [m.strftime("%Y-%m") for m in months],
            "score": score,
            "score_training_psi": baseline.get("score"),
            "features": {k: series[k] for k in ranked[:features]},
            "latest": latest,
        }
    )


def realised_outcomes(
    store: ReadStore, scope: Any = None, horizon: int = 1, months: int = OUTCOME_MONTHS
) -> list[dict[str, Any]]:
    """How earlier months' scores did: for each scored month whose outcome window has closed (the
    month plus ``horizon`` plus the churn definition's confirmation months is in the data), per
    risk level and in all, the lines scored, those that churned within ``horizon`` months, the
    realised rate, the mean predicted probability, the ROC-AUC of the probability and the lift
    (the level's rate over the month's rate). Newest month first, at most ``months``.

    Churn is the churn definition's label of the model that wrote the scores (``labels``: a line's
    end is :func:`churnradar.metrics.population.line_ends`, the population that of
    :func:`churnradar.metrics.population.population`, re-selections are not churn). ``scope`` (a
    :class:`~churnradar.views.scope.RegionScope`) keeps the lines of its grids only.
    """
    from churnradar.evaluate.backtest import confirmation_months
    from churnradar.labels import get_definition
    from churnradar.periods import add_months
    from churnradar.views.scores import score_months

    rec = current_model(store) or {}
    d = get_definition(rec.get("label_definition") or "offnet")
    if horizon not in d.horizons:
        from churnradar.errors import ConfigError

        raise ConfigError(
            f"horizon {horizon} is not labelled by churn definition {d.name!r}; expected one of "
            f"{', '.join(map(str, d.horizons))}"
        )
    col = f"p_churn_{int(horizon)}m"
    if not store.has("score") or col not in store.columns("score"):
        return []
    last = store.data_months()[1]
    wait = horizon + confirmation_months(d)
    settled = [m for m in score_months(store) if add_months(m, wait) <= last][-months:]
    grids = None if scope is None or scope.grids is None else tuple(sorted(scope.grids))

    def build() -> list[dict[str, Any]]:
        return [_month_outcome(store, scope, m, d, horizon) for m in reversed(settled)]

    return list(store.memo(f"model:outcomes:{horizon}:{months}:{grids}:{settled[-1:]}", build))


def _month_outcome(store: ReadStore, scope: Any, month: Any, d: Any, horizon: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from churnradar.evaluate.metrics import roc_auc, top_decile_lift
    from churnradar.labels import build_labels
    from churnradar.labels.stored import events_for
    from churnradar.views.scope import grid_filter

    col, y_col = f"p_churn_{int(horizon)}m", f"churn_within_{int(horizon)}m"
    pred, params = grid_filter(scope, "s.grid_id") if scope is not None else ("TRUE", [])
    has_level = "risk_level" in store.columns("score")
    scored = pd.DataFrame(
        store.rows(
            f"SELECT sc.subscriber_id, sc.{quoted(col)} AS p, "
            f"{'sc.risk_level' if has_level else 'NULL'} AS risk_level FROM score sc "
            f"JOIN subscription s ON s.subscriber_id = sc.subscriber_id WHERE sc.as_of = ? AND {pred}",
            [month, *params],
        ),
        columns=["subscriber_id", "p", "risk_level"],
    )
    bk = store.backend()
    try:
        events, _ = events_for(bk, d)
        labels = bk.to_pyarrow(build_labels(bk, month, d, events).select("subscriber_id", y_col)).to_pandas()
    finally:
        bk.close()
    df = scored.merge(labels, on="subscriber_id", how="inner")
    y = df[y_col].astype(float).to_numpy()
    p = df["p"].astype(float).to_numpy()
    rate = float(y.mean()) if len(y) else None

    def row(level: str | None, mask: np.ndarray) -> dict[str, Any]:
        yy, pp = y[mask], p[mask]
        n, churned = int(mask.sum()), int(yy.sum())
        r = churned / n if n else None
        return {
            "risk_level": level,
            "scored": n,
            "churned": churned,
            "rate": r,
            "predicted": float(pp.mean()) if n else None,
            "auc": roc_auc(yy, pp) if n and 0 < churned < n else None,
            "lift": (r / rate) if r is not None and rate else None,
        }

    levels = [lv for lv in RISK_LEVELS if (df["risk_level"] == lv).any()]
    levels += sorted({str(v) for v in df["risk_level"].dropna()} - set(levels))
    return jsonable(
        {
            "scored_month": month.strftime("%Y-%m"),
            "horizon": horizon,
            "levels": [row(lv, (df["risk_level"] == lv).to_numpy()) for lv in levels],
            "all": {
                **row(None, np.ones(len(df), dtype=bool)),
                "top_decile_lift": top_decile_lift(y, p) if len(y) and y.sum() else None,
            },
        }
    )


def _model_meta(store: ReadStore, model_id: str | None) -> dict[str, Any]:
    """The training facts the artifact keeps (feature months, outcomes up to, notes); empty when
    the model cannot be loaded."""
    from churnradar.errors import ChurnRadarError

    try:
        _, model = _load(store, model_id)
    except ChurnRadarError:
        return {}
    return dict(model.meta or {})


def _load(store: ReadStore, model_id: str | None) -> tuple[Any, Any]:
    from churnradar.models.registry import ModelNotFoundError, load_model

    if store.path is None:
        raise ModelNotFoundError("the store has no file to load a model from")
    return store.memo(f"model:loaded:{model_id}", lambda: load_model(store.path, model_id, champion=False))


def _is_champion(store: ReadStore, model_id: str | None, definition: str | None) -> bool:
    """Whether ``model_id`` is the latest-named champion of its churn definition."""
    from churnradar.models.registry import CHAMPION_TABLE

    if not store.has(CHAMPION_TABLE) or model_id is None:
        return False
    cols = store.columns(CHAMPION_TABLE)
    order = "named" if "named" in cols else "model_id"
    newest = store.value(
        f"SELECT model_id FROM {quoted(CHAMPION_TABLE)} WHERE label_definition = ? ORDER BY {order} DESC LIMIT 1",
        [definition],
    )
    return newest == model_id
