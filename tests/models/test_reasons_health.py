"""Reasons (taxonomy codes with zh/en labels, exact for the riskiest) and the health score."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from tests.models.conftest import read_scores

from churnradar.models.explain import ReasonExplainer, feature_reason_map, reason_label
from churnradar.models.health import HEALTH_COMPONENTS, HealthScorer, risk_level
from churnradar.schema.enums import DRIVER, REASON_CODE


def test_reasons_are_taxonomy_codes_with_zh_and_en_labels(trained_store):
    s = read_scores(trained_store.store)
    for t in (1, 2, 3):
        codes = s[f"reason_{t}"].dropna()
        assert set(codes) <= set(REASON_CODE)
        labels = s.loc[codes.index, [f"reason_{t}_en", f"reason_{t}_zh"]].itertuples(index=False, name=None)
        assert [REASON_CODE[c] for c in codes] == list(labels)
        assert set(s[f"reason_{t}_driver"].dropna()) <= set(DRIVER)
    assert s["reason_1"].notna().all()  # "unknown" when nothing points anywhere
    sizes = s[["reason_1_size", "reason_2_size", "reason_3_size"]].to_numpy()
    assert (np.diff(sizes, axis=1) <= 1e-12).all()  # ordered by size
    assert (sizes >= 0).all()


def test_riskiest_subscribers_get_exact_reasons(trained_store):
    s = read_scores(trained_store.store)
    n_exact = int(np.ceil(0.10 * len(s)))
    assert (s["reason_method"].iloc[:n_exact] == "exact").all()
    assert (s["reason_method"].iloc[n_exact:] == "path").all()
    assert s["risk_rank"].tolist() == list(range(1, len(s) + 1))
    assert s["p_churn_3m"].is_monotonic_decreasing


def test_feature_map_follows_the_registry_and_leaves_symptoms_out():
    m = feature_reason_map(["competitor_share_3m", "arrears_1m", "mou_trend_3m", "offers_accepted_12m"])
    assert m["competitor_share_3m"] == ("social", "competitor")
    assert m["arrears_1m"] == ("price", "arrears")
    assert m["mou_trend_3m"] is None  # a symptom of leaving, not a reason
    assert m["offers_accepted_12m"] is None  # our own campaign history


def test_top_reasons_group_contributions_by_reason_code():
    ex = ReasonExplainer().fit(
        ["a", "b", "c", "d"],
        {"a": ("social", "competitor"), "b": ("quality", "competitor"), "c": ("price", "arrears"), "d": None},
    )
    pair = np.array(
        [[0.3, 0.3, 0.5], [-1.0, -1.0, -2.0]]
    )  # pairs sorted: (quality|social, competitor), arrears
    pairs = ex.pairs_
    contrib = np.zeros((2, len(pairs)))
    for j, p in enumerate(pairs):
        contrib[:, j] = {("social", "competitor"): pair[:, 0], ("quality", "competitor"): pair[:, 1]}.get(
            p, pair[:, 2]
        )
    r = ex.top_reasons(contrib)
    assert r["code"][0].tolist() == ["competitor", "arrears", None]  # 0.3 + 0.3 > 0.5
    assert r["size"][0, 0] == 0.6
    assert r["code"][1, 0] == "unknown" and r["size"][1, 0] == 0  # nothing raises the risk
    assert reason_label("competitor", "zh") == "转往竞争对手"
    assert reason_label("competitor", "en") == "switch to competitor"


def test_a_feature_is_evidence_of_its_reason_only_beyond_the_reference_on_its_side():
    features = ["arrears_1m", "months_since_complaint", "acquired_on_promotion", "active_days_1m", "d"]
    mapping = {
        "arrears_1m": ("price", "arrears"),
        "months_since_complaint": ("quality", "competitor"),
        "acquired_on_promotion": ("convenience", "arrears"),
        "active_days_1m": None,
        "d": ("convenience", "fraud"),
    }
    ex = ReasonExplainer().fit(features, mapping, reference=[0.0, 24.0, 0.0, 25.0, 0.0])
    X = np.array(
        [
            [50.0, 1.0, 1.0, 26.0, 0.0],  # in arrears, a recent complaint, a used promotion card
            [0.0, 24.0, 0.0, 26.0, 0.0],  # none of it: the risk rises, but not from evidence
            [0.0, 24.0, 1.0, 3.0, 0.0],  # a promotion card barely used: fraud (养卡), not arrears
            [np.nan, np.nan, 0.0, np.nan, 0.0],  # missing values are no evidence
        ]
    )
    contrib = np.tile([0.4, 0.3, 0.2, 0.5, 0.0], (4, 1))  # every feature raises the risk
    r = ex.top_reasons(ex.pairs_from_feature_contributions(contrib, X))
    assert r["code"][0].tolist() == ["arrears", "competitor", None]
    assert np.isclose(r["size"][0, 0], 0.6) and r["driver"][0, 0] == "price"
    assert r["code"][1, 0] == "unknown"
    assert r["code"][2, 0] == "fraud" and np.isclose(r["size"][2, 0], 0.2)
    assert r["code"][3, 0] == "unknown"
    # stored and loaded: the same reasons; without a reference, every contribution counts
    again = ReasonExplainer.from_dict(ex.to_dict())
    assert again.top_reasons(again.pairs_from_feature_contributions(contrib, X))["code"].tolist() == (
        r["code"].tolist()
    )
    plain = ReasonExplainer().fit(features, mapping)
    assert plain.top_reasons(plain.pairs_from_feature_contributions(contrib, X))["code"][1, 0] == "arrears"


def test_health_score_is_0_to_100_and_falls_with_complaints():
    rng = np.random.default_rng(0)
    n = 500
    ref = pa.table(
        {
            "tenure_months": rng.integers(0, 100, n),
            "complaints_6m": rng.poisson(0.3, n),
            "call_peers_3m": rng.integers(0, 20, n),
            "arpu_3m_mean": rng.gamma(2, 25, n),
        }
    )
    h = HealthScorer().fit(ref)
    out = h.transform(ref)
    assert set(out) == {"health_score", *(f"health_{c}" for c in HEALTH_COMPONENTS)}
    assert ((out["health_score"] >= 0) & (out["health_score"] <= 100)).all()
    one = {c: [ref.column(c)[0].as_py()] * 2 for c in ref.column_names}
    one["complaints_6m"] = [0, 5]
    two = h.transform(pa.table(one))
    assert two["health_service"][0] > two["health_service"][1]
    assert two["health_score"][0] > two["health_score"][1]
    missing = h.transform(
        pa.table({"tenure_months": [None]}, schema=pa.schema([("tenure_months", pa.int64())]))
    )
    assert missing["health_score"][0] == 50.0
    again = HealthScorer.from_dict(h.to_dict()).transform(ref)
    np.testing.assert_array_equal(again["health_score"], out["health_score"])


def test_risk_levels_are_multiples_of_the_base_rate():
    levels = risk_level(np.array([0.01, 0.05, 0.11, 0.3]), base_rate=0.05)
    assert levels.tolist() == ["low", "medium", "high", "very_high"]


def test_an_unpaid_amount_is_arrears_evidence_on_a_postpaid_line_only():
    features = ["arrears_1m", "suspensions_6m", "is_prepaid", "churned_neighbours_6m"]
    mapping = {
        "arrears_1m": ("price", "arrears"),
        "suspensions_6m": ("price", "arrears"),
        "is_prepaid": None,
        "churned_neighbours_6m": ("social", "competitor"),
    }
    ex = ReasonExplainer().fit(features, mapping, reference=[0.0, 0.0, 1.0, 0.0])
    X = np.array(
        [
            [20.0, 0.0, 0.0, 1.0],  # postpaid with an unpaid bill: arrears
            [20.0, 0.0, 1.0, 1.0],  # prepaid balance run below zero: a symptom; the churned neighbour decides
            [20.0, 1.0, 1.0, 1.0],  # prepaid but suspended (停机): arrears again
            [20.0, 0.0, np.nan, 1.0],  # payment type unknown: the unpaid amount counts
        ]
    )
    contrib = np.tile([0.5, 0.4, 0.1, 0.3], (4, 1))
    r = ex.top_reasons(ex.pairs_from_feature_contributions(contrib, X))
    assert r["code"][:, 0].tolist() == ["arrears", "competitor", "arrears", "arrears"]
    assert np.isclose(r["size"][2, 0], 0.4)  # the suspension alone, not the prepaid unpaid amount
    # stored and loaded: the same rule
    again = ReasonExplainer.from_dict(ex.to_dict())
    assert again.top_reasons(again.pairs_from_feature_contributions(contrib, X))["code"].tolist() == (
        r["code"].tolist()
    )
