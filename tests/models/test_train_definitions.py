"""Training on an operator without lifecycle events: the churn definition on the command line, the
usage-based default, and no model stored from too few churn events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from churnradar.cli import main
from churnradar.ingest import ingest
from churnradar.simulate import simulate
from churnradar.simulate.dialects import write_dialect


@pytest.fixture(scope="module")
def wide_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wide_train")
    simulate(subscribers=800, months=9, seed=6, out=root / "_canonical", fmt="parquet")
    res = write_dialect(root / "_canonical", root / "export", "wide-prepaid")
    store = root / "wide.duckdb"
    ingest(res.files, store, key="train-test-key-0123456789", mapping=res.mapping)
    return store


def test_train_refuses_a_definition_without_churn_events(wide_store: Path, capsys) -> None:
    code = main(["train", "--store", str(wide_store), "--as-of", "2024-08", "--definition", "offnet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "churn definition offnet: only 0 churn events in the training window" in err
    assert "no model was stored" in err and "try --definition silent:30" in err
    assert main(["score", "--store", str(wide_store), "--as-of", "2024-08"]) == 1  # nothing to score with


def test_train_without_events_uses_silence_and_says_so(wide_store: Path, capsys) -> None:
    assert main(["train", "--store", str(wide_store), "--as-of", "2024-08", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["label_definition"] == "silent:30"
    assert out["notes"][0].startswith("the store has no deregistration or port-out events")
    assert (
        main(
            ["score", "--store", str(wide_store), "--as-of", "2024-08", "--definition", "silent:30", "--json"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["rows"] > 0
    assert main(["score", "--store", str(wide_store), "--as-of", "2024-08", "--definition", "offnet"]) == 1
    assert "no model of churn definition offnet" in capsys.readouterr().err


def test_backtest_without_events_uses_silence_and_keeps_origins_inside_the_data(
    wide_store: Path, capsys
) -> None:
    assert main(["backtest", "--store", str(wide_store), "--horizon", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"]["definition"] == "silent:30"
    assert out["origins"] == ["2024-05", "2024-06", "2024-07"]
    assert main(["backtest", "--store", str(wide_store), "--horizon", "1", "--n-origins", "9"]) == 1
    err = capsys.readouterr().err
    assert "the data cover 2024-01 … 2024-09: an origin needs three months of data before it" in err
