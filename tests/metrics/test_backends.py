"""The metrics are Ibis expressions: the same figures on Spark as on DuckDB (slow: Spark runs each
family's query separately, about 1–10 minutes on two cores)."""

from __future__ import annotations

import os

import pytest

from churnradar.metrics import store_metrics


@pytest.mark.slow
@pytest.mark.spark
def test_every_metric_is_the_same_on_spark(small_operator):
    pytest.importorskip("pyspark")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    ref = store_metrics(small_operator.store, "2024-09").values
    got = store_metrics(small_operator.store, "2024-09", backend="spark").values
    assert set(got) == set(ref)
    for mid, want in ref.items():
        if want is None or isinstance(want, int):
            assert got[mid] == want, mid
        else:
            assert got[mid] == pytest.approx(want, rel=1e-9), mid
