"""The whole core feature set gives the same table on DuckDB and on Spark.

Reference: DuckDB on the store file. Candidate: the current backend reading the store's Parquet
export. Keys and integers, booleans and strings must be identical; floats equal within a relative
1e-9; nulls in the same places; the same schema.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from churnradar.features import compute_features, get_feature_set
from churnradar.store.backends import open_backend

AS_OF = "2024-09"


def table_differences(ref: pa.Table, got: pa.Table, rel: float = 1e-9) -> list[str]:
    """Human-readable differences between two feature tables sorted by subscriber_id."""
    problems = []
    if ref.schema != got.schema:
        problems.append(f"schemas differ:\n{ref.schema}\n---\n{got.schema}")
        return problems
    if ref.num_rows != got.num_rows:
        return [f"row counts differ: {ref.num_rows} vs {got.num_rows}"]
    for name in ref.column_names:
        a, b = ref[name].to_pylist(), got[name].to_pylist()
        floating = pa.types.is_floating(ref.schema.field(name).type)
        bad = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x is None or y is None:
                same = x is None and y is None
            elif floating:
                same = math.isclose(x, y, rel_tol=rel, abs_tol=0.0) or (math.isnan(x) and math.isnan(y))
            else:
                same = x == y
            if not same:
                bad.append((ref["subscriber_id"][i].as_py(), x, y))
        if bad:
            problems.append(f"{name}: {len(bad)} rows differ, e.g. {bad[:3]}")
    return problems


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by("subscriber_id")


@pytest.fixture(scope="module")
def reference(operator_store) -> pa.Table:
    be = open_backend(operator_store)
    try:
        return _sorted(compute_features(be, AS_OF).to_pyarrow())
    finally:
        be.close()


def test_core_features_identical_on_every_backend(
    reference, operator_store, parquet_export, backend_name, open_on
):
    be = open_on(parquet_export(operator_store))
    got = _sorted(be.to_pyarrow(compute_features(be, AS_OF)))
    assert reference.column_names == ["subscriber_id", *get_feature_set("core").features]
    assert reference.num_rows > 1_000
    assert table_differences(reference, got) == []


def test_difference_check_catches_a_changed_value(reference):
    # the parity check itself must be able to fail
    col = reference.column_names.index("arpu_trend_3m")
    values = reference["arpu_trend_3m"].to_pylist()
    i = next(i for i, v in enumerate(values) if v)
    values[i] = values[i] * (1 + 1e-6)
    changed = reference.set_column(col, "arpu_trend_3m", pa.array(values, pa.float64()))
    assert table_differences(reference, changed) != []
    assert table_differences(reference, reference) == []
