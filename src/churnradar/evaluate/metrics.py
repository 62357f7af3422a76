"""Churn model metrics: ROC-AUC, PR-AUC, top-decile lift, Brier, ECE with a reliability curve, EMP.

Every function takes the true outcome ``y`` (0/1, bool) and a score ``p`` (higher = more likely to
churn; a probability where calibration or profit is measured) as array-likes of equal length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from churnradar.errors import ConfigError


def _arrays(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ConfigError(f"y has {y.size} values but the scores have {p.size}; they must match")
    if y.size == 0:
        raise ConfigError("no rows to evaluate")
    if np.isnan(p).any():
        raise ConfigError(f"{int(np.isnan(p).sum())} scores are NaN; every row needs a score")
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise ConfigError(f"y must be 0/1; found {np.unique(y[bad])[:5].tolist()}")
    return y, p


def roc_auc(y: Any, p: Any) -> float:
    """Area under the ROC curve (ties count half); NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    y, p = _arrays(y, p)
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, p))


def pr_auc(y: Any, p: Any) -> float:
    """Area under the precision-recall curve (average precision); NaN without positives."""
    from sklearn.metrics import average_precision_score

    y, p = _arrays(y, p)
    if y.max() == 0:
        return float("nan")
    return float(average_precision_score(y, p))


def top_decile_lift(y: Any, p: Any, share: float = 0.1) -> float:
    """Churn rate among the ``share`` highest scores divided by the overall rate.

    Ties at the cut-off are shared out pro rata (a binary rule is not favoured by row order).
    """
    y, p = _arrays(y, p)
    if not 0 < share <= 1:
        raise ConfigError(f"share {share} must be in (0, 1]")
    base = y.mean()
    if base == 0:
        return float("nan")
    n = len(y)
    k = share * n
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    cut = ps[min(int(np.ceil(k)) - 1, n - 1)]
    above = ps > cut
    tied = ps == cut
    n_above = int(above.sum())
    take_tied = k - n_above
    hits = ys[above].sum() + (ys[tied].mean() * take_tied if tied.any() else 0.0)
    return float((hits / k) / base)


def brier_score(y: Any, p: Any) -> float:
    """Mean squared difference between the probability and the outcome."""
    y, p = _arrays(y, p)
    return float(np.mean((p - y) ** 2))


@dataclass
class Reliability:
    """A reliability curve: per bin the mean predicted probability, the observed rate and the count."""

    predicted: list[float]
    observed: list[float]
    count: list[int]

    def to_dict(self) -> dict[str, list]:
        return {"predicted": self.predicted, "observed": self.observed, "count": self.count}


def reliability_curve(y: Any, p: Any, bins: int = 10, strategy: str = "quantile") -> Reliability:
    """Bins of predicted probability: ``quantile`` (equal counts, default) or ``uniform`` (equal width).

    Churn probabilities crowd near zero, so equal-width bins put almost every row in the first bin;
    equal-count bins show the calibration where the subscribers are.
    """
    y, p = _arrays(y, p)
    if strategy == "quantile":
        order = np.argsort(p, kind="stable")
        groups = np.array_split(order, min(bins, len(p)))
    elif strategy == "uniform":
        idx = np.clip((p * bins).astype(int), 0, bins - 1)
        groups = [np.flatnonzero(idx == b) for b in range(bins)]
    else:
        raise ConfigError(f"strategy {strategy!r} is not known; expected 'quantile' or 'uniform'")
    groups = [g for g in groups if len(g)]
    return Reliability(
        predicted=[float(p[g].mean()) for g in groups],
        observed=[float(y[g].mean()) for g in groups],
        count=[len(g) for g in groups],
    )


def expected_calibration_error(y: Any, p: Any, bins: int = 10, strategy: str = "quantile") -> float:
    """Count-weighted mean |mean predicted − observed rate| over the reliability bins."""
    r = reliability_curve(y, p, bins, strategy)
    n = sum(r.count)
    return float(sum(c * abs(a - b) for a, b, c in zip(r.predicted, r.observed, r.count, strict=True)) / n)


def emp(
    y: Any,
    p: Any,
    clv: float = 200.0,
    offer_cost: float = 10.0,
    contact_cost: float = 1.0,
    accept_alpha: float = 6.0,
    accept_beta: float = 14.0,
) -> dict[str, float]:
    """Expected maximum profit of a retention campaign (Verbraken, Verbeke & Baesens, 2013).

    Targeting the top share ``η`` of customers by score, a targeted churner accepts the offer with
    probability ``γ`` ~ Beta(``accept_alpha``, ``accept_beta``) and is then kept (worth ``clv`` minus
    ``offer_cost``); every targeted non-churner takes the offer (costs ``offer_cost``); every
    contact costs ``contact_cost``. For each γ the best cut-off is chosen; EMP is the expected
    profit per customer over γ, and ``fraction`` the expected share targeted. Defaults are
    Verbraken's (CLV 200, δ = 10/200, φ = 1/200, Beta(6, 14): mean acceptance 30%).
    """
    from scipy import stats

    y, p = _arrays(y, p)
    for name, v in (("clv", clv), ("accept_alpha", accept_alpha), ("accept_beta", accept_beta)):
        if v <= 0:
            raise ConfigError(f"{name} = {v} must be positive")
    if offer_cost < 0 or contact_cost < 0:
        raise ConfigError("offer_cost and contact_cost must not be negative")
    n = len(y)
    order = np.argsort(-p, kind="stable")
    ys = y[order]
    # cut-offs only between distinct scores (ties are targeted together)
    ps = p[order]
    ends = np.r_[np.flatnonzero(np.diff(ps) != 0) + 1, n]
    churners = np.r_[0.0, np.cumsum(ys)[ends - 1]]
    targeted = np.r_[0.0, ends.astype(float)]
    stayers = targeted - churners
    gammas = np.linspace(0.0005, 0.9995, 1000)
    weights = stats.beta.pdf(gammas, accept_alpha, accept_beta)
    weights = weights / weights.sum()
    best_profit = np.empty_like(gammas)
    best_frac = np.empty_like(gammas)
    for i, g in enumerate(gammas):
        profit = (
            churners * (g * (clv - offer_cost) - contact_cost) - stayers * (offer_cost + contact_cost)
        ) / n
        j = int(np.argmax(profit))
        best_profit[i], best_frac[i] = profit[j], targeted[j] / n
    return {"emp": float(weights @ best_profit), "fraction": float(weights @ best_frac)}


def evaluate_scores(
    y: Any, p: Any, *, bins: int = 10, emp_params: dict[str, float] | None = None
) -> dict[str, Any]:
    """Every metric of one score vector, as a dict (the backtest's table row)."""
    y, p = _arrays(y, p)
    e = emp(y, p, **(emp_params or {}))
    return {
        "n": len(y),
        "positives": int(y.sum()),
        "rate": float(y.mean()),
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "top_decile_lift": top_decile_lift(y, p),
        "brier": brier_score(y, p),
        "ece": expected_calibration_error(y, p, bins),
        "emp": e["emp"],
        "emp_fraction": e["fraction"],
        "reliability": reliability_curve(y, p, bins).to_dict(),
    }
