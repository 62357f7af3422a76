"""Point in time: nothing computed for month T depends on data after the end of T.

Two copies of a store are compared for T = 2024-09:

* *as of T*: every row dated after the end of T removed (what the store held then);
* *with a future*: the full store (three more months already) plus a year of invented future:
  usage, bills, call edges and network quality moved 12 months ahead, every subscriber deregistered
  and complaining in 2025, new subscriptions re-using our numbers, families and customers,
  campaign contacts and outcomes after T.

Every feature of the core set must be identical on both.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from churnradar.features import Feature, FeatureSet, compute_features, get_feature_set
from churnradar.store.backends import open_backend

AS_OF = "2024-09"
END = "DATE '2024-10-01'"
END_TS = "TIMESTAMP '2024-10-01 00:00:00'"


def truncate_to_t(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    con = duckdb.connect(str(dst))
    try:
        for table in ("usage_monthly", "billing_monthly", "call_edge", "network_quality"):
            con.execute(f"DELETE FROM {table} WHERE month >= {END}")
        con.execute(f"DELETE FROM status_event WHERE event_time >= {END_TS}")
        con.execute(f"DELETE FROM interaction WHERE interaction_time >= {END_TS}")
        con.execute(f"DELETE FROM subscription WHERE activation_date >= {END}")
        con.execute(f"DELETE FROM contact WHERE assigned_date >= {END}")
        con.execute(
            f"UPDATE contact SET contacted = false, contact_time = NULL WHERE contact_time >= {END_TS}"
        )
        con.execute(f"DELETE FROM outcome WHERE recorded_time >= {END_TS}")
    finally:
        con.close()
    return dst


def add_future(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    con = duckdb.connect(str(dst))
    try:
        for table in ("usage_monthly", "billing_monthly", "call_edge", "network_quality"):
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT * REPLACE (month + INTERVAL 12 MONTH AS month) "
                f"FROM {table} WHERE month >= DATE '2024-07-01'"
            )
        con.execute(
            "UPDATE usage_monthly SET voice_out_min = voice_out_min * 7 WHERE month >= DATE '2025-01-01'"
        )
        # everybody leaves, suspends and complains after T
        con.execute(
            "INSERT INTO status_event BY NAME SELECT subscriber_id, TIMESTAMP '2024-10-01 00:00:00' AS event_time, "
            "'suspend_twoway' AS event_type, 'arrears' AS reason FROM subscription"
        )
        con.execute(
            "INSERT INTO status_event BY NAME SELECT subscriber_id, TIMESTAMP '2025-01-15 00:00:00' AS event_time, "
            "'port_out' AS event_type, 'port_out' AS reason FROM subscription"
        )
        con.execute(
            "INSERT INTO interaction BY NAME SELECT 'future-' || subscriber_id AS interaction_id, subscriber_id, "
            f"{END_TS} AS interaction_time, 'complaint' AS kind, 'regulator' AS channel, "
            "'network' AS topic, false AS resolved FROM subscription"
        )
        # new subscriptions after T on our numbers, in our families, of our customers
        con.execute(
            "INSERT INTO subscription BY NAME SELECT * REPLACE ('new-' || subscriber_id AS subscriber_id, "
            "DATE '2024-10-01' AS activation_date) FROM subscription"
        )
        # campaign contacts and outcomes after T
        con.execute(
            "INSERT INTO contact BY NAME SELECT * REPLACE ('future-' || contact_id AS contact_id, "
            "DATE '2024-10-02' AS assigned_date, true AS contacted, "
            "TIMESTAMP '2024-10-03 00:00:00' AS contact_time) FROM contact"
        )
        con.execute(
            "INSERT INTO outcome BY NAME SELECT * REPLACE ('future-' || outcome_id AS outcome_id, "
            "TIMESTAMP '2024-10-05 00:00:00' AS recorded_time, true AS accepted) FROM outcome"
        )
        con.execute(
            "UPDATE contact SET contacted = true, contact_time = TIMESTAMP '2024-10-01 00:00:00' "
            "WHERE NOT contacted"
        )
    finally:
        con.close()
    return dst


def compute(store: Path, feature_set) -> pa.Table:
    be = open_backend(store)
    try:
        return compute_features(be, AS_OF, feature_set).to_pyarrow().sort_by("subscriber_id")
    finally:
        be.close()


def differing_columns(a: pa.Table, b: pa.Table) -> list[str]:
    assert a.column_names == b.column_names
    assert a["subscriber_id"].equals(b["subscriber_id"]), "the population at T changed"
    out = []
    for name in a.column_names:
        x, y = a[name].to_pylist(), b[name].to_pylist()
        if pa.types.is_floating(a.schema.field(name).type):
            same = all(
                (u is None and v is None)
                or (u is not None and v is not None and math.isclose(u, v, rel_tol=1e-9, abs_tol=0.0))
                for u, v in zip(x, y, strict=True)
            )
        else:
            same = x == y
        if not same:
            out.append(name)
    return out


@pytest.fixture(scope="module")
def stores(any_store, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("pit")
    return truncate_to_t(any_store, root / "as_of_t.duckdb"), add_future(any_store, root / "future.duckdb")


def test_no_feature_for_t_changes_when_the_future_is_added(stores):
    at_t, future = stores
    core = get_feature_set("core")
    a, b = compute(at_t, core), compute(future, core)
    assert a.num_rows > 1_000
    assert differing_columns(a, b) == []


def _leaky_mou(usage_monthly):
    """Voice minutes summed over every month in the store (reads the future)."""
    u = usage_monthly
    return u.group_by("subscriber_id").agg(leaky_mou=(u.voice_out_min + u.voice_in_min).sum())


def test_the_check_catches_a_feature_that_reads_the_future(stores):
    at_t, future = stores
    leaky = Feature("leaky_mou", _leaky_mou, ("usage_monthly",), theme="usage", driver="life_event")
    fs = FeatureSet("leak", "0", ("mou_1m", "leaky_mou"), overrides=(leaky,))
    assert differing_columns(compute(at_t, fs), compute(future, fs)) == ["leaky_mou"]
