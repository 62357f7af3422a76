"""Online scoring of one subscriber: from the stored features or from a posted feature vector.

The scorer loads the newest model of the store's registry (:mod:`churnradar.models.registry`) once,
and, on the first request for a stored subscriber, computes the model's feature set for the month of
the newest ``score`` batch (or the newest month of data), encodes it once and precomputes the
health scores. A request then costs one LightGBM row prediction, the calibrated horizon
probabilities and exact TreeSHAP reasons for that row, all single-threaded (a web worker must not
start an OpenMP or numba thread pool per request; the batch scorer is the place for those).
"""

from __future__ import annotations

import contextlib
import gc
import math
import threading
import time
from datetime import date
from typing import Any

import numpy as np

from churnradar.api.roles import NotInScope, Scope
from churnradar.errors import ChurnRadarError, ConfigError


class NoModel(ChurnRadarError):
    """No trained model in the store yet (answered as 409): run `churnradar train`."""


class InvalidFeatureValue(ChurnRadarError):
    """A posted feature value does not fit its feature (answered as 422)."""


#: the model computes in float32: a posted number must be finite there
FLOAT32_MAX = float(np.finfo(np.float32).max)


class Scorer:
    """The newest model of one store, with its stored features encoded in memory."""

    def __init__(self, data: Any):
        self.data = data
        self._lock = threading.Lock()
        self._model: Any = None
        self._record: Any = None
        self._stored: dict[str, Any] | None = None

    # -- loading ----------------------------------------------------------------------------------
    def model(self) -> tuple[Any, Any]:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        from churnradar.models.registry import ModelNotFoundError, load_model
                    except ImportError as exc:  # pragma: no cover - models are part of the package
                        raise NoModel(f"the churn model package is not available: {exc}") from None
                    if not self.data.has("model"):
                        raise NoModel("no model trained yet: run `churnradar train` on this store")
                    try:
                        self._record, self._model = load_model(self.data.path)
                    except ModelNotFoundError as exc:
                        raise NoModel(str(exc)) from None
                    self._prepare_model(self._model)
        return self._record, self._model

    def _prepare_model(self, model: Any) -> None:
        enc = model.hazard.encoder_
        self._columns = list(enc.columns_)
        self._cats = {
            name: {v: float(i) for i, v in enumerate(vals)} for name, vals in enc.categories_.items()
        }
        self._n_features = len(model.explainer.features_)
        from churnradar.models.health import risk_level

        self._risk_level = risk_level
        ex = model.explainer
        # pair (driver, reason) → reason matrix, to sum a row's pair contributions per reason at once
        self._pair_to_reason = np.zeros((len(ex.pairs_), len(ex.reasons_)))
        self._pair_to_reason[np.arange(len(ex.pairs_)), ex.reason_of_pair_] = 1.0
        self._pairs_of_reason = [np.flatnonzero(ex.reason_of_pair_ == r) for r in range(len(ex.reasons_))]

    def feature_month(self) -> date:
        info = self.data.score_info()
        if info["as_of"]:
            return (
                info["as_of"]
                if isinstance(info["as_of"], date)
                else date.fromisoformat(str(info["as_of"])[:10])
            )
        cur = self.data.cursor()
        return cur.execute("SELECT max(month) FROM usage_monthly").fetchone()[0]

    def stored(self) -> dict[str, Any]:
        """Features of every subscriber for the feature month: encoded matrix, health, row index."""
        record, model = self.model()
        if self._stored is None:
            with self._lock:
                if self._stored is None:
                    from churnradar.features import compute_features, get_feature_set
                    from churnradar.store.backends import open_backend

                    started = time.perf_counter()
                    month = self.feature_month()
                    bk = open_backend(self.data.path, "duckdb")
                    bk.con.raw_sql("SET enable_progress_bar = false")
                    try:
                        table = compute_features(bk, month, get_feature_set(record.feature_set)).to_pyarrow()
                    finally:
                        bk.close()
                    X = np.ascontiguousarray(model.hazard.transform_features(table), dtype=np.float32)
                    health = model.health.transform(table)
                    ids = table.column("subscriber_id").to_pylist()
                    cur = self.data.cursor()
                    grid_of = dict(cur.execute("SELECT subscriber_id, grid_id FROM subscription").fetchall())
                    self._stored = {
                        "grid_of": grid_of,
                        "month": month,
                        "X": X,
                        "health": health,
                        "index": {s: i for i, s in enumerate(ids)},
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                    # the model, features and maps live as long as the process: keep them out of
                    # the cyclic collector's full passes (shorter GC pauses under load)
                    gc.collect()
                    gc.freeze()
        return self._stored

    @property
    def ready(self) -> bool:
        """Model and stored features are loaded: a score is a few milliseconds of CPU."""
        return self._stored is not None

    def warm(self) -> None:
        """Load the model and the stored features now (``churnradar serve`` does it at start)."""
        with contextlib.suppress(NoModel):
            self.stored()

    # -- scoring ----------------------------------------------------------------------------------
    def _score_row(self, x: np.ndarray) -> dict[str, Any]:
        record, model = self._record, self._model
        booster = model.hazard.booster_
        # one pass: TreeSHAP contributions sum (with the bias column) to the raw score
        contrib = np.asarray(booster.predict(x, pred_contrib=True, num_threads=1))
        p = model.hazard.proba_from_raw(contrib.sum(axis=1))[0]
        reasons = self._top_reasons(
            model.explainer.pairs_from_feature_contributions(contrib[:, : self._n_features], x)[0]
        )
        return {
            "model_id": record.model_id,
            **{c: round(float(v), 6) for c, v in zip(model.proba_columns, p, strict=True)},
            "risk_level": str(self._risk_level(np.array([p[-1]]), model.base_rate)[0]),
            "reasons": reasons,
        }

    def _top_reasons(self, pair: np.ndarray) -> list[dict[str, Any]]:
        """The explainer's top reasons for one row (same rule as ``ReasonExplainer.top_reasons``:
        reasons by summed positive contribution, each with its dominant driver), without the
        per-call overhead of the batch version."""
        ex = self._model.explainer
        by_reason = pair @ self._pair_to_reason
        out = []
        for r in np.argsort(-by_reason, kind="stable")[: ex.top]:
            size = float(by_reason[r])
            if size <= 0:
                break
            js = self._pairs_of_reason[r]
            driver = ex.pairs_[js[int(np.argmax(pair[js]))]][0]
            out.append({"reason": ex.reasons_[r], "driver": driver, "size": round(size, 6)})
        if not out:  # no positive evidence at all: "unknown" (未知), as the batch explainer says
            out.append({"reason": "unknown", "driver": "none", "size": 0.0})
        return out

    def score_stored(self, scope: Scope, subscriber_id: str) -> dict[str, Any]:
        """Score one subscriber in scope from their stored features."""
        st = self.stored()
        grid = st["grid_of"].get(subscriber_id)
        if grid is None or not scope.allows_grid(grid):
            raise NotInScope(f"no subscriber {subscriber_id!r} in your regions")
        i = st["index"].get(subscriber_id)
        if i is None:
            raise NotInScope(
                f"subscriber {subscriber_id!r} has no features for {st['month']:%Y-%m} "
                "(not open at the end of that month)"
            )
        out = self._score_row(st["X"][i : i + 1])
        health = {k: float(v[i]) for k, v in st["health"].items()}
        return {
            "subscriber_id": subscriber_id,
            "features_as_of": st["month"].isoformat(),
            "source": "stored_features",
            **out,
            **health,
        }

    def score_features(self, features: dict[str, Any]) -> dict[str, Any]:
        """Score a posted feature vector (missing features are null; unknown names are refused)."""
        import pyarrow as pa

        self.model()
        model = self._model
        unknown = sorted(set(features) - set(self._columns) - set(model.health.reference_))
        if unknown:
            raise ConfigError(
                f"unknown feature(s) {', '.join(unknown[:8])}; the model reads {len(self._columns)} features "
                "(see GET /api/model for their names)"
            )
        self._check_values(features)
        x = np.full((1, len(self._columns)), np.nan, dtype=np.float32)
        for j, name in enumerate(self._columns):
            v = features.get(name)
            if v is None:
                continue
            if name in self._cats:
                x[0, j] = self._cats[name].get(v, np.nan)
            else:
                x[0, j] = float(v)
        row = {
            name: pa.array([features.get(name)], pa.string() if name in self._cats else pa.float64())
            for name in set(self._columns) | set(model.health.reference_)
            if not isinstance(features.get(name), str) or name in self._cats
        }
        health = {k: float(v[0]) for k, v in model.health.transform(pa.table(row)).items()}
        return {"source": "posted_features", **self._score_row(x), **health}

    def _check_values(self, features: dict[str, Any]) -> None:
        """Each value against its feature: text for categorical features, a finite number (not a
        boolean, within float32) for numeric ones; null is always allowed."""
        for name, v in features.items():
            if v is None:
                continue
            if name in self._cats:
                if not isinstance(v, str):
                    levels = ", ".join(list(self._cats[name])[:5])
                    raise InvalidFeatureValue(
                        f"feature {name!r} is categorical: expected a text such as {levels}, got {v!r}"
                    )
                continue
            ok = isinstance(v, int | float) and not isinstance(v, bool)
            if not ok or not math.isfinite(float(v)) or abs(float(v)) > FLOAT32_MAX:
                raise InvalidFeatureValue(
                    f"feature {name!r} is numeric: expected a finite number (at most {FLOAT32_MAX:.3g} "
                    f"in size), got {v!r}"
                )

    def feature_names(self) -> list[str]:
        self.model()
        return list(self._columns)
