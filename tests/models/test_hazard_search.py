"""The hazard model's capacity chosen from the data: a later validation month, early stopping, a budget."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from tests.models.conftest import AS_OF
from tests.models.test_hazard import _synthetic_panel

from churnradar.cli import main
from churnradar.errors import ConfigError
from churnradar.models import list_models
from churnradar.models.hazard import ChurnHazardModel
from churnradar.models.tuning import HAZARD_DEFAULT, check_hazard_params, hazard_candidates


@pytest.fixture(scope="module")
def panel():
    return _synthetic_panel(n=3000, months=(1, 2, 3, 4, 5))


@pytest.fixture(scope="module")
def searched(panel) -> ChurnHazardModel:
    """The model whose capacity a search within 60 s chose (fitted once; the tests only read it)."""
    return ChurnHazardModel(num_threads=1, search_budget=60).fit(panel)


def test_search_validates_on_the_last_training_outcome_month_and_records_what_it_tried(searched):
    m = searched
    s = m.search_summary()
    assert not s["fixed"] and s["budget_s"] == 60 and not s["budget_reached"]
    # calibration is the last outcome month (June); validation the month before it (May)
    assert [str(d) for d in m.calibration_outcome_months_] == ["2024-06-01"]
    tried = [t["params"] for t in s["trials"]]
    assert tried[: len(hazard_candidates())] == hazard_candidates()
    best = max(s["trials"], key=lambda t: (t["valid_auc"], -t["valid_logloss"]))
    assert {k: m.capacity_[k] for k in ("num_leaves", "min_child_samples", "learning_rate")} == best["params"]
    assert m.capacity_["n_estimators"] >= best["trees"]  # scaled up to every training row
    assert m.booster_.num_trees() == m.capacity_["n_estimators"]
    # stored and loaded: the same capacity and search record
    again = ChurnHazardModel.from_dict(m.to_dict())
    assert again.capacity_ == m.capacity_ and again.search_summary()["trials"] == s["trials"]


def test_the_validation_month_is_later_than_every_inner_training_row(panel, searched):
    s = searched.search_summary()
    outcome_month = (
        panel.column("as_of").to_numpy().astype("datetime64[M]").astype(int) + panel.column("step").to_numpy()
    )
    train_slice = outcome_month < outcome_month.max()
    last = outcome_month[train_slice].max()
    assert s["valid_rows"] == int((outcome_month == last).sum())
    assert s["inner_rows"] == int((outcome_month < last).sum())


def test_given_settings_fix_the_model_and_trees_come_from_early_stopping(panel):
    m = ChurnHazardModel(num_threads=1, num_leaves=4).fit(panel)
    s = m.search_summary()
    assert s["fixed"] and len(s["trials"]) == 1
    assert s["trials"][0]["params"] == {"num_leaves": 4, "min_child_samples": 200, "learning_rate": 0.08}
    full = ChurnHazardModel(num_threads=1, n_estimators=30, num_leaves=4).fit(panel)
    assert full.search_summary()["trials"] == [] and full.booster_.num_trees() == 30
    assert full.capacity_ == HAZARD_DEFAULT | {"n_estimators": 30, "num_leaves": 4}


def test_a_training_slice_of_one_outcome_month_keeps_the_defaults_and_says_why():
    panel = _synthetic_panel(n=2000, months=(4,))  # outcomes May (training) and June (calibration)
    m = ChurnHazardModel(num_threads=1).fit(panel)
    s = m.search_summary()
    assert s["skipped"] == "the training slice has one outcome month, none left to validate on"
    assert m.capacity_ == HAZARD_DEFAULT


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"leaves": 3},
            "--params ['leaves'] not known for the hazard model; expected any of "
            "['num_leaves', 'min_child_samples', 'learning_rate', 'n_estimators']",
        ),
        ({"num_leaves": 1}, "--params num_leaves=1 is not valid; expected a whole number ≥ 2"),
        ({"n_estimators": 2.5}, "--params n_estimators=2.5 is not valid; expected a whole number ≥ 1"),
        ({"learning_rate": 0}, "--params learning_rate=0 is not valid; expected a number in (0, 1]"),
    ],
)
def test_bad_params_name_the_value_and_what_is_allowed(params, message):
    with pytest.raises(ConfigError) as e:
        check_hazard_params(params)
    assert str(e.value) == message


def test_a_non_positive_budget_is_refused(panel):
    with pytest.raises(ConfigError, match=r"search budget 0 must be a positive number of seconds"):
        ChurnHazardModel(search_budget=0).fit(panel)


def test_train_cli_searches_prints_the_choice_and_stores_it(small_operator, tmp_path, capsys):
    store = tmp_path / "store.duckdb"
    shutil.copy(small_operator.store, store)
    assert main(["train", "--store", str(store), "--as-of", AS_OF, "--budget", "30"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "capacity:" in out and "chosen on the last training outcome month" in out and "budget 30 s" in out
    (rec,) = list_models(store)
    s = rec.params["capacity_search"]
    assert s["budget_s"] == 30 and s["tried"] >= 1 and not s["fixed"]
    best = max(s["trials"], key=lambda t: (t["valid_auc"], -t["valid_logloss"]))
    assert rec.params["num_leaves"] == best["params"]["num_leaves"]
    assert rec.params["n_estimators"] >= best["trees"]


def test_train_cli_params_fix_the_model(small_operator, tmp_path, capsys):
    store = tmp_path / "store.duckdb"
    shutil.copy(small_operator.store, store)
    args = ["train", "--store", str(store), "--as-of", AS_OF, "--json"]
    assert main([*args, "--params", '{"num_leaves": 4, "n_estimators": 25}']) == 0
    s = __import__("json").loads(capsys.readouterr().out)
    assert s["params"]["num_leaves"] == 4 and s["params"]["n_estimators"] == 25
    assert s["params"]["capacity_search"]["fixed"] is True
    assert main([*args, "--params", '{"leaves": 4}']) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "--params ['leaves'] not known for the hazard model" in err
    assert main([*args, "--budget", "-1"]) == 1
    assert "--budget -1.0 must be a positive number of seconds" in " ".join(capsys.readouterr().err.split())


def test_search_is_deterministic_within_its_budget(panel, searched):
    a = searched
    b = ChurnHazardModel(num_threads=1, search_budget=60).fit(panel)
    assert a.capacity_ == b.capacity_
    x = np.asarray(a.predict_proba(panel.slice(0, 200)).to_numpy())
    assert np.array_equal(x, b.predict_proba(panel.slice(0, 200)).to_numpy())
