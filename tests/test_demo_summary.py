"""The demo's summary counts 销户 and 携出 as the metrics layer does (one number per KPI)."""

from __future__ import annotations

from churnradar.demo import store_summary
from churnradar.metrics import store_metrics


def test_demo_summary_equals_the_metrics_layer(small_operator):
    s = store_summary(small_operator.store)
    assert s["first_month"] == "2024-01" and s["last_month"] == "2024-12"
    for month in ("2024-03", "2024-09", "2024-12"):
        v = store_metrics(small_operator.store, month).values
        assert s["recorded_churn_by_month"][month] == {
            "deregistered": v["deregistrations"],
            "ported_out": v["port_outs"],
        }
    assert s["recorded_churn_by_kind"]["deregistered"] > 0
