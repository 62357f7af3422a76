"""Curve points of a churn score against what happened: ROC, cumulative gain and lift, reliability.

A few hundred points per curve, small enough to keep in the model registry beside the metrics
(the calibration slice's curves, written at training time) and to draw on the dashboard. Row
weights (the training sample's ``1 / sample rate``) count each row as that many subscribers.

>>> c = curve_points([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6])
>>> c["roc"]["tpr"][-1], c["gain"]["captured"][-1]
(1.0, 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from churnradar.errors import ConfigError

#: Points kept per curve (ROC and gain: at evenly spaced shares of the rows, by weight).
POINTS = 100
#: Equal-weight bins of the reliability curve.
RELIABILITY_BINS = 10


def curve_points(
    y: Any, p: Any, weight: Any = None, points: int = POINTS, bins: int = RELIABILITY_BINS
) -> dict[str, Any]:
    """ROC (``fpr``, ``tpr``), gain (``share`` of rows targeted by descending score, ``captured``
    share of churners, ``lift``) and reliability (``predicted``, ``observed``, ``count`` per bin)
    of score ``p`` against outcome ``y`` (0/1); ``rows`` and ``events`` (weighted)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    w = np.ones_like(y) if weight is None else np.asarray(weight, dtype=np.float64).ravel()
    if not (len(y) == len(p) == len(w)):
        raise ConfigError(
            f"y has {len(y)} values, the scores {len(p)} and the weights {len(w)}; they must match"
        )
    if len(y) == 0:
        raise ConfigError("no rows to draw curves from")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ConfigError(f"y must be 0/1; found {np.unique(y[~np.isin(y, (0.0, 1.0))])[:5].tolist()}")
    if points < 2 or bins < 1:
        raise ConfigError(f"points {points} and bins {bins}: expected at least 2 points and 1 bin")
    order = np.argsort(-p, kind="stable")
    ys, ws, ps = y[order], w[order], p[order]
    # cut only between distinct scores: tied rows are targeted together
    ends = np.r_[np.flatnonzero(np.diff(ps) != 0), len(ps) - 1]
    cw = np.cumsum(ws)[ends]
    cpos = np.cumsum(ws * ys)[ends]
    total, pos = float(cw[-1]), float(cpos[-1])
    neg = total - pos
    share = np.r_[0.0, cw / total]
    tpr = np.r_[0.0, cpos / pos] if pos > 0 else np.full(len(share), np.nan)
    fpr = np.r_[0.0, (cw - cpos) / neg] if neg > 0 else np.full(len(share), np.nan)
    keep = _thin(share, points)
    rate = pos / total
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(share[keep] > 0, tpr[keep] / share[keep], np.nan)
    rel = _reliability(y, p, w, bins)
    return {
        "rows": round(total, 3),
        "events": round(pos, 3),
        "rate": round(rate, 6),
        "roc": {"fpr": _round(fpr[keep]), "tpr": _round(tpr[keep])},
        "gain": {"share": _round(share[keep]), "captured": _round(tpr[keep]), "lift": _round(lift)},
        "reliability": rel,
    }


def _thin(share: np.ndarray, points: int) -> np.ndarray:
    """Indexes of the cut-offs nearest to ``points`` evenly spaced shares (first and last kept)."""
    targets = np.linspace(0.0, 1.0, points)
    idx = np.searchsorted(share, targets, side="left").clip(0, len(share) - 1)
    return np.unique(np.r_[0, idx, len(share) - 1])


def _reliability(y: np.ndarray, p: np.ndarray, w: np.ndarray, bins: int) -> dict[str, list]:
    """Equal-weight bins of the predicted probability: weighted mean prediction and outcome, rows."""
    order = np.argsort(p, kind="stable")
    cw = np.cumsum(w[order])
    edges = np.searchsorted(cw, cw[-1] * np.arange(1, bins) / bins, side="right")
    out: dict[str, list] = {"predicted": [], "observed": [], "count": []}
    for g in np.split(order, edges):
        if len(g) and w[g].sum() > 0:
            out["predicted"].append(round(float(np.average(p[g], weights=w[g])), 6))
            out["observed"].append(round(float(np.average(y[g], weights=w[g])), 6))
            out["count"].append(len(g))
    return out


def _round(a: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 5) for v in a]
