"""Churn events and labels are identical on DuckDB and Spark."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from churnradar.labels import build_labels, churn_events, get_definition
from churnradar.store.backends import open_backend

AS_OF = date(2024, 7, 1)
EVENT_KEYS = ["subscriber_id", "kind", "event_month"]


def _sorted(t: pa.Table, keys: list[str]) -> list[dict]:
    return t.sort_by([(k, "ascending") for k in keys]).to_pylist()


def _compute(bk, d):
    events = bk.to_pyarrow(churn_events(bk, d))
    labels = bk.to_pyarrow(build_labels(bk, AS_OF, d))
    return events, labels


def test_labels_identical_on_every_backend(small_operator, open_on):
    d = get_definition("offnet")
    ref_bk = open_backend(small_operator.store, "duckdb")
    try:
        ref_events, ref_labels = _compute(ref_bk, d)
    finally:
        ref_bk.close()
    events, labels = _compute(open_on(small_operator.store), d)
    assert events.num_rows == ref_events.num_rows > 0
    assert _sorted(events.select(ref_events.column_names), EVENT_KEYS) == _sorted(ref_events, EVENT_KEYS)
    assert labels.num_rows == ref_labels.num_rows > 0
    assert _sorted(labels.select(ref_labels.column_names), ["subscriber_id"]) == _sorted(
        ref_labels, ["subscriber_id"]
    )
