"""Churn labels on a simulated operator: every kind found where the simulator put it."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from churnradar.cli import main
from churnradar.errors import ConfigError
from churnradar.evaluate.agreement import agreement
from churnradar.labels import build_labels, churn_events, get_definition, label_store, population
from churnradar.store.backends import open_backend

AS_OF = date(2024, 6, 1)


@pytest.fixture(scope="module")
def agreement_operator(tmp_path_factory):
    """20,000 subscribers × 15 months: enough re-selections (≈170) for a per-kind agreement bound."""
    # load tests/conftest.py by path: a bare `import conftest` may find another folder's conftest module
    spec = importlib.util.spec_from_file_location(
        "_tests_root_conftest", Path(__file__).parents[1] / "conftest.py"
    )
    root = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = root  # dataclasses look their module up here
    spec.loader.exec_module(root)
    return root.build_operator(
        tmp_path_factory.mktemp("labels_agreement"), subscribers=20_000, months=15, seed=5
    )


@pytest.fixture(scope="module")
def events(agreement_operator):
    bk = open_backend(agreement_operator.store)
    try:
        return bk.to_pyarrow(churn_events(bk, get_definition("offnet")))
    finally:
        bk.close()


@pytest.fixture(scope="module")
def truth(agreement_operator):
    return pq.read_table(agreement_operator.truth)


@pytest.fixture(scope="module")
def agree(events, truth):
    return agreement(events, truth, date(2024, 1, 1), date(2025, 3, 1))["kinds"]


@pytest.mark.parametrize("kind", ["offnet", "port_out", "number_reselection", "tariff_reselection"])
def test_offnet_and_reselection_agree_with_truth(agree, kind):
    k = agree[kind]
    assert k["true"] > 0, f"the simulator made no {kind} in the window"
    assert k["precision"] >= 0.95 and k["recall"] >= 0.95, k


@pytest.mark.parametrize("kind", ["brand_downgrade", "silent"])
def test_in_network_changes_agree_with_truth(agree, kind):
    k = agree[kind]
    assert k["true"] > 0
    assert k["precision"] >= 0.9 and k["recall"] >= 0.9, k


def test_value_decline_is_found(agree):
    # Revenue is noisy month to month in the simulator; value decline is reported, not near-perfect.
    assert agree["value_decline"]["predicted"] > 0
    assert agree["value_decline"]["recall"] > 0


def test_reselected_number_is_not_offnet_churn(events, truth):
    """Within the observable window (3 months from either end of the data)."""
    con = duckdb.connect()
    con.register("ev", events)
    con.register("truth", truth)
    resel = con.sql(
        "SELECT count(*) FROM truth t JOIN ev e USING (subscriber_id) "
        "WHERE t.kind IN ('number_reselection', 'tariff_reselection') AND e.kind IN ('offnet', 'port_out') "
        "AND t.left_month BETWEEN DATE '2024-04-01' AND DATE '2024-12-01'"
    ).fetchone()[0]
    n_truth = con.sql(
        "SELECT count(*) FROM truth WHERE kind IN ('number_reselection', 'tariff_reselection') "
        "AND left_month BETWEEN DATE '2024-04-01' AND DATE '2024-12-01'"
    ).fetchone()[0]
    assert n_truth > 0
    assert resel <= 0.05 * n_truth


def test_every_offnet_event_has_a_reason_and_intent(events):
    con = duckdb.connect()
    con.register("ev", events)
    bad = con.sql(
        "SELECT count(*) FROM ev WHERE kind IN ('offnet', 'port_out') AND (reason_code IS NULL OR intent IS NULL)"
    ).fetchone()[0]
    assert bad == 0
    ports = con.sql("SELECT DISTINCT reason_code FROM ev WHERE kind = 'port_out'").fetchall()
    assert ports == [("competitor",)]


def test_last_activity_dating_precedes_recorded_deregistration(events):
    con = duckdb.connect()
    con.register("ev", events)
    lag = con.sql(
        "SELECT median(date_diff('month', event_month, recorded_month)) FROM ev WHERE kind = 'offnet'"
    ).fetchone()[0]
    assert 2 <= lag <= 4  # arrears → suspension → deregistration takes about three months


def test_horizon_labels_are_nested(small_operator):
    bk = open_backend(small_operator.store)
    try:
        lab = bk.to_pyarrow(build_labels(bk, AS_OF, get_definition("offnet"))).to_pandas()
    finally:
        bk.close()
    assert len(lab) > 0 and lab.subscriber_id.is_unique
    assert (lab.churn_within_1m <= lab.churn_within_2m).all()
    assert (lab.churn_within_2m <= lab.churn_within_3m).all()
    assert lab.churn_within_3m.sum() > 0
    assert (lab.event_month.dropna() > AS_OF).all()


def test_population_ignores_data_after_as_of(small_operator, tmp_path):
    """Appending (here: removing) everything after as_of leaves the label population unchanged."""
    copy = tmp_path / "past.duckdb"
    shutil.copy(small_operator.store, copy)
    con = duckdb.connect(str(copy))
    cutoff = "2024-07-01"
    con.execute(f"DELETE FROM status_event WHERE event_time >= TIMESTAMP '{cutoff}'")
    con.execute(f"DELETE FROM usage_monthly WHERE month >= DATE '{cutoff}'")
    con.execute(f"DELETE FROM billing_monthly WHERE month >= DATE '{cutoff}'")
    con.execute(f"DELETE FROM subscription WHERE activation_date >= DATE '{cutoff}'")
    con.close()

    def pop(path):
        bk = open_backend(path)
        try:
            return sorted(bk.to_pyarrow(population(bk, AS_OF)).column("subscriber_id").to_pylist())
        finally:
            bk.close()

    assert pop(copy) == pop(small_operator.store)


def test_label_store_writes_churn_label_and_replaces_it(small_operator, tmp_path):
    store = tmp_path / "s.duckdb"
    shutil.copy(small_operator.store, store)
    first = label_store(store, "2024-06")
    again = label_store(store, "2024-06")
    con = duckdb.connect(str(store), read_only=True)
    n = con.sql("SELECT count(*) FROM churn_label WHERE as_of = DATE '2024-06-01'").fetchone()[0]
    con.close()
    assert n == first.labels.num_rows == again.labels.num_rows
    assert first.summary["by_kind"]["offnet"] > 0


def test_label_cli_json_by_kind(small_operator, tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    shutil.copy(small_operator.store, store)
    assert main(["label", "--store", str(store), "--as-of", "2024-05", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["by_kind"]) >= {"offnet", "port_out", "number_reselection", "tariff_reselection"}
    assert out["by_kind"]["offnet"] > 0
    assert sum(out["by_month"].values()) == out["by_kind"]["offnet"] + out["by_kind"]["port_out"]


def test_unknown_definition_is_a_clear_error(small_operator, capsys):
    assert (
        main(["label", "--store", str(small_operator.store), "--as-of", "2024-05", "--definition", "x"]) == 1
    )
    assert "unknown churn definition 'x'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="horizons"):
        get_definition("offnet").with_params(horizons=(3, 1))


def test_label_warns_when_the_data_cannot_show_the_horizon(small_operator, tmp_path):
    store = tmp_path / "s.duckdb"
    shutil.copy(small_operator.store, store)
    early = label_store(store, "2024-06", write=False).summary
    late = label_store(store, "2024-10", write=False).summary
    assert early["complete"] and early["warning"] is None
    assert not late["complete"] and "deregistration lag" in late["warning"]
