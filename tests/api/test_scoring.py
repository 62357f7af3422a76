"""Online scoring from stored features and from a posted feature vector, with the stored model."""

from __future__ import annotations

import pytest

#: reads the analytical store only: run on SQLite alone (login and the operational store are
#: covered on PostgreSQL by test_access, test_security, test_outcomes and the others)
OPS_STORE = False


def test_scoring_a_stored_subscriber_matches_the_batch_score(api):
    w = api.world
    c = api.client("rm_a")
    item = c.get("/api/risk", params={"page_size": 1}).json()["items"][0]
    r = c.post(f"/api/score/{item['subscriber_id']}")
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["source"] == "stored_score" and s["model_id"] == item["model_id"]
    for h in ("p_churn_1m", "p_churn_2m", "p_churn_3m"):
        assert s[h] == pytest.approx(item[h], abs=1e-6)
    assert s["risk_level"] == item["risk_level"]
    assert s["health_score"] == pytest.approx(item["health_score"], abs=0.05)
    assert s["reasons"] and s["reasons"][0]["reason"] == item["reasons"][0]["reason"]
    assert w.county_a == item["county_id"]


def test_scoring_a_posted_feature_vector(api):
    c = api.client("analyst")
    names = c.get("/api/model").json()["features"]
    assert len(names) > 20
    empty = c.post("/api/score", json={"features": {}}).json()
    assert 0 <= empty["p_churn_1m"] <= empty["p_churn_2m"] <= empty["p_churn_3m"] <= 1
    numeric = next(n for n in names if "arrears" in n or "arpu" in n)
    r = c.post("/api/score", json={"features": {numeric: 50.0}})
    assert r.status_code == 200 and r.json()["source"] == "posted_features"


def test_unknown_feature_names_are_refused(api):
    r = api.client("analyst").post("/api/score", json={"features": {"shoe_size": 42}})
    assert r.status_code == 400 and "unknown feature" in r.json()["detail"]


def test_agent_may_not_score(api):
    assert api.client("agent_a").post("/api/score", json={"features": {}}).status_code == 403


def test_model_info_and_backtest_metrics(api):
    c = api.client("analyst")
    info = c.get("/api/model").json()
    assert info["state"] == "trained" and info["current"]["model_id"]
    assert "artifact" not in info["current"]
    bt = c.get("/api/model/backtest").json()
    assert bt["model_id"] == info["current"]["model_id"] and bt["metrics"]


def _categorical_and_numeric(api) -> tuple[str, str]:
    from churnradar.api.scoring import Scorer

    model = Scorer(api.app.state.data).model()[1]
    cats = model.hazard.encoder_.categories_
    cat = sorted(cats)[0]
    num = next(n for n in model.hazard.encoder_.columns_ if n not in cats)
    return cat, num


@pytest.mark.parametrize(
    "kind, value",
    [
        ("categorical", "5"),
        ("categorical", "true"),
        ("categorical", "2.5"),
        ("numeric", "true"),
        ("numeric", '"abc"'),
        ("numeric", "NaN"),
        ("numeric", "Infinity"),
        ("numeric", "-Infinity"),
        ("numeric", "1e308"),
        ("numeric", "[1]"),
        ("numeric", '{"a": 1}'),
    ],
)
def test_posted_feature_values_are_type_checked(api, kind, value):
    """A value of the wrong type, NaN or an infinity is a 422 naming the feature, never a 500."""
    cat, num = _categorical_and_numeric(api)
    name = cat if kind == "categorical" else num
    c = api.client("analyst", raise_server_exceptions=False)
    r = c.post(
        "/api/score",
        content=f'{{"features": {{"{name}": {value}}}}}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422, r.text[:300]
    assert name in r.text


def test_posted_feature_values_of_the_right_type_are_scored(api):
    cat, num = _categorical_and_numeric(api)
    c = api.client("analyst")
    for features in ({cat: "no-such-level"}, {num: -3.5}, {num: 2}, {cat: None, num: None}):
        r = c.post("/api/score", json={"features": features})
        assert r.status_code == 200, (features, r.text[:300])
