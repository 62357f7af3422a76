"""The issue's acceptance figures on a simulated operator (20,000 subscribers × 12 months): slow."""

from __future__ import annotations

from datetime import date

import pytest

from churnradar.evaluate.backtest import backtest_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def operator20k(tmp_path_factory):
    from tests.conftest import build_operator

    return build_operator(tmp_path_factory.mktemp("op20k"), subscribers=20_000, months=12, seed=7)


@pytest.fixture(scope="module")
def result(operator20k):
    return backtest_store(operator20k.store)


def test_hazard_model_beats_both_baselines_on_auc_and_lift(result):
    for h in result.horizons:
        means = result.means(h)
        for base in ("logistic", "arpu_rule"):
            assert means["hazard"]["roc_auc"] > means[base]["roc_auc"], (h, base, means)
            assert means["hazard"]["top_decile_lift"] > means[base]["top_decile_lift"], (h, base, means)


def test_calibrated_probabilities_have_ece_at_most_2_points(result):
    for r in result.rows:
        if r["model"] == "hazard":
            assert r["ece"] <= 0.02, r


def test_horizon_probabilities_are_monotone_for_every_subscriber(result):
    assert result.monotone_violations == 0


def test_top_reason_agreement_with_the_simulator_truth(operator20k, tmp_path):
    """Reported, with the part of the truth that leaves evidence in the data (see docs/model.md).

    Measured on this operator (benchmarks/RESULTS.md "Top reason: prepaid unpaid amounts and
    neighbours who just left"): 0.51 of all top-decile churners, 0.82 of those whose true mechanism
    leaves evidence, social contagion 0.91 (43 churners); 0.79 and 0.79 without this issue's reason
    changes. About half the churners leave for a reason drawn at random with no trace in the data.
    Arrears non-payment is not asserted: its onset is a memoryless draw with nothing in the data
    before the month the line stops paying (2 of 12 churners here).
    """
    import shutil

    import duckdb

    from churnradar.evaluate.reasons import reason_agreement
    from churnradar.models import score_store, train_store

    store = tmp_path / "store.duckdb"
    shutil.copy(operator20k.store, store)
    # a budget the search never reaches (all 11 configurations take about a minute even on a busy
    # machine): the same model whatever the load, as `train` gives on a quiet machine
    train_store(store, "2024-06", params={"search_budget": 900})
    score_store(store, "2024-06")
    scores = duckdb.connect(str(store), read_only=True).sql("SELECT * FROM score").df()
    r = reason_agreement(scores, operator20k.truth, date(2024, 6, 1))
    print(r)
    assert r["agreement_with_evidence"] >= 0.80, r
    assert r["by_mechanism"]["social_contagion"]["agree"] >= 0.70, r
    assert r["agreement"] >= 0.45, r
