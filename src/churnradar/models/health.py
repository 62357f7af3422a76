"""Health score (健康度, 0–100) and risk level per subscriber.

The health score combines four components, each 0–100 (higher = healthier):

| component | features (↑ healthier, ↓ less healthy) |
|---|---|
| attributes 属性 | tenure_months ↑, package_fee ↑, is_premium_brand ↑, is_prepaid ↓ |
| consumption 消费 | arpu_3m_mean ↑, arpu_6m_cv ↓ (volatility), mou_3m_mean ↑, data_mb_3m_mean ↑, sms_3m_mean ↑, active_days_3m_mean ↑ (breadth), arpu_decline_months_3m ↓ |
| service 服务交互 | complaints_6m ↓, complaints_unresolved_6m ↓, inquiries_3m ↓, regulator_escalations_12m ↓, arrears_months_6m ↓ |
| social 社交粘性 | call_peers_3m ↑ (number stickiness), onnet_share_3m ↑, in_family_group ↑, family_group_size ↑, competitor_share_3m ↓, customer_lines ↑ |

Each feature is placed on the model's reference distribution (percentiles of the training
population, stored with the model, so a score means the same month after month and on every
backend): value at the p-th percentile scores p (↑) or 100 − p (↓); ties take the middle of their
percentile range; a missing value scores 50. A component is the mean of its features; the health
score the weighted mean of the components (equal weights by default).

Risk levels come from the calibrated probability of churn within the longest horizon, relative to
the base rate the model was calibrated on: ``low`` below the base rate, ``medium`` up to 2×,
``high`` up to 4×, ``very_high`` above 4×.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

HEALTH_COMPONENTS: dict[str, list[tuple[str, int]]] = {
    "attributes": [("tenure_months", 1), ("package_fee", 1), ("is_premium_brand", 1), ("is_prepaid", -1)],
    "consumption": [
        ("arpu_3m_mean", 1),
        ("arpu_6m_cv", -1),
        ("mou_3m_mean", 1),
        ("data_mb_3m_mean", 1),
        ("sms_3m_mean", 1),
        ("active_days_3m_mean", 1),
        ("arpu_decline_months_3m", -1),
    ],
    "service": [
        ("complaints_6m", -1),
        ("complaints_unresolved_6m", -1),
        ("inquiries_3m", -1),
        ("regulator_escalations_12m", -1),
        ("arrears_months_6m", -1),
    ],
    "social": [
        ("call_peers_3m", 1),
        ("onnet_share_3m", 1),
        ("in_family_group", 1),
        ("family_group_size", 1),
        ("competitor_share_3m", -1),
        ("customer_lines", 1),
    ],
}

HEALTH_LABELS = {
    "attributes": ("attributes", "属性"),
    "consumption": ("consumption", "消费"),
    "service": ("service interaction", "服务交互"),
    "social": ("social ties", "社交粘性"),
}

RISK_LEVELS: dict[str, tuple[str, str]] = {
    "low": ("low", "低"),
    "medium": ("medium", "中"),
    "high": ("high", "高"),
    "very_high": ("very high", "极高"),
}

#: Risk level boundaries as multiples of the base rate.
RISK_MULTIPLES = (1.0, 2.0, 4.0)


def _column(table: pa.Table, name: str) -> np.ndarray | None:
    if name not in table.column_names:
        return None
    return table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False)


class HealthScorer:
    """Fits reference percentiles on a population; scores health 0–100 and its components."""

    def __init__(self, weights: Mapping[str, float] | None = None, quantiles: int = 100):
        self.weights = weights
        self.quantiles = quantiles

    def fit(self, features: pa.Table) -> HealthScorer:
        self.reference_: dict[str, list[float]] = {}
        probs = np.linspace(0, 1, self.quantiles + 1)
        for items in HEALTH_COMPONENTS.values():
            for name, _ in items:
                v = _column(features, name)
                if v is None or np.isnan(v).all():
                    continue
                self.reference_[name] = [float(q) for q in np.nanquantile(v, probs)]
        self.weights_ = dict(self.weights or {c: 1.0 for c in HEALTH_COMPONENTS})
        return self

    def _feature_score(self, name: str, v: np.ndarray, direction: int) -> np.ndarray:
        q = np.asarray(self.reference_[name])
        lo = np.searchsorted(q, v, side="left")
        hi = np.searchsorted(q, v, side="right")
        pct = np.clip((lo + hi) / 2 / len(q), 0, 1) * 100
        score = pct if direction > 0 else 100 - pct
        return np.where(np.isnan(v), 50.0, score)

    def transform(self, features: pa.Table) -> dict[str, np.ndarray]:
        """``health_score`` and ``health_<component>`` arrays (0–100, rounded to 0.1)."""
        n = features.num_rows
        out: dict[str, np.ndarray] = {}
        total = np.zeros(n)
        wsum = 0.0
        for comp, items in HEALTH_COMPONENTS.items():
            scores = []
            for name, direction in items:
                v = _column(features, name)
                if v is None or name not in self.reference_:
                    continue
                scores.append(self._feature_score(name, v, direction))
            c = np.mean(scores, axis=0) if scores else np.full(n, 50.0)
            out[f"health_{comp}"] = np.round(c, 1)
            w = float(self.weights_.get(comp, 0.0))
            total += w * c
            wsum += w
        out["health_score"] = np.round(total / wsum if wsum else np.full(n, 50.0), 1)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights_, "quantiles": self.quantiles, "reference": self.reference_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HealthScorer:
        h = cls(weights=d["weights"], quantiles=d["quantiles"])
        h.weights_ = dict(d["weights"])
        h.reference_ = {k: list(v) for k, v in d["reference"].items()}
        return h


def risk_level(p: np.ndarray, base_rate: float, multiples: tuple[float, ...] = RISK_MULTIPLES) -> np.ndarray:
    """``low`` / ``medium`` / ``high`` / ``very_high`` from probabilities and the base rate."""
    edges = np.asarray(multiples) * base_rate
    idx = np.searchsorted(edges, np.asarray(p), side="right")
    return np.asarray(list(RISK_LEVELS), dtype=object)[idx]
