"""Scores for the API: stored scores of a subscriber, and a posted feature vector scored by the
model that wrote the stored scores.

A stored subscriber is answered from the ``score`` batch of the requested month (default: the
newest), with the ``model_id`` that wrote it (:func:`churnradar.views.scores.stored_score`): the
web process computes no features. A posted feature vector (what-if analysis) is scored by that
same model (:func:`churnradar.views.model.scoring_model`), loaded once, with the model's own
encoder, calibrated horizon probabilities, health scorer and reason explainer (exact TreeSHAP
reasons through LightGBM), as ``churnradar score`` applies them.
"""

from __future__ import annotations

import contextlib
import math
import threading
from datetime import date
from typing import Any

import numpy as np

from churnradar.api.errors import InvalidFeatureValue, NoModel
from churnradar.api.roles import Scope
from churnradar.errors import ConfigError

__all__ = ["FLOAT32_MAX", "InvalidFeatureValue", "NoModel", "Scorer"]

#: the model computes in float32: a posted number must be finite there
FLOAT32_MAX = float(np.finfo(np.float32).max)


class Scorer:
    """Stored scores of one store, and the model that wrote them for posted feature vectors."""

    def __init__(self, data: Any):
        self.data = data
        self._lock = threading.Lock()
        self._model: tuple[Any, Any] | None = None

    # -- the model that wrote the stored scores ---------------------------------------------------
    def model(self) -> tuple[Any, Any]:
        """(registry record, model) of the newest score batch's ``model_id`` (the newest model of
        the registry before any scoring), loaded once."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from churnradar.models.registry import ModelNotFoundError
                    from churnradar.views.model import scoring_model

                    try:
                        self._model = scoring_model(self.data.store)
                    except ModelNotFoundError as exc:
                        raise NoModel(str(exc)) from None
        return self._model

    @property
    def ready(self) -> bool:
        """The model is loaded: a posted vector is a few milliseconds of CPU."""
        return self._model is not None

    def warm(self) -> None:
        """Load the model now (``churnradar serve`` does it at start)."""
        with contextlib.suppress(NoModel):
            self.model()

    def feature_names(self) -> list[str]:
        return list(self.model()[1].hazard.encoder_.columns_)

    # -- stored scores ------------------------------------------------------------------------------
    def score_stored(self, scope: Scope, subscriber_id: str, month: date | None = None) -> dict[str, Any]:
        """The stored score of one subscriber in scope (the batch of ``month``, default the newest)."""
        if self.data.score_info()["state"] != "scored":
            raise NoModel(
                "nothing is scored yet: run `churnradar train` and `churnradar score` on this store"
            )
        row = self.data.stored_score(scope, subscriber_id, month)
        return {
            "subscriber_id": subscriber_id,
            "source": "stored_score",
            "features_as_of": row.get("as_of"),
            **row,
        }

    # -- posted feature vectors ---------------------------------------------------------------------
    def score_features(self, features: dict[str, Any]) -> dict[str, Any]:
        """Score a posted feature vector (missing features are null; unknown names are refused)."""
        import pyarrow as pa

        from churnradar.models.health import risk_level

        record, model = self.model()
        enc = model.hazard.encoder_
        columns = list(enc.columns_)
        known = set(columns) | set(model.health.reference_)
        unknown = sorted(set(features) - known)
        if unknown:
            raise ConfigError(
                f"unknown feature(s) {', '.join(unknown[:8])}; the model reads {len(columns)} features "
                "(see GET /api/model for their names)"
            )
        self._check_values(features, enc.categories_)
        row = {
            name: pa.array([features.get(name)], pa.string() if name in enc.categories_ else pa.float64())
            for name in sorted(known)
        }
        table = pa.table(row)
        X = model.hazard.transform_features(table)
        p = model.hazard.proba_from_raw(model.hazard.decision_function(X))[0]
        booster = model.hazard.booster_
        reasons = model.explainer.explain(booster, X, "exact")
        health = {k: float(v[0]) for k, v in model.health.transform(table).items()}
        return {
            "source": "posted_features",
            "model_id": record.model_id,
            **{c: round(float(v), 6) for c, v in zip(model.proba_columns, p, strict=True)},
            "risk_level": str(risk_level(np.array([p[-1]]), model.base_rate)[0]),
            "reasons": [
                {"reason": code, "driver": driver, "size": round(float(size), 6)}
                for code, driver, size in zip(
                    reasons["code"][0], reasons["driver"][0], reasons["size"][0], strict=True
                )
                if code is not None
            ],
            **health,
        }

    @staticmethod
    def _check_values(features: dict[str, Any], categories: dict[str, list[str]]) -> None:
        """Each value against its feature: text for categorical features, a finite number (not a
        boolean, within float32) for numeric ones; null is always allowed."""
        for name, v in features.items():
            if v is None:
                continue
            if name in categories:
                if not isinstance(v, str):
                    levels = ", ".join(list(categories[name])[:5])
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
