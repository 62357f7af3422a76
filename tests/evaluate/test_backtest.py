"""Rolling-origin backtest: consecutive origins, nothing from the future, baselines, refusals."""

from __future__ import annotations

import json
from datetime import date

import pyarrow.compute as pc
import pytest

from churnradar.cli import main
from churnradar.errors import ConfigError
from churnradar.evaluate.backtest import MODELS, backtest_store
from churnradar.periods import add_months

SMALL = {"n_estimators": 30, "num_leaves": 7, "min_child_samples": 20, "num_threads": 1}


@pytest.fixture(scope="module")
def result(small_operator):
    return backtest_store(small_operator.store, params=SMALL)


def test_backtest_runs_three_consecutive_origins_for_every_model(result):
    assert result.origins == [date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)]
    table = result.table()
    assert {(r["origin"], r["model"]) for r in table} == {
        (o, m) for o in ("2024-04", "2024-05", "2024-06", "mean") for m in MODELS
    }
    for r in table:
        for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier", "ece", "emp"):
            assert r[k] == r[k], (r["origin"], r["model"], k)  # not NaN
    assert result.monotone_violations == 0
    assert len(result.reliability["predicted"]) == 10


def test_model_for_an_origin_learns_nothing_after_it(small_operator):
    from churnradar.models.pipeline import TrainingData, fit_churn_model
    from churnradar.store.backends import open_backend

    bk = open_backend(small_operator.store)
    try:
        data = TrainingData(bk)
        t = date(2024, 5, 1)
        for gap in (0, 1):
            model, panel = fit_churn_model(data, t, gap_months=gap, params=SMALL)
            outcome = [
                add_months(m.as_py(), k.as_py())
                for m, k in zip(panel.column("as_of"), panel.column("step"), strict=True)
            ]
            assert max(outcome) == add_months(t, -gap)
            assert pc.max(panel.column("as_of")).as_py() < t  # features only from before the origin
            assert model.hazard.calibration_outcome_months_ == [add_months(t, -gap)]
    finally:
        bk.close()


def test_backtest_refuses_fewer_than_three_or_too_late_origins(small_operator):
    with pytest.raises(ConfigError, match="at least 3 origin months"):
        backtest_store(small_operator.store, ["2024-05", "2024-06"], params=SMALL)
    with pytest.raises(ConfigError, match=r"too late.*2024-06"):
        backtest_store(small_operator.store, end="2024-08", params=SMALL)


def test_backtest_cli_passes_options_and_prints_the_table(result, tmp_path, capsys, monkeypatch):
    import churnradar.evaluate.backtest as bt

    seen = {}

    def fake(store, origins, **kw):
        seen.update(kw, origins=origins)
        return result

    monkeypatch.setattr(bt, "backtest_store", fake)
    store = tmp_path / "bt.duckdb"
    store.touch()
    args = ["backtest", "--store", str(store), "--origins", "2024-04,2024-05,2024-06", "--clv", "300"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert seen["origins"] == ["2024-04", "2024-05", "2024-06"] and seen["emp_params"]["clv"] == 300
    assert {r["model"] for r in out["table"]} == set(MODELS)
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "ROC-AUC" in text and "arpu_rule" in text and "reliability" in text
