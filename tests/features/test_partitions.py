"""Features in subscriber partitions: the snapshot equals the one computed in one query.

Partition ``i`` of ``n`` reads only its subscribers' rows; the nodes that count other
subscribers' rows (lines per number, members per family group, lines per handset or customer)
are declared across subscribers and computed once. If one of them were not, the partitioned
snapshot would differ: the last test shows the comparison catches it.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from tests.features.test_point_in_time import differing_columns

from churnradar.errors import ConfigError
from churnradar.features import write_snapshot
from churnradar.features.partitions import Partition, check_partitions, partitions_for, shared_nodes
from churnradar.features.registry import NODES
from churnradar.features.sets import get_feature_set

AS_OF = "2024-09"


def snapshot(store: Path, partitions: int) -> pa.Table:
    write_snapshot(store, AS_OF, "core", partitions=partitions)
    con = duckdb.connect(str(store), read_only=True)
    try:
        t = con.execute(
            "SELECT * EXCLUDE (as_of, feature_set, version) FROM feature_snapshot "
            "WHERE as_of = DATE '2024-09-01' AND feature_set = 'core'"
        ).to_arrow_table()
    finally:
        con.close()
    return t.sort_by("subscriber_id")


@pytest.fixture(scope="module")
def whole(small_operator, tmp_path_factory) -> tuple[Path, pa.Table]:
    """The simulated operator's snapshot in one query (its families, numbers and handsets are shared
    the way an operator's are, which the synthetic store's random ones are not)."""
    store = tmp_path_factory.mktemp("partitions") / "store.duckdb"
    shutil.copy(small_operator.store, store)
    return store, snapshot(store, 1)


def test_partitioned_snapshot_equals_the_whole(whole):
    store, expected = whole
    got = snapshot(store, 3)
    assert got.num_rows == expected.num_rows > 1_000
    assert differing_columns(expected, got) == []


def test_a_node_across_subscribers_computed_per_partition_changes_the_snapshot(whole, monkeypatch):
    store, expected = whole
    for name in ("family_groups", "number_status", "imei_lines", "lines_per_customer"):
        monkeypatch.setitem(NODES, name, dataclasses.replace(NODES[name], across_subscribers=False))
    changed = differing_columns(expected, snapshot(store, 3))
    assert "family_group_size" in changed
    assert "churned_neighbours_6m" in changed


def test_the_shared_nodes_are_those_across_subscribers_read_from_per_subscriber_nodes():
    fs = get_feature_set("core")
    wanted = ["population", *(f.name for f in fs.resolve())]
    shared = shared_nodes(wanted, fs.nodes(), lambda n: n)
    assert {"number_status", "number_departures", "family_groups", "family_numbers"} <= set(shared)
    assert {"imei_lines", "lines_per_customer"} <= set(shared)
    assert all(NODES[n].across_subscribers for n in shared)
    # the nodes they are computed from are not read by a partition
    assert "line_departures" not in shared


def test_partitions_grow_with_the_store_and_shrink_with_the_memory():
    gib = 2**30
    assert partitions_for(1_000_000, None) == 1
    assert partitions_for(10_000, 4 * gib) == 1
    assert partitions_for(1_000_000, 4 * gib) > partitions_for(1_000_000, 16 * gib) >= 1
    assert partitions_for(10_000_000, 4 * gib) > partitions_for(1_000_000, 4 * gib)
    assert partitions_for(10**12, gib) == 64


@pytest.mark.parametrize("bad", [0, -1, 65, 2.5, True])
def test_a_bad_partition_count_names_the_value_and_the_range(bad):
    with pytest.raises(ConfigError, match=r"1 to 64"):
        check_partitions(bad)
    with pytest.raises(ConfigError):
        Partition(3, 3)
