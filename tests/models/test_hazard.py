"""The hazard model: panel construction, monotone horizons, calibration slice, determinism, contract."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.models.conftest import SMALL, read_scores

from churnradar.errors import ConfigError
from churnradar.models.hazard import ChurnHazardModel, hazard_panel


def _labels(ids, churn_step, already=()):
    cols = {"subscriber_id": ids, "already_churned": [i in already for i in ids]}
    for h in (1, 2, 3):
        cols[f"churn_within_{h}m"] = [churn_step.get(i, 99) <= h for i in ids]
    return pa.table(cols)


def _synthetic_panel(n=3000, months=(2, 3, 4, 5), seed=0):
    rng = np.random.default_rng(seed)
    feats, labs = {}, {}
    for m in months:
        ids = [f"S{i:05d}" for i in range(n)]
        x1 = rng.normal(size=n)
        x2 = rng.uniform(size=n)
        cat = rng.choice(["a", "b", "c"], size=n).tolist()
        feats[date(2024, m, 1)] = pa.table(
            {
                "subscriber_id": ids,
                "x1": x1,
                "x2": np.where(rng.uniform(size=n) < 0.1, np.nan, x2),
                "cat": cat,
            }
        )
        h = 1 / (1 + np.exp(-(-3.5 + 1.2 * x1)))
        steps = {}
        for i, s in enumerate(ids):
            for k in (1, 2, 3):
                if rng.uniform() < h[i]:
                    steps[s] = k
                    break
        labs[date(2024, m, 1)] = _labels(ids, steps)
    return hazard_panel(feats, labs, 3, date(2024, 6, 1))


def test_panel_keeps_the_risk_set_and_stops_at_the_event():
    ids = ["A", "B", "C"]
    feats = {date(2024, 3, 1): pa.table({"subscriber_id": ids, "x": [1.0, 2.0, 3.0]})}
    labs = {date(2024, 3, 1): _labels(ids, {"A": 2}, already={"C"})}
    panel = hazard_panel(feats, labs, 3, date(2024, 12, 1)).to_pylist()
    rows = {(r["subscriber_id"], r["step"]): r["event"] for r in panel}
    # A churns in step 2: at risk in steps 1 and 2 only; B never churns; C had already churned
    assert rows == {("A", 1): False, ("A", 2): True, ("B", 1): False, ("B", 2): False, ("B", 3): False}


def test_panel_never_uses_outcomes_after_the_cutoff():
    ids = ["A", "B"]
    feats = {date(2024, 5, 1): pa.table({"subscriber_id": ids, "x": [1.0, 2.0]})}
    labs = {date(2024, 5, 1): _labels(ids, {"A": 3})}
    panel = hazard_panel(feats, labs, 3, date(2024, 6, 1))
    assert set(panel.column("step").to_pylist()) == {1}  # 2024-05 + 1 = 2024-06 is the last outcome month


def test_horizon_probabilities_are_monotone(trained_store):
    s = read_scores(trained_store.store)
    p = s[["p_churn_1m", "p_churn_2m", "p_churn_3m"]].to_numpy()
    assert len(p) > 1000
    assert (np.diff(p, axis=1) >= 0).all()
    assert ((p >= 0) & (p <= 1)).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=1, max_size=50))
def test_horizon_probabilities_are_monotone_for_any_raw_score(raw):
    model = _fitted()
    p = model.proba_from_raw(np.asarray(raw))
    assert (np.diff(p, axis=1) >= -1e-15).all()


_MODEL = {}


def _fitted() -> ChurnHazardModel:
    if "m" not in _MODEL:
        _MODEL["m"] = ChurnHazardModel(**SMALL).fit(_synthetic_panel())
    return _MODEL["m"]


def test_calibration_uses_the_last_outcome_month_only():
    m = _fitted()
    assert m.calibration_outcome_months_ == [date(2024, 6, 1)]
    assert max(m.train_outcome_months_) < date(2024, 6, 1)


def test_model_recovers_the_true_risk_ordering():
    from churnradar.evaluate.metrics import roc_auc

    panel = _synthetic_panel(seed=1)
    m = _fitted()
    last = panel.filter(pa.compute.equal(panel.column("step"), 1))
    p = m.predict_proba(last)["p_churn_1m"].to_numpy()
    assert roc_auc(last.column("event").to_numpy(zero_copy_only=False), p) > 0.7


def test_same_data_and_seed_give_an_identical_model():
    panel = _synthetic_panel()
    a = ChurnHazardModel(**SMALL).fit(panel)
    b = ChurnHazardModel(**SMALL).fit(panel)
    assert a.booster_.model_to_string() == b.booster_.model_to_string()
    assert a.to_dict() == b.to_dict()
    c = ChurnHazardModel(**{**SMALL, "random_state": 1, "feature_fraction": 0.5}).fit(panel)
    assert c.booster_.model_to_string() != a.booster_.model_to_string()


def test_estimator_follows_the_scikit_learn_contract():
    m = ChurnHazardModel(horizons=(1, 3), n_estimators=5)
    assert vars(m)["horizons"] == (1, 3)  # __init__ only stores
    assert not [k for k in vars(m) if k.endswith("_")]
    with pytest.raises(ConfigError, match="not fitted"):
        m.predict_proba(pa.table({"x": [1.0]}))
    with pytest.raises(ConfigError, match="horizons"):
        ChurnHazardModel(horizons=(3, 1)).fit(_synthetic_panel(n=200, months=(2, 3)))
    fitted = ChurnHazardModel(horizons=(1, 3), **SMALL).fit(_synthetic_panel(n=500))
    assert list(fitted.predict_proba(_synthetic_panel(n=50)).columns) == ["p_churn_1m", "p_churn_3m"]


def test_model_round_trips_through_its_artifact():
    m = _fitted()
    again = ChurnHazardModel.from_dict(m.to_dict())
    panel = _synthetic_panel(n=300)
    np.testing.assert_array_equal(m.predict_proba(panel).to_numpy(), again.predict_proba(panel).to_numpy())


def test_compiled_scorer_gives_lightgbm_raw_scores_exactly(trained_store):
    from churnradar.features import compute_features
    from churnradar.models.registry import load_model
    from churnradar.store.backends import open_backend

    _, model = load_model(trained_store.store)
    bk = open_backend(trained_store.store)
    feats = compute_features(bk, "2024-06", model.meta["feature_set"]).to_pyarrow()
    bk.close()
    X = model.hazard.transform_features(feats)
    assert np.isnan(X).any()  # missing values and categories are exercised
    expected = model.hazard.booster_.predict(X, raw_score=True)
    trees = model.trees
    assert trees.lut  # small trees: the lookup-table path
    for lut in (True, False):  # and the tree walk used for bigger trees
        trees.lut = lut
        np.testing.assert_allclose(trees.predict_raw(X), expected, rtol=0, atol=1e-9)
        contrib = trees.path_contributions(X, np.eye(X.shape[1]))
        np.testing.assert_allclose(contrib.sum(axis=1) + trees.bias, expected, atol=1e-9)
    trees.lut = True
