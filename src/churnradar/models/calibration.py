"""Calibration of monthly hazards, one map per horizon step, fitted on a later time slice.

The hazard model's raw score for step ``k`` (months after ``as_of``) is mapped to a calibrated
hazard ``h_k``; horizon probabilities are then composed as ``1 − Π(1 − h_k)``, so calibrating the
hazards (not the cumulative probabilities) keeps them monotone in the horizon.

- ``platt``: logistic regression of the event on the raw log-odds, per step (two numbers each);
  keeps the ranking strictly.
- ``isotonic``: a non-decreasing step function of the raw score, per step (ties become possible).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from churnradar.errors import ConfigError

METHODS = ("platt", "isotonic", "none")


class CalibrationWarning(UserWarning):
    """A calibration slice is too small or has too few events to trust."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class HazardCalibrator:
    """Per-step map from raw log-odds to a calibrated probability."""

    def __init__(self, method: str = "platt", min_events: int = 20):
        self.method = method
        self.min_events = min_events

    def fit(
        self, raw: np.ndarray, step: np.ndarray, event: np.ndarray, weight: np.ndarray | None = None
    ) -> HazardCalibrator:
        """Fit one map per step; ``weight`` are row weights (a sampled slice: 1 / sampling rate)."""
        if self.method not in METHODS:
            raise ConfigError(f"calibration method {self.method!r} is not known; expected one of {METHODS}")
        raw, step, event = np.asarray(raw, float), np.asarray(step, int), np.asarray(event, float)
        w = None if weight is None else np.asarray(weight, float)
        self.maps_: dict[int, dict[str, Any]] = {}
        for k in np.unique(step):
            m = step == k
            n_events = int(event[m].sum())
            if self.method == "none" or n_events < self.min_events or n_events == m.sum():
                if self.method != "none":
                    warnings.warn(
                        f"calibration slice for step {k} has {n_events} events in {int(m.sum())} rows "
                        f"(fewer than {self.min_events}); step {k} is left uncalibrated",
                        CalibrationWarning,
                        stacklevel=2,
                    )
                self.maps_[int(k)] = {"kind": "none"}
            elif self.method == "platt":
                self.maps_[int(k)] = {
                    "kind": "platt",
                    **_platt(raw[m], event[m], None if w is None else w[m]),
                }
            else:
                from sklearn.isotonic import IsotonicRegression

                iso = IsotonicRegression(y_min=1e-6, y_max=1 - 1e-6, out_of_bounds="clip")
                iso.fit(raw[m], event[m], sample_weight=None if w is None else w[m])
                self.maps_[int(k)] = {
                    "kind": "isotonic",
                    "x": [float(v) for v in iso.X_thresholds_],
                    "y": [float(v) for v in iso.y_thresholds_],
                }
        return self

    def transform(self, raw: np.ndarray, k: int) -> np.ndarray:
        """Calibrated hazard for step ``k`` from raw log-odds ``raw``."""
        known = [s for s in self.maps_ if s <= int(k)] or list(self.maps_)
        m = self.maps_[max(known)] if known else {"kind": "none"}  # unseen steps: nearest lower step
        raw = np.asarray(raw, dtype=np.float64)
        if m["kind"] == "platt":
            return _sigmoid(m["a"] + m["b"] * raw)
        if m["kind"] == "isotonic":
            return np.interp(raw, np.asarray(m["x"]), np.asarray(m["y"]))
        return _sigmoid(raw)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "maps": {str(k): v for k, v in self.maps_.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HazardCalibrator:
        cal = cls(method=d["method"])
        cal.maps_ = {int(k): v for k, v in d["maps"].items()}
        return cal


def _platt(raw: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> dict[str, float]:
    """Logistic regression ``P(y) = σ(a + b·raw)`` by Newton's method (deterministic, no penalty).

    ``weight``: row weights (None: all 1).
    """
    if weight is None:
        ybar, rbar = y.mean(), raw.mean()
    else:
        ybar, rbar = np.average(y, weights=weight), np.average(raw, weights=weight)
    a, b = float(np.log(max(ybar, 1e-6) / max(1 - ybar, 1e-6))) - float(rbar), 1.0
    for _ in range(50):
        p = _sigmoid(a + b * raw)
        w = np.clip(p * (1 - p), 1e-12, None)
        r = p - y
        if weight is not None:
            w, r = w * weight, r * weight
        g = np.array([np.sum(r), np.sum(r * raw)])
        h = np.array([[w.sum(), (w * raw).sum()], [(w * raw).sum(), (w * raw * raw).sum()]])
        h += np.eye(2) * 1e-9
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return {"a": float(a), "b": float(b)}
