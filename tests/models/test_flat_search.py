"""fit-table capacity: chosen on an inner validation split within a budget, or fixed by --params;
test mode reports the test rows, a churn-rate gap and the prior correction; the reports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churnradar.cli import main
from churnradar.errors import ConfigError
from churnradar.models.flat import FlatChurnModel, fit_table, metrics, prevalence_gap, prior_shift
from churnradar.models.tuning import candidates, default_budget, inner_split


def table(n=800, seed=0, rate_shift=0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    logit = -1.2 + rate_shift + 1.4 * x + 1.0 * (x * z > 0.5)
    y = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"x": np.round(x, 4), "z": np.round(z, 4), "Churn": np.where(y, "Yes", "No")})


def test_the_search_chooses_and_reports_its_parameters(tmp_path, capsys):
    path = tmp_path / "t.csv"
    table().to_csv(path, index=False)
    args = ["fit-table", str(path), "--target", "Churn", "--folds", "2", "--json", "--report", str(tmp_path)]
    assert main([*args, "--budget", "20"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["search"]["budget_s"] == 20.0 and s["search"]["seconds"] > 0
    assert set(s["params"]) == {"num_leaves", "min_child_samples", "learning_rate", "n_estimators"}
    fits = s["search"]["per_fit"]
    assert len(fits) == 2 and all(f["budget_s"] == 10.0 and not f["fixed"] for f in fits)
    assert all(f["tried"] >= 5 and f["params"]["n_estimators"] >= 1 for f in fits)
    assert {t["params"]["num_leaves"] for t in fits[0]["trials"]} >= {2, 4, 15, 31}
    chosen = max(fits[0]["trials"], key=lambda t: (t["valid_auc"], -t["valid_logloss"]))
    assert {k: fits[0]["params"][k] for k in chosen["params"]} == chosen["params"]


def test_a_spent_budget_stops_the_search_after_one_configuration():
    X = table(n=600)
    y = (X.pop("Churn") == "Yes").to_numpy()
    m = FlatChurnModel(budget=1e-6).fit(X, y)
    assert len(m.search_.trials) == 1 and m.search_.budget_reached
    assert m.search_.candidates > 1 and m.params_["num_leaves"] == 31


def test_params_fix_the_model_and_skip_the_search(tmp_path, capsys):
    path = tmp_path / "t.csv"
    table().to_csv(path, index=False)
    base = ["fit-table", str(path), "--target", "Churn", "--folds", "2", "--report", str(tmp_path)]
    assert main([*base, "--json", "--params", '{"num_leaves": 31}']) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["params"]["num_leaves"] == 31 and s["params"]["min_child_samples"] == 20
    assert all(f["fixed"] and f["tried"] == 1 for f in s["search"]["per_fit"])  # trees by early stopping
    assert main([*base, "--params", '{"num_leaves": 7, "n_estimators": 15}']) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "model: LightGBM 15 trees × 7 leaves, min_child_samples 20, learning_rate 0.05 (fixed by --params)"
        in out
    )
    assert main([*base, "--params", "{num_leaves: 7}"]) == 1
    assert "--params is not JSON" in capsys.readouterr().err
    assert main([*base, "--params", '{"max_depth": 3}']) == 1
    assert "--params: unknown setting(s) ['max_depth']" in capsys.readouterr().err


def test_defaults_adapt_to_the_table_size():
    small, large = candidates(500), candidates(500_000)
    assert min(c["min_child_samples"] for c in small) == 5
    assert (
        min(c["min_child_samples"] for c in large) == 10 and max(c["min_child_samples"] for c in large) == 200
    )
    assert {c["learning_rate"] for c in small} == {0.05} and {c["learning_rate"] for c in large} == {0.1}
    assert 63 not in {c["num_leaves"] for c in small} and 63 in {c["num_leaves"] for c in large}
    assert default_budget(1_000, 10) == 10.5 and default_budget(10_000_000, 50) == 120


def test_the_inner_split_keeps_duplicates_together():
    y = np.r_[np.ones(40), np.zeros(160)].astype(int)
    groups = np.arange(200) // 2
    tr, va = inner_split(y, groups, seed=0)
    assert not set(groups[tr]) & set(groups[va]) and 0.1 < len(va) / 200 < 0.3


def test_test_mode_reports_the_test_rows_and_corrects_the_prior(tmp_path, capsys):
    train = table(n=1000, seed=1)
    y = train["Churn"] == "Yes"
    over = pd.concat([train, train[y].sample(n=int((~y).sum() - y.sum()), replace=True, random_state=0)])
    over.to_csv(tmp_path / "train.csv", index=False)
    test = table(n=600, seed=2)
    test.to_csv(tmp_path / "test.csv", index=False)
    args = [
        "fit-table",
        str(tmp_path / "train.csv"),
        "--target",
        "Churn",
        "--test",
        str(tmp_path / "test.csv"),
    ]
    fixed = ["--params", '{"num_leaves": 4, "n_estimators": 60}', "--report", str(tmp_path)]
    assert main([*args, *fixed, "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    n_pos = int((test["Churn"] == "Yes").sum())
    assert s["test"] == {"rows": 600, "positives": n_pos, "churn_rate": round(n_pos / 600, 4)}
    assert s["train"]["churn_rate"] == 0.5 and s["prior"]["gap"] is True
    assert s["prior"]["corrected_to"] == round(n_pos / 600, 4) and s["prior"]["source"] == "test churn rate"
    assert s["brier"] < s["brier_uncorrected"]
    assert s["gini"] == pytest.approx(2 * s["roc_auc"] - 1, abs=1e-3)
    assert {"lift_5", "lift_10", "lift_20", "top_decile_lift"} <= set(s)
    assert any(f["rule"] == "duplicate_rows" for f in s["hygiene"])
    assert {
        "rule": "prior",
        "columns": [],
        "count": 600,
        "action": "probabilities corrected",
        "message": f"probabilities corrected from the training churn rate 50.0% to {n_pos / 600:.1%} "
        "(test churn rate)",
    } in s["hygiene"]
    assert s["warnings"] == [
        f"churn rate differs between training (50.0%) and test ({n_pos / 600:.1%}) rows; probabilities are "
        f"corrected to the test rate {n_pos / 600:.1%}"
    ]
    assert main([*args, *fixed, "--prior", "0.2"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"test rows 600, churners {n_pos} ({n_pos / 600:.1%})" in out
    assert "probabilities are corrected to the given prior 20.0%" in out and "(uncorrected " in out


def test_prior_shift_is_the_odds_correction():
    p = np.array([0.1, 0.5, 0.9])
    assert np.allclose(prior_shift(p, 0.3, 0.3), p)
    # training at 50% churn, real rate 10%: odds × (1/9)
    assert prior_shift(np.array([0.5]), 0.5, 0.1)[0] == pytest.approx(0.1)
    with pytest.raises(ConfigError):
        prior_shift(p, 0.5, 1.0)
    assert prevalence_gap(0.5, 0.15, 600) and not prevalence_gap(0.145, 0.142, 667)


def test_metrics_have_gini_and_lifts():
    y = np.r_[np.ones(10), np.zeros(90)]
    p = np.linspace(1, 0, 100)
    m = metrics(y, p)
    assert m["roc_auc"] == 1.0 and m["gini"] == 1.0 and m["lift_5"] == 10.0 and m["lift_20"] == 5.0


def test_reports_are_markdown_and_self_contained_html(tmp_path):
    frame = table(n=500)
    frame["cid"] = [f"C{i}" for i in range(500)]
    frame["Churn Value"] = (frame["Churn"] == "Yes").astype(int)
    frame.to_csv(tmp_path / "t.csv", index=False)
    r = fit_table(
        tmp_path / "t.csv",
        "Churn",
        id_col="cid",
        folds=2,
        params={"num_leaves": 4, "n_estimators": 20},
        report=tmp_path / "out",
    )
    assert r.report == tmp_path / "out" / "fit-table-t.md" and r.html == tmp_path / "out" / "fit-table-t.html"
    md = r.report.read_text()
    for head in (
        "## Metrics",
        "## Gain and lift by decile",
        "## Calibration",
        "## Top features",
        "## Columns left out",
        "## Hygiene",
    ):
        assert head in md
    assert "| Churn Value | leak — a copy of the churn column | 1.000 |" in md
    html = r.html.read_text()
    assert html.count("<svg") == 4 and "Cumulative gain" in html and "Calibration" in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "'cid' is the id column (--id) and is left out" in html.replace("&#x27;", "'")
