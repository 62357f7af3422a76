"""The churn model as stored and applied: hazard model + reasons + health + what it was trained on.

:class:`ChurnModel` turns a feature table (one row per subscriber) into ``score`` rows: horizon
probabilities, health score and components, risk level and the top reasons. It is plain data plus
a LightGBM model string, serialised to one artifact (:meth:`to_bytes`) that the registry stores and
Spark workers load.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from churnradar.errors import ConfigError
from churnradar.models.explain import ReasonExplainer, reason_label
from churnradar.models.hazard import ChurnHazardModel
from churnradar.models.health import HealthScorer, risk_level

ARTIFACT_FORMAT = "churnradar.churn_model/1"


@dataclass
class ChurnModel:
    """A fitted hazard model with its reason map, health reference and provenance."""

    hazard: ChurnHazardModel
    explainer: ReasonExplainer
    health: HealthScorer
    base_rate: float
    meta: dict[str, Any] = field(default_factory=dict)
    _trees: Any = field(default=None, repr=False, compare=False)

    @property
    def trees(self) -> Any:
        if self._trees is None:
            from churnradar.models.treescore import CompiledTrees

            self._trees = CompiledTrees.from_booster(self.hazard.booster_)
        return self._trees

    @property
    def proba_columns(self) -> list[str]:
        return self.hazard.proba_columns

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        """Horizon probabilities from an encoded matrix (compiled scorer; equals LightGBM's)."""
        return self.hazard.proba_from_raw(self.trees.predict_raw(X))

    def score(self, features: pa.Table, reasons: str | None = "path") -> pa.Table:
        """Score rows for ``features`` (must have ``subscriber_id`` and the model's feature columns).

        ``reasons``: ``"path"`` (fast), ``"exact"`` (TreeSHAP) or None (no reasons).
        """
        if "subscriber_id" not in features.column_names:
            raise ConfigError("the feature table has no subscriber_id column")
        X = self.hazard.transform_features(features)
        p = self.probabilities(X)
        cols: dict[str, Any] = {"subscriber_id": features.column("subscriber_id")}
        for j, name in enumerate(self.proba_columns):
            cols[name] = pa.array(p[:, j])
        for name, v in self.health.transform(features).items():
            cols[name] = pa.array(v)
        cols["risk_level"] = pa.array(risk_level(p[:, -1], self.base_rate).tolist(), pa.string())
        if reasons is not None:
            cols.update(self.reason_columns(X, reasons))
        return pa.table(cols)

    def reason_columns(self, X: np.ndarray, method: str) -> dict[str, pa.Array]:
        r = self.explainer.explain(self.hazard.booster_, X, method=method, trees=self.trees)
        out: dict[str, pa.Array] = {}
        for t in range(self.explainer.top):
            codes = r["code"][:, t].tolist()
            out[f"reason_{t + 1}"] = pa.array(codes, pa.string())
            out[f"reason_{t + 1}_driver"] = pa.array(r["driver"][:, t].tolist(), pa.string())
            out[f"reason_{t + 1}_size"] = pa.array(np.round(r["size"][:, t], 6))
            out[f"reason_{t + 1}_zh"] = pa.array([reason_label(c, "zh") for c in codes], pa.string())
            out[f"reason_{t + 1}_en"] = pa.array([reason_label(c, "en") for c in codes], pa.string())
        out["reason_method"] = pa.array([method] * X.shape[0], pa.string())
        return out

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": ARTIFACT_FORMAT,
            "hazard": self.hazard.to_dict(),
            "explainer": self.explainer.to_dict(),
            "health": self.health.to_dict(),
            "base_rate": self.base_rate,
            "meta": self.meta,
        }

    def to_bytes(self) -> bytes:
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        return zlib.compress(text.encode("utf-8"), 6)

    @property
    def model_id(self) -> str:
        """Content hash of the artifact: the same data, parameters and seed give the same id.

        The capacity search's timings are left out of the hash (a search that ends within its time
        budget chooses the same whatever the machine's speed; one cut short says ``budget_reached``).
        """
        d = self.to_dict()
        search = dict(d["hazard"].get("search") or {})
        if search:
            search.pop("seconds", None)
            search["trials"] = [
                {k: v for k, v in t.items() if k != "seconds"} for t in search.get("trials", [])
            ]
            d["hazard"] = {**d["hazard"], "search": search}
        text = json.dumps(d, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @classmethod
    def from_bytes(cls, blob: bytes) -> ChurnModel:
        try:
            d = json.loads(zlib.decompress(blob).decode("utf-8"))
        except (zlib.error, ValueError) as exc:
            raise ConfigError(f"the model artifact cannot be read: {exc}") from None
        if d.get("format") != ARTIFACT_FORMAT:
            raise ConfigError(f"model artifact format {d.get('format')!r} is not {ARTIFACT_FORMAT!r}")
        return cls(
            hazard=ChurnHazardModel.from_dict(d["hazard"]),
            explainer=ReasonExplainer.from_dict(d["explainer"]),
            health=HealthScorer.from_dict(d["health"]),
            base_rate=float(d["base_rate"]),
            meta=dict(d["meta"]),
        )
