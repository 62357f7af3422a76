"""Retention outcomes count off-net exits only: the old number of an in-network re-selection is a
customer who stayed."""

from __future__ import annotations

import duckdb

from churnradar.labels import churn_events, get_definition
from churnradar.retention.risk import EXITS_SQL, exits
from churnradar.store.backends import open_backend


def test_exits_leave_out_reselections_and_keep_every_offnet_exit(small_operator):
    store = small_operator.store
    bk = open_backend(store)
    try:
        ev = bk.to_pyarrow(churn_events(bk, get_definition("offnet"))).to_pandas()
    finally:
        bk.close()
    resel = set(ev.loc[ev.kind.isin(["number_reselection", "tariff_reselection"]), "subscriber_id"])
    offnet = set(ev.loc[ev.kind.isin(["offnet", "port_out"]), "subscriber_id"])
    assert resel, "the simulated operator should have in-network re-selections"
    con = duckdb.connect(str(store), read_only=True)
    try:
        every_end = set(con.sql(EXITS_SQL).df().subscriber_id)
    finally:
        con.close()
    got = exits(store)
    assert got.subscriber_id.is_unique
    assert set(got.subscriber_id) == every_end - resel
    assert set(got.subscriber_id) == offnet
