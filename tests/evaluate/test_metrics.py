"""Metrics: values on hand-checked examples, ties, calibration, profit, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from churnradar.errors import ConfigError
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


def test_roc_auc_counts_ordered_pairs_and_ties_half():
    y = [0, 0, 1, 1]
    assert roc_auc(y, [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert np.isnan(roc_auc([0, 0], [0.1, 0.2]))


def test_pr_auc_is_one_for_a_perfect_ranking():
    assert pr_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0


def test_top_decile_lift_of_a_perfect_and_a_random_ranking():
    y = np.r_[np.ones(10), np.zeros(90)]
    assert top_decile_lift(y, np.linspace(1, 0, 100)) == pytest.approx(10.0)
    assert top_decile_lift(y, np.zeros(100)) == pytest.approx(1.0)  # all tied: shared pro rata


def test_top_decile_lift_shares_ties_at_the_cut_pro_rata():
    # a binary rule flags 20 rows with 8 churners; the top 10% (10 rows) hold 4 expected churners
    y = np.r_[np.ones(8), np.zeros(12), np.ones(2), np.zeros(78)]
    score = np.r_[np.ones(20), np.zeros(80)]
    assert top_decile_lift(y, score) == pytest.approx((4 / 10) / 0.10)


def test_brier_and_calibration_of_a_calibrated_forecast():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.3, 200_000)
    y = rng.uniform(size=p.size) < p
    assert expected_calibration_error(y, p) < 0.005
    assert expected_calibration_error(y, np.clip(p * 2, 0, 1)) > 0.1
    assert brier_score([0, 1], [0.0, 1.0]) == 0.0 and brier_score([0, 1], [1.0, 0.0]) == 1.0
    r = reliability_curve(y, p, bins=10)
    assert sum(r.count) == p.size and len(r.predicted) == 10
    assert np.allclose(r.predicted, r.observed, atol=0.01)


def test_emp_rewards_a_better_ranking_and_a_higher_clv():
    rng = np.random.default_rng(1)
    y = (rng.uniform(size=5000) < 0.1).astype(int)
    good = y + rng.normal(0, 0.5, y.size)
    noise = rng.normal(size=y.size)
    assert emp(y, good)["emp"] > emp(y, noise)["emp"] >= 0
    assert emp(y, good, clv=400)["emp"] > emp(y, good)["emp"]
    assert 0 < emp(y, good)["fraction"] < 0.3


def test_metrics_refuse_bad_input_naming_it():
    with pytest.raises(ConfigError, match="y has 2 values but the scores have 3"):
        roc_auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ConfigError, match=r"y must be 0/1; found \[2\.0\]"):
        brier_score([0, 2], [0.1, 0.2])
    with pytest.raises(ConfigError, match="NaN"):
        top_decile_lift([0, 1], [np.nan, 0.2])
    with pytest.raises(ConfigError, match="clv"):
        emp([0, 1], [0.1, 0.2], clv=0)


def test_evaluate_scores_has_every_metric():
    out = evaluate_scores([0, 1, 0, 1, 0], [0.1, 0.9, 0.2, 0.7, 0.3])
    assert {"roc_auc", "pr_auc", "top_decile_lift", "brier", "ece", "emp", "reliability"} <= set(out)
