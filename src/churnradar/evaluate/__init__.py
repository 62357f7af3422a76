"""Model evaluation: metrics (discrimination, lift, calibration, profit) and time-based backtests."""

from churnradar.evaluate.metrics import (
    brier_score,
    emp,
    evaluate_scores,
    expected_calibration_error,
    pr_auc,
    reliability_curve,
    roc_auc,
    top_decile_lift,
)

__all__ = [
    "brier_score",
    "emp",
    "evaluate_scores",
    "expected_calibration_error",
    "pr_auc",
    "reliability_curve",
    "roc_auc",
    "top_decile_lift",
]
