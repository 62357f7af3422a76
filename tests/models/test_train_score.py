"""Training into the registry, scoring into `score`: provenance, refusals, atomic batches, CLI."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from tests.models.conftest import AS_OF, SMALL, read_scores

from churnradar.cli import main
from churnradar.models import FeatureSetMismatchError, list_models, load_model, score_store, train_store


def test_train_stores_model_with_hash_feature_set_params_and_metrics(trained_store):
    (rec,) = [r for r in list_models(trained_store.store) if r.model_id == trained_store.model_id]
    assert len(rec.data_hash) == 64
    assert rec.feature_set == "core" and "+" in rec.feature_set_version
    assert rec.params["n_estimators"] == SMALL["n_estimators"]
    assert rec.params["horizons"] == [1, 2, 3]
    assert "hazard_auc_step1" in rec.metrics and rec.metrics["panel_rows"] > 0
    assert f"{rec.as_of:%Y-%m}" == AS_OF
    _, model = load_model(trained_store.store, trained_store.model_id[:6])
    assert model.model_id == trained_store.model_id


def test_same_data_and_seed_give_the_same_model_id(trained_store, tmp_path):
    store = tmp_path / "again.duckdb"
    shutil.copy(trained_store.store, store)
    again = train_store(store, AS_OF, params=SMALL)
    assert again.model_id == trained_store.model_id
    assert again.record.data_hash == trained_store.result.record.data_hash


def test_score_covers_the_population_once(trained_store):
    s = read_scores(trained_store.store)
    assert s["subscriber_id"].is_unique
    assert (s["model_id"] == trained_store.model_id).all()
    assert s["health_score"].between(0, 100).all()
    assert set(s["risk_level"]) <= {"low", "medium", "high", "very_high"}


def test_score_refuses_model_with_other_feature_set(trained_store, tmp_path, capsys):
    store = tmp_path / "other.duckdb"
    shutil.copy(trained_store.store, store)
    con = duckdb.connect(str(store))
    con.execute("UPDATE model SET feature_set_version = '0.9+000000000000'")
    con.close()
    with pytest.raises(FeatureSetMismatchError, match=r"0\.9\+000000000000.*retrain"):
        score_store(store, AS_OF)
    assert main(["score", "--store", str(store), "--as-of", AS_OF]) == 1
    err = capsys.readouterr().err
    assert "feature set core 0.9+000000000000" in " ".join(err.split())


def test_failed_scoring_leaves_the_previous_batch(trained_store, tmp_path, monkeypatch):
    store = tmp_path / "atomic.duckdb"
    shutil.copy(trained_store.store, store)
    before = read_scores(store)
    import churnradar.models.pipeline as pipeline

    def broken(*a, **k):
        raise RuntimeError("killed half-way")

    monkeypatch.setattr(pipeline, "finish_scores", broken)
    with pytest.raises(RuntimeError):
        score_store(store, AS_OF)
    after = read_scores(store)
    assert len(after) == len(before)
    assert after["p_churn_3m"].tolist() == before["p_churn_3m"].tolist()


def test_rescoring_replaces_the_batch(trained_store, tmp_path):
    store = tmp_path / "twice.duckdb"
    shutil.copy(trained_store.store, store)
    n = len(read_scores(store))
    score_store(store, AS_OF, exact_share=0.0)
    s = read_scores(store)
    assert len(s) == n and (s["reason_method"] == "path").all()


def test_score_cli_prints_json_summary(trained_store, tmp_path, capsys):
    store = tmp_path / "cli.duckdb"
    shutil.copy(trained_store.store, store)
    assert main(["score", "--store", str(store), "--as-of", AS_OF, "--json", "--top", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model_id"] == trained_store.model_id and len(out["top"]) == 3
    assert out["top"][0]["risk_rank"] == 1


def test_score_without_a_model_says_what_to_do(small_operator, tmp_path, capsys):
    store = tmp_path / "none.duckdb"
    shutil.copy(small_operator.store, store)
    assert main(["score", "--store", str(store), "--as-of", AS_OF]) == 1
    assert "churnradar train" in capsys.readouterr().err


def test_train_refuses_an_as_of_without_history(small_operator, tmp_path, capsys):
    store = tmp_path / "early.duckdb"
    shutil.copy(small_operator.store, store)
    assert main(["train", "--store", str(store), "--as-of", "2024-02"]) == 1
    assert "at least two outcome months" in " ".join(capsys.readouterr().err.split())


# Spark's features and scoring of one month (≈ 50 s here): CI runs it with the cycle's Spark parity
@pytest.mark.slow
@pytest.mark.ci
@pytest.mark.spark
def test_spark_scores_equal_duckdb_scores(trained_store):
    import numpy as np

    duck = score_store(trained_store.store, AS_OF, write=False).table.sort_by("subscriber_id")
    spark = score_store(trained_store.store, AS_OF, backend="spark", write=False).table.sort_by(
        "subscriber_id"
    )
    assert duck.column("subscriber_id").equals(spark.column("subscriber_id"))
    for c in ("p_churn_1m", "p_churn_2m", "p_churn_3m", "health_score"):
        np.testing.assert_allclose(spark.column(c).to_numpy(), duck.column(c).to_numpy(), rtol=0, atol=1e-12)
    for c in ("risk_rank", "risk_level", "reason_1", "reason_2", "reason_3", "reason_method"):
        assert spark.column(c).equals(duck.column(c)), c
