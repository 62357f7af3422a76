"""`churnradar features`: listing the library and writing feature_snapshot."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from churnradar.cli import main
from churnradar.features import get_feature_set


def test_list_prints_every_feature_with_theme_definition_and_driver(capsys):
    assert main(["features", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    core = get_feature_set("core")
    assert listed["version"] == core.full_version
    assert [f["name"] for f in listed["features"]] == list(core.features)
    first = listed["features"][0]
    assert {"theme", "definition", "driver", "reason", "dtype"} <= set(first)
    assert main(["features", "--list"]) == 0
    out = capsys.readouterr().out
    assert "arpu_trend_3m" in out
    assert "churned_neighbour_share_6m" in out


@pytest.fixture
def store(synthetic_feature_store, tmp_path):
    return shutil.copy(synthetic_feature_store, tmp_path / "store.duckdb")


def snapshot_counts(store) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.sql(
            "SELECT strftime(as_of, '%Y-%m'), feature_set, version, count(*), count(DISTINCT subscriber_id) "
            "FROM feature_snapshot GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()


def test_features_writes_the_snapshot_and_replaces_the_same_month(store, capsys):
    core = get_feature_set("core")
    assert main(["features", "--store", str(store), "--as-of", "2024-09", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] > 1_000
    assert result["columns"] == 4 + len(core.features)
    assert result["version"] == core.full_version
    # re-running the same month replaces its rows; another month adds its own
    assert main(["features", "--store", str(store), "--as-of", "2024-09", "--json"]) == 0
    assert main(["features", "--store", str(store), "--as-of", "2024-08", "--feature-set", "numeric"]) == 0
    assert "rows" in capsys.readouterr().out
    counts = snapshot_counts(store)
    assert [(c[0], c[1]) for c in counts] == [("2024-08", "numeric"), ("2024-09", "core")]
    assert counts[1][3] == counts[1][4] == result["rows"]
    con = duckdb.connect(str(store), read_only=True)
    try:
        cols = [r[0] for r in con.sql("DESCRIBE feature_snapshot").fetchall()]
        active = con.sql(
            "SELECT count(*) FROM subscription s WHERE activation_date < DATE '2024-10-01' AND NOT EXISTS "
            "(SELECT 1 FROM status_event e WHERE e.subscriber_id = s.subscriber_id AND "
            "e.event_type IN ('deregister', 'port_out') AND e.event_time < TIMESTAMP '2024-10-01')"
        ).fetchone()[0]
    finally:
        con.close()
    assert cols[:4] == ["as_of", "feature_set", "version", "subscriber_id"]
    assert cols[4:] == list(core.features)
    assert result["rows"] == active


def test_bad_input_is_one_line_and_exit_code_1(store, capsys):
    assert main(["features", "--store", str(store), "--as-of", "2024-13"]) == 1
    assert "is not valid; expected YYYY-MM" in capsys.readouterr().err
    assert main(["features", "--store", str(store), "--as-of", "2024-09", "--feature-set", "x"]) == 1
    assert "unknown feature set" in capsys.readouterr().err
    assert main(["features", "--store", str(store.parent / "missing.duckdb"), "--as-of", "2024-09"]) == 1
    assert main(["features", "--store", str(store), "--as-of", "2024-09", "--backend", "gpu"]) == 1
    assert "unknown backend" in capsys.readouterr().err
