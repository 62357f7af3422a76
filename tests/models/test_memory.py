"""Training and scoring within a memory budget: parsing, sampling, refusals up front, equivalences."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from tests.models.conftest import AS_OF, SMALL, read_scores

from churnradar.cli import main
from churnradar.errors import ChurnRadarError, ConfigError
from churnradar.models import list_models, score_store, train_store
from churnradar.models.calibration import HazardCalibrator
from churnradar.models.memory import (
    DUCKDB_MIN,
    MemoryBudget,
    MemoryBudgetError,
    apply_duckdb_limit,
    parse_memory,
)
from churnradar.models.training import BASE_BYTES, PLAN_SHARE


#: trainings of the memory bound (issue: the monthly cycle at scale), a minute between them: CI's
#: ``-m ci`` stage runs them; the budget checks without a training stay in the default suite
def CI_ONLY(test):
    return pytest.mark.ci(pytest.mark.slow(test))


@pytest.fixture
def store(small_operator, tmp_path):
    path = tmp_path / "store.duckdb"
    shutil.copy(small_operator.store, path)
    return path


def test_memory_sizes_parse_in_decimal_and_binary_units():
    assert parse_memory("16GB") == 16 * 1000**3
    assert parse_memory("16 GiB") == 16 * 2**30
    assert parse_memory("512m") == 512 * 1000**2
    assert parse_memory("1.5TB") == int(1.5 * 1000**4)
    assert parse_memory("none") is None and parse_memory("Unbounded") is None
    assert 0 < parse_memory("50%") < parse_memory("100%")
    for bad in ("lots", "16XB", "0GB", "150%", "-1GB"):
        with pytest.raises(ConfigError):
            parse_memory(bad)
    budget = MemoryBudget.resolve("16GB")
    assert budget.total == 16 * 1000**3 and 0 < budget.duckdb < budget.total
    assert MemoryBudget.resolve("none") is None
    assert MemoryBudget.resolve("default").total > 0


def test_duckdb_gets_its_share_as_memory_limit(store):
    from churnradar.store.backends import open_backend

    bk = open_backend(store)
    try:
        apply_duckdb_limit(bk, MemoryBudget(total=2 * 2**30, duckdb=300 * 2**20))
        limit = bk.con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        bk.close()
    assert limit.replace(" ", "") == "300.0MiB"


@CI_ONLY
def test_a_small_budget_samples_non_events_and_still_gives_a_usable_model(trained_store, tmp_path):
    store = tmp_path / "budget.duckdb"
    shutil.copy(trained_store.store, store)
    # room for roughly half of the ~28,000 training rows besides the fixed parts of the estimate
    budget = MemoryBudget(total=int((BASE_BYTES + DUCKDB_MIN + 12 * 2**20) / PLAN_SHARE), duckdb=DUCKDB_MIN)
    result = train_store(store, AS_OF, params=SMALL, memory=budget)
    (rec,) = [r for r in list_models(store) if r.model_id == result.model_id]
    p = rec.params
    assert 0 < p["sample_rate"] < 1
    assert p["rows_used"] < p["rows_available"]
    assert rec.metrics["panel_events"] == p["events_available"]  # every churn event is kept
    assert rec.metrics["panel_rows"] == p["rows_used"]
    assert any("sample" in n for n in result.model.meta["notes"])
    assert rec.metrics["hazard_auc_step1"] > 0.65
    # the weighted sample estimates what the full panel gives
    full = trained_store.result
    assert full.record.params["sample_rate"] == 1.0
    assert abs(result.model.base_rate - full.model.base_rate) < 0.25 * full.model.base_rate
    score_store(store, AS_OF, model_id=result.model_id)
    s = read_scores(store)
    assert (s["model_id"] == result.model_id).all() and len(s) > 1000
    probs = s[["p_churn_1m", "p_churn_2m", "p_churn_3m"]].to_numpy()
    assert (np.diff(probs, axis=1) >= 0).all()


@CI_ONLY
def test_max_rows_caps_the_sample_and_the_same_cap_gives_the_same_model(store):
    result = train_store(store, AS_OF, params=SMALL, max_rows=15_000)
    s = result.summary()
    assert s["sampling"]["rows_used"] <= 15_000 * 1.05 and s["params"]["sample_rate"] < 1
    assert s["memory_budget"] is None and s["peak_rss_bytes"] > 0
    again = train_store(store, AS_OF, params=SMALL, max_rows=15_000)
    assert again.model_id == result.model_id
    with pytest.raises(ConfigError, match="churn events"):
        train_store(store, AS_OF, params=SMALL, max_rows=100)


def test_a_budget_too_small_for_one_month_fails_up_front_with_one_line(store, capsys):
    with pytest.raises(MemoryBudgetError, match="cannot hold one month's features") as info:
        train_store(store, AS_OF, params=SMALL, memory="300MB")
    assert isinstance(info.value, ChurnRadarError)
    assert list_models(store) == []
    assert main(["train", "--store", str(store), "--as-of", AS_OF, "--memory", "300MB"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "cannot hold one month's features" in err
    assert "--memory" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_duckdb_running_out_of_its_share_is_one_budget_error(store):
    """DuckDB's own out-of-memory error (module ``_duckdb`` since 1.5) becomes the budget's error."""
    with pytest.raises(MemoryBudgetError, match=r"^train: DuckDB ran out of memory within .*raise --memory$"):
        train_store(store, AS_OF, params=SMALL, memory=MemoryBudget(total=4 * 2**30, duckdb=32 * 2**20))
    assert list_models(store) == []


def test_train_cli_prints_the_budget_and_the_sample(store, capsys):
    args = ["train", "--store", str(store), "--as-of", AS_OF, "--trees", "20", "--max-rows", "15000"]
    assert main([*args, "--memory", "none"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "no memory budget" in out and "peak memory" in out
    assert "--max-rows 15,000: trained on every churn event" in out


def test_score_refuses_a_month_that_would_not_fit(trained_store, tmp_path):
    store = tmp_path / "score.duckdb"
    shutil.copy(trained_store.store, store)
    with pytest.raises(MemoryBudgetError, match="scoring 2024-06 needs about"):
        score_store(store, AS_OF, memory=MemoryBudget(total=BASE_BYTES, duckdb=256 * 2**20))
    assert main(["score", "--store", str(store), "--as-of", AS_OF, "--memory", "4GB", "--top", "1"]) == 0


@CI_ONLY
def test_rows_read_month_by_month_give_the_model_of_the_whole_panel(small_operator):
    """The month-by-month encoding is the panel's: fitting the Arrow panel gives the same booster."""
    from datetime import date

    from churnradar.models.hazard import ChurnHazardModel
    from churnradar.models.pipeline import TrainingData, fit_churn_model
    from churnradar.store.backends import open_backend

    bk = open_backend(small_operator.store)
    try:
        model, panel = fit_churn_model(TrainingData(bk), date(2024, 6, 1), params=SMALL)
    finally:
        bk.close()
    again = ChurnHazardModel(**SMALL).fit(panel)
    assert again.encoder_.to_dict() == model.hazard.encoder_.to_dict()
    assert again.booster_.model_to_string() == model.hazard.booster_.model_to_string()
    assert again.calibrator_.to_dict() == model.hazard.calibrator_.to_dict()


def test_weighted_platt_equals_platt_on_repeated_rows():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=2000)
    y = (rng.uniform(size=2000) < 1 / (1 + np.exp(-(raw - 2)))).astype(float)
    w = rng.integers(1, 4, size=2000).astype(float)
    step = np.ones(2000, dtype=int)
    weighted = HazardCalibrator().fit(raw, step, y, w).maps_[1]
    n = w.astype(int)
    repeated = HazardCalibrator().fit(np.repeat(raw, n), np.repeat(step, n), np.repeat(y, n)).maps_[1]
    assert weighted["a"] == pytest.approx(repeated["a"], abs=1e-8)
    assert weighted["b"] == pytest.approx(repeated["b"], abs=1e-8)
