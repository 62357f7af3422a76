"""The whole monthly cycle on Spark gives the DuckDB cycle's results: labels, features, training's
panel, scores and the metrics computed on Spark; segments and the target list follow from equal
scores. A CI-scale check (``slow`` and ``ci``: ``scripts/test.sh`` runs it in CI): one cycle per
engine on the small operator."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from churnradar.cycle import CycleOptions, run_cycle
from churnradar.errors import ConfigError
from churnradar.periods import parse_month
from churnradar.store import connect

MONTH = "2024-12"
BUDGET = 5_000
#: offers of the small operator have 53-89 logged treated members; the default (300) needs more
MIN_ARM_ROWS = 40


#: columns that name a run rather than a result (ids, clocks)
VOLATILE = {"model_id", "scored_at", "created_at", "computed_at", "written_at", "batch_id"}


def _rows(store: Path, table: str, month: str, month_col: str = "as_of", key: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    con = connect(store, read_only=True)
    try:
        t = con.execute(
            f'SELECT * FROM "{table}" WHERE "{month_col}" = ?', [parse_month(month)]
        ).fetch_arrow_table()
    finally:
        con.close()
    t = t.drop_columns([c for c in t.column_names if c in VOLATILE])
    return t.sort_by([(c, "ascending") for c in (key or t.column_names)])


@pytest.fixture(scope="module")
def both(small_operator, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    out = {}
    for backend in ("duckdb", "spark"):
        store = tmp_path_factory.mktemp(f"cycle-{backend}") / "store.duckdb"
        shutil.copy(small_operator.store, store)
        opts = CycleOptions(budget=BUDGET, backend=backend, min_arm_rows=MIN_ARM_ROWS)
        res = run_cycle(store, MONTH, opts).to_dict()
        out[backend] = (store, res)
    return out


def test_an_unknown_backend_is_refused_naming_the_allowed_ones(small_operator) -> None:
    with pytest.raises(ConfigError, match="--backend 'hive' is not known; expected one of duckdb, spark"):
        run_cycle(small_operator.store, MONTH, CycleOptions(backend="hive"))


@pytest.mark.slow
@pytest.mark.ci
@pytest.mark.spark
def test_the_cycle_on_spark_equals_the_cycle_on_duckdb(both) -> None:
    (duck, dres), (spark, sres) = both["duckdb"], both["spark"]
    for res, backend in ((dres, "duckdb"), (sres, "spark")):
        status = {s["name"]: s["status"] for s in res["stages"]}
        ran = ("labels", "features", "train", "score", "segments", "target", "metrics")
        assert all(status[s] == "ran" for s in ran), status
        for s in res["stages"]:
            if s["name"] in ("labels", "features", "score", "metrics"):
                assert s["detail"]["backend"] == backend
    # labels of the label month, every column
    label_month = next(x for x in dres["stages"] if x["name"] == "labels")["detail"]["as_of"]
    d, s = _rows(duck, "churn_label", label_month), _rows(spark, "churn_label", label_month)
    assert d.num_rows > 0 and d.equals(s)
    # the month's metrics within 1e-9
    d = _rows(duck, "metric_value", MONTH, "month", ("metric",)).to_pydict()
    s = _rows(spark, "metric_value", MONTH, "month", ("metric",)).to_pydict()
    assert d["metric"] == s["metric"] and d["provisional"] == s["provisional"] and len(d["metric"]) > 10
    for m, a, b in zip(d["metric"], d["value"], s["value"], strict=True):
        assert (a is None and b is None) or abs(a - b) <= 1e-9 * max(1.0, abs(a)), (m, a, b)
    # scores within 1e-9; everything else in the batch equal
    d, s = (
        _rows(duck, "score", MONTH, key=("subscriber_id",)),
        _rows(spark, "score", MONTH, key=("subscriber_id",)),
    )
    assert d.num_rows > 2_000 and d.column_names == s.column_names
    close = [c for c in d.column_names if c.startswith("p_churn") or c == "health_score"]
    for c in d.column_names:
        if c in close:
            np.testing.assert_allclose(s.column(c).to_numpy(), d.column(c).to_numpy(), rtol=0, atol=1e-9)
        else:
            assert s.column(c).equals(d.column(c)), c
    # segments and the target list from those scores
    assert _rows(duck, "value_segment", MONTH).equals(_rows(spark, "value_segment", MONTH))
    d, s = _rows(duck, "target_list", MONTH), _rows(spark, "target_list", MONTH)
    assert d.num_rows > 0 and d.equals(s)
