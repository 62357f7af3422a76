"""The DuckDB backend compiles an expression once and reuses the SQL for an identical one."""

from __future__ import annotations

from churnradar.features import compute_features
from churnradar.store.backends import open_backend

FEATURES = ["arpu_3m_mean", "complaints_3m", "call_peers_3m", "tenure_months"]


def test_rebuilt_expression_reuses_compiled_sql(synthetic_store):
    be = open_backend(synthetic_store)
    try:

        def run(month):  # row order is not defined without ORDER BY
            return be.to_pyarrow(compute_features(be, month, FEATURES)).sort_by("subscriber_id")

        first = run("2024-12")
        assert len(be._sql) == 1
        again = run("2024-12")  # a new, equal expression
        assert len(be._sql) == 1
        assert again.equals(first)
        other = run("2024-11")  # another month: new SQL
        assert len(be._sql) == 2
        assert not other.equals(first)
    finally:
        be.close()
