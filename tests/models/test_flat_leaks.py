"""fit-table leak guard: columns that carry the answer are left out, listed with their single-column
ROC-AUC, and `--keep` forces them in (with a "too good to be true" warning when the result is)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from churnradar.cli import main
from churnradar.models.flat import fit_table
from churnradar.models.leaks import leak_score, out_of_fold_rate

FAST = {"num_leaves": 4, "n_estimators": 20}


def table(n=500, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = rng.uniform(size=n) < 1 / (1 + np.exp(-(-1.0 + 1.2 * x)))
    return pd.DataFrame(
        {
            "usage": np.round(x, 3),
            "plan": rng.choice(["basic", "plus", "max"], size=n),
            "Churn": np.where(y, "Yes", "No"),
        }
    )


def fit(tmp_path, frame, **kw):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return fit_table(path, "Churn", report=tmp_path, folds=3, **({"params": FAST} | kw))


def test_a_noisy_score_of_the_outcome_is_left_out_with_its_auc(tmp_path):
    frame = table()
    y = (frame["Churn"] == "Yes").to_numpy()
    rng = np.random.default_rng(3)
    frame["churn_score"] = np.round(60 * y + rng.normal(20, 18, len(y)))
    r = fit(tmp_path, frame)
    (ex,) = [e for e in r.excluded if e["reason"] == "leak"]
    assert ex["column"] == "churn_score" and ex["auc"] >= 0.95
    msg = [f.message for f in r.hygiene if f.rule == "leak"]
    auc = ex["auc"]
    assert msg == [
        f"'churn_score' is left out as a likely leak: single-column ROC-AUC {auc:.3f} ≥ 0.95; "
        "--keep 'churn_score' uses it"
    ]
    assert r.metrics["roc_auc"] < 0.9 and not r.warnings


def test_a_copy_of_the_target_and_a_reason_column_are_left_out(tmp_path, capsys):
    frame = table()
    y = frame["Churn"] == "Yes"
    frame["Churn Value"] = y.astype(int)
    frame["Churn Reason"] = np.where(y, np.where(np.arange(len(y)) % 2, "Competitor", "Price"), "")
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    args = ["fit-table", str(path), "--target", "Churn", "--folds", "3", "--json", "--report", str(tmp_path)]
    assert main([*args, "--params", json.dumps(FAST)]) == 0
    s = json.loads(capsys.readouterr().out)
    leaks = {e["column"]: e for e in s["excluded"] if e["reason"] == "leak"}
    assert leaks["Churn Value"] == {
        "column": "Churn Value",
        "reason": "leak",
        "auc": 1.0,
        "detail": "a copy of the churn column",
    }
    assert leaks["Churn Reason"]["auc"] == 1.0
    assert (
        leaks["Churn Reason"]["detail"]
        == "every value has a single churn outcome (a function of the churn column)"
    )
    assert s["roc_auc"] < 0.95
    assert s["leak_scores"]["Churn Value"] == 1.0 and s["leak_scores"]["usage"] < 0.9


def test_keep_forces_a_leak_in_and_the_result_is_flagged_too_good(tmp_path, capsys):
    frame = table()
    frame["Churn Label"] = np.where(frame["Churn"] == "Yes", "churned", "stayed")
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    args = ["fit-table", str(path), "--target", "Churn", "--folds", "3", "--report", str(tmp_path)]
    assert main([*args, "--keep", "Churn Label", "--params", json.dumps(FAST)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "kept: 'Churn Label' looks like a leak (a copy of the churn column) but is used (--keep)" in out
    assert re.search(r"warning: ROC-AUC 0\.99\d is too good to be true for churn: look for columns", out)
    assert main([*args, "--params", json.dumps(FAST)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "leak: 'Churn Label' is left out as a likely leak: a copy of the churn column" in out
    assert "too good to be true" not in out


def test_ordinary_columns_are_not_leaks():
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-2 * x))).astype(float)
    s = leak_score("x", x, True, y)
    assert 0.75 < s.auc < 0.95 and s.detail is None
    ids = np.arange(n).astype(str)  # many rare values: out of fold they predict nothing
    assert leak_score("id", ids, False, y).auc < 0.6


def test_missing_only_for_churners_is_a_leak():
    rng = np.random.default_rng(1)
    y = (rng.uniform(size=600) < 0.3).astype(float)
    days = np.where(y == 1, rng.integers(1, 90, 600), np.nan)
    s = leak_score("days_since_exit", days, True, y)
    assert s.auc >= 0.95 and s.detail is not None


def test_out_of_fold_rates_do_not_use_the_row_itself():
    codes = np.arange(100)  # each row its own category
    y = np.r_[np.ones(50), np.zeros(50)]
    rate = out_of_fold_rate(codes, y)
    assert np.allclose(rate[:50], rate[:50].mean(), atol=0.1)  # only the prior is learnt


def test_a_strong_column_named_like_an_outcome_is_flagged_but_used(tmp_path, capsys):
    frame = table(n=800)
    y = (frame["Churn"] == "Yes").to_numpy()
    rng = np.random.default_rng(5)
    frame["Satisfaction Score"] = np.clip(np.round(3.5 - 1.6 * y + rng.normal(0, 0.8, len(y))), 1, 5)
    r = fit(tmp_path, frame)
    auc = r.leak_scores["Satisfaction Score"]
    assert (
        0.8 <= auc < 0.95 and "Satisfaction Score" in r.types and r.types["Satisfaction Score"] == "numeric"
    )
    assert [f.message for f in r.hygiene if f.rule == "leak_suspect"] == [
        f"'Satisfaction Score' is named like an outcome and alone reaches ROC-AUC {auc:.3f}: check that it is "
        "known before the churn happens, or leave it out with --drop 'Satisfaction Score'"
    ]
