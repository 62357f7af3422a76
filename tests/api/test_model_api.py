"""``/api/model``: the registry row carries the calibration slice's curves; the outcomes and drift
the model page draws are readable as JSON, scoped and checked."""

from __future__ import annotations

#: reads the analytical store only
OPS_STORE = False


def test_current_model_carries_its_validation_curves(api):
    cur = api.client("analyst").get("/api/model").json()["current"]
    curves = cur["metrics"]["curves"]
    assert curves["step"] == 1 and curves["events"] > 0
    assert curves["roc"]["fpr"][0] == 0 and curves["roc"]["tpr"][-1] == 1
    assert len(curves["roc"]["fpr"]) == len(curves["gain"]["share"]) <= 101
    assert cur["metrics"]["sample_rate"] == 1  # every row weighs one: the bins hold the slice's rows
    assert sum(curves["reliability"]["count"]) == curves["rows"] <= cur["metrics"]["calibration_rows"]


def test_outcomes_and_drift_before_a_settled_month_or_monitoring_are_empty(api):
    c = api.client("rm_a")
    r = c.get("/api/model/outcomes")
    assert r.status_code == 200 and r.json() == {"horizon": 1, "months": []}
    assert c.get("/api/model/drift").json()["months"] == []


def test_outcomes_of_an_unlabelled_horizon_say_which_are(api):
    r = api.client("analyst").get("/api/model/outcomes", params={"horizon": 9})
    assert r.status_code == 400 and "expected one of 1, 2, 3" in r.text
    assert api.client("agent_a").get("/api/model/outcomes").status_code == 403
