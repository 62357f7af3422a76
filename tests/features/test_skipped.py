"""A small required core: a store that lacks optional tables or columns computes the features it
can feed and skips the others by name, with the inputs they lack, never filling placeholders."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from churnradar.cli import main
from churnradar.features import compute_features, write_snapshot
from churnradar.features.inputs import availability, feature_inputs, plan_features
from churnradar.features.registry import FEATURES
from churnradar.ingest import ingest
from churnradar.simulate import simulate
from churnradar.simulate.dialects import write_dialect
from churnradar.store.backends import open_backend

KEY = "skipped-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def wide_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wide prepaid export: subscriptions with an age on network, monthly usage and bills only."""
    root = tmp_path_factory.mktemp("skipped")
    simulate(subscribers=400, months=7, seed=8, out=root / "_canonical", fmt="parquet")
    res = write_dialect(root / "_canonical", root / "export", "wide-prepaid")
    store = root / "wide.duckdb"
    result = ingest(res.files, store, key=KEY, mapping=res.mapping)
    assert result.rejected == 0 and result.notes == []
    return store


def test_inputs_follow_the_values_and_the_declared_row_sources() -> None:
    inputs = feature_inputs()
    assert set(inputs) >= {"mou_1m", "tenure_months"}
    assert inputs["mou_1m"] == {
        "usage_monthly.month",
        "usage_monthly.voice_in_min",
        "usage_monthly.voice_out_min",
    }
    # the population is the shared core: tenure reads the activation date only, not the end events
    assert inputs["tenure_months"] == {"subscription.activation_date"}
    assert inputs["months_to_contract_end"] == {"subscription.contract_end"}
    # rows counted through a join are declared (lineage follows values only)
    assert "call_edge" in inputs["churned_neighbours_6m"]
    assert "subscription.customer_id" in inputs["customer_lines"]
    assert "usage_monthly.imei_hash" in inputs["imei_shared_subscriptions_1m"]


def test_a_store_lacking_optional_inputs_skips_exactly_the_features_that_read_them(wide_store: Path) -> None:
    bk = open_backend(wide_store)
    try:
        avail = availability(bk)
        assert "call_edge" not in avail.tables and "region" not in avail.tables
        assert "usage_monthly.competitor_min" in avail.empty_columns
        plan = plan_features(bk, "core")
        inputs = feature_inputs("core")
        for name, missing in plan.skipped.items():
            assert missing == avail.missing(inputs[name]) and missing, name
        for name in plan.computed:
            assert not avail.missing(inputs[name]), name
        assert {"mou_1m", "arpu_1m", "tenure_months", "recharge_amount_3m"} <= set(plan.computed)
        assert plan.skipped["competitor_share_3m"] == ["usage_monthly.competitor_min"]
        assert plan.skipped["suspensions_6m"] == ["status_event"]
        assert plan.skipped["customer_group"] == ["customer"]
        table = compute_features(bk, "2024-06", "core").to_pyarrow()
    finally:
        bk.close()
    assert table.column_names == ["subscriber_id", *plan.computed]
    # no computed column is a placeholder: each holds more than one value
    constant = [c for c in plan.computed if len(set(table.column(c).to_pylist())) < 2]
    assert len(constant) <= 2, constant


def test_the_snapshot_lists_its_skipped_features(wide_store: Path, capsys) -> None:
    result = write_snapshot(wide_store, "2024-06", "core")
    assert result.skipped and set(result.features).isdisjoint(result.skipped)
    assert len(result.features) + len(result.skipped) == len(
        [f for f in FEATURES.values() if f.name in result.features or f.name in result.skipped]
    )
    with duckdb.connect(str(wide_store), read_only=True) as con:
        stored = dict(
            con.execute(
                "SELECT feature, missing FROM feature_snapshot_skipped WHERE as_of = DATE '2024-06-01'"
            ).fetchall()
        )
    assert stored == {f: ", ".join(m) for f, m in result.skipped.items()}
    assert main(["features", "--store", str(wide_store), "--as-of", "2024-06", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"feature": "suspensions_6m", "missing": ["status_event"]} in out["skipped"]
    assert main(["features", "--store", str(wide_store), "--as-of", "2024-06"]) == 0
    text = capsys.readouterr().out
    assert "features skipped" in text and "no status_event:" in text


def test_a_complete_store_skips_nothing(small_operator) -> None:
    bk = open_backend(small_operator.store)
    try:
        plan = plan_features(bk, "core")
    finally:
        bk.close()
    assert plan.skipped == {}


def test_reports_that_need_end_events_are_skipped_with_the_reason(
    wide_store: Path, tmp_path: Path, capsys
) -> None:
    code = main(["report", "churn", "--store", str(wide_store), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "no report can be built" in err and "churn: no deregistration or port-out events" in err
    assert not any(tmp_path.iterdir())


def test_exit_metrics_are_unknown_not_zero_without_end_events(wide_store: Path, capsys) -> None:
    from churnradar.metrics import store_metrics

    res = store_metrics(wide_store, "2024-06")
    assert res.values["offnet_rate"] is None and res.values["deregistrations"] is None
    assert res.values["cancel_rate_t3"] is None and res.values["customer_retention"] is None
    assert res.values["lines_end"] > 0 and res.values["arpu"] > 0  # what the data do say
    assert "no deregistration or port-out" in res.to_dict()["notes"][0]
    assert main(["metrics", "--store", str(wide_store), "--month", "2024-06"]) == 0
    assert "exit figures cannot be computed" in capsys.readouterr().out
