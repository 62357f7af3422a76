"""The model page's library reads: realised outcomes of earlier scores by the shared churn
definition, drift from the monitoring tables, curve points, and the features' names."""

from __future__ import annotations

import re
import shutil
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from churnradar.periods import add_months

MONTH = date(2024, 6, 1)  # settled: the small operator's data run to 2024-12 (1 + 3 months needed)


@pytest.fixture(scope="module")
def lines(small_operator):
    """Lines of the small operator by what happened after ``MONTH`` under the off-net definition:
    left in MONTH + 1, left in MONTH + 2, re-selected (a new number of ours) in MONTH + 1, stayed."""
    from churnradar.labels import get_definition
    from churnradar.labels.events import exits_and_reselections
    from churnradar.store.backends import open_backend

    bk = open_backend(small_operator.store, "duckdb")
    try:
        exits, resel = exits_and_reselections(bk, get_definition("offnet"))
        ex = bk.to_pyarrow(exits).to_pandas()  # off-net exits, re-selections left out
        rs = bk.to_pyarrow(resel).to_pandas()
        subs = bk.to_pyarrow(bk.table("subscription").select("subscriber_id", "activation_date")).to_pandas()
    finally:
        bk.close()
    for df in (ex, rs):
        df["event_month"] = df["event_month"].map(lambda v: date(v.year, v.month, 1))
    left1 = sorted(ex[ex["event_month"] == add_months(MONTH, 1)]["subscriber_id"])[:5]
    resel1 = sorted(rs[rs["event_month"] == add_months(MONTH, 1)]["subscriber_id"])[:3]
    left2 = sorted(ex[ex["event_month"] == add_months(MONTH, 2)]["subscriber_id"])[:4]
    assert len(left1) == 5 and resel1 and len(left2) == 4, "the small operator lost its exits"
    assert not set(resel1) & set(ex["subscriber_id"])
    ended = set(ex["subscriber_id"]) | set(rs["subscriber_id"])
    old = subs[subs["activation_date"].map(lambda d: d < date(2024, 1, 1))]
    stayed = sorted(set(old["subscriber_id"]) - ended)[:40]
    return {"left1": left1, "resel1": resel1, "left2": left2, "stayed": stayed}


def _scored_store(small_operator, tmp_path, lines, month=MONTH):
    """A copy of the small operator with one score batch of ``month``: the lines that left in the
    next month and the re-selected ones at 极高, those that left a month later at 高, the rest 低."""
    store = tmp_path / "store.duckdb"
    shutil.copy(small_operator.store, store)
    rows = (
        [(s, 0.6, "very_high") for s in lines["left1"] + lines["resel1"]]
        + [(s, 0.3, "high") for s in lines["left2"]]
        + [(s, 0.01 + i / 10_000, "low") for i, s in enumerate(lines["stayed"])]
    )
    con = duckdb.connect(str(store))
    try:
        con.execute(
            "CREATE TABLE score (as_of DATE, model_id VARCHAR, subscriber_id VARCHAR, p_churn_1m DOUBLE, "
            "p_churn_2m DOUBLE, p_churn_3m DOUBLE, risk_level VARCHAR)"
        )
        con.executemany(
            "INSERT INTO score VALUES (?, 'm1', ?, ?, ?, ?, ?)",
            [(month, s, p, min(1.0, 1.5 * p), min(1.0, 2 * p), lv) for s, p, lv in rows],
        )
    finally:
        con.close()
    return store


def _open(store):
    from churnradar.views.store import ReadStore

    return ReadStore.open(store)


def test_a_line_that_left_the_next_month_is_churned_and_a_reselection_is_not(small_operator, tmp_path, lines):
    from churnradar.views.model import realised_outcomes

    st = _open(_scored_store(small_operator, tmp_path, lines))
    try:
        (m,) = realised_outcomes(st, horizon=1)
        by = {r["risk_level"]: r for r in m["levels"]}
        assert m["scored_month"] == "2024-06" and m["horizon"] == 1
        vh = by["very_high"]
        # every line that left in July churned; the re-selected numbers stayed with us
        assert vh["scored"] == len(lines["left1"]) + len(lines["resel1"])
        assert vh["churned"] == len(lines["left1"])
        assert vh["rate"] == pytest.approx(len(lines["left1"]) / vh["scored"])
        assert by["high"]["churned"] == 0  # they left in August: not within one month
        assert by["low"]["churned"] == 0 and by["low"]["scored"] == len(lines["stayed"])
        total = m["all"]
        assert total["scored"] == sum(r["scored"] for r in m["levels"])
        assert total["churned"] == len(lines["left1"])
        assert vh["lift"] == pytest.approx(vh["rate"] / total["rate"])
        assert total["auc"] is not None and total["auc"] > 0.5  # the churners were scored highest

        (m2,) = realised_outcomes(st, horizon=2)
        by2 = {r["risk_level"]: r for r in m2["levels"]}
        assert by2["high"]["churned"] == len(lines["left2"]) and by2["very_high"]["churned"] == len(
            lines["left1"]
        )
    finally:
        st.close()


def test_a_month_whose_outcome_window_is_open_is_not_judged(small_operator, tmp_path, lines):
    from churnradar.views.model import realised_outcomes

    # 2024-09 + 1 month + 3 months of deregistration lag runs past the data's 2024-12
    st = _open(_scored_store(small_operator, tmp_path, lines, month=date(2024, 9, 1)))
    try:
        assert realised_outcomes(st, horizon=1) == []
    finally:
        st.close()


def test_realised_outcomes_keep_the_callers_regions(small_operator, tmp_path, lines):
    from churnradar.views.model import realised_outcomes
    from churnradar.views.scope import RegionScope

    st = _open(_scored_store(small_operator, tmp_path, lines))
    try:
        home = dict(st.cursor().execute("SELECT subscriber_id, grid_id FROM subscription").fetchall())
        county = dict(st.region_rows())
        first = county[home[lines["left1"][0]]]
        scope = RegionScope.of_regions([first], st.region_rows())
        (m,) = realised_outcomes(st, scope, horizon=1)
        mine = [
            s for k in ("left1", "resel1", "left2", "stayed") for s in lines[k] if county[home[s]] == first
        ]
        assert m["all"]["scored"] == len(mine) < sum(len(v) for v in lines.values())
        assert m["all"]["churned"] == sum(county[home[s]] == first for s in lines["left1"])
    finally:
        st.close()


def test_drift_reads_the_monitoring_by_month_with_gaps(small_operator, tmp_path):
    """PSI per month of the score and of the features, from the rows the cycle's monitor writes;
    a month where a feature was not checked is a gap, never 0."""
    from churnradar.cycle.monitor import BASELINE_TABLE, MonitorResult, write_monitor
    from churnradar.store.derived import replace_rows
    from churnradar.views.model import drift

    store = tmp_path / "store.duckdb"
    shutil.copy(small_operator.store, store)
    con = duckdb.connect(str(store))
    con.execute(
        "CREATE TABLE model (model_id VARCHAR, as_of DATE, created TIMESTAMP, label_definition VARCHAR)"
    )
    con.execute(
        "INSERT INTO model VALUES ('m1', DATE '2024-08-01', TIMESTAMP '2024-09-02 10:00:00', 'offnet')"
    )
    con.close()
    months = [date(2024, 10, 1), date(2024, 11, 1), date(2024, 12, 1)]
    for i, m in enumerate(months):
        res = MonitorResult(m, "m1", date(2024, 8, 1))
        res.features = {"arpu_1m": 0.02 * (i + 1), **({"tenure_months": 0.3} if i != 1 else {})}
        res.score_psi = 0.01 * (i + 1)
        write_monitor(store, res)
    replace_rows(
        store,
        BASELINE_TABLE,
        pa.table({"model_id": ["m1", "m1"], "item": ["arpu_1m", "score"], "psi": [0.05, 0.004]}),
        {"model_id": "m1"},
    )
    st = _open(store)
    try:
        d = drift(st)
    finally:
        st.close()
    assert d["months"] == ["2024-10", "2024-11", "2024-12"]
    assert d["score"] == pytest.approx([0.01, 0.02, 0.03])
    assert d["features"]["tenure_months"] == [0.3, None, 0.3]
    assert d["features"]["arpu_1m"] == pytest.approx([0.02, 0.04, 0.06])
    assert [r["feature"] for r in d["latest"]] == ["tenure_months", "arpu_1m"]
    assert d["latest"][1]["training_psi"] == 0.05 and d["score_training_psi"] == 0.004


def test_curve_points_of_a_score_against_what_happened():
    from churnradar.models.curves import curve_points

    rng = np.random.default_rng(3)
    p = rng.random(2_000)
    y = (rng.random(2_000) < p * 0.3).astype(float)
    c = curve_points(y, p)
    fpr, tpr = np.array(c["roc"]["fpr"]), np.array(c["roc"]["tpr"])
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all() and len(fpr) <= 101
    # the area under the drawn points is the ROC-AUC (to the thinning's precision)
    from sklearn.metrics import roc_auc_score

    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(y, p), abs=0.01)
    share, lift = np.array(c["gain"]["share"]), c["gain"]["lift"]
    assert lift[0] is None  # no lift before the first line is targeted: a gap
    assert lift[-1] == pytest.approx(1.0) and max(v for v in lift if v is not None) > 1.5
    assert share[-1] == 1 and c["rows"] == 2_000 and c["events"] == y.sum()
    rel = c["reliability"]
    assert sum(rel["count"]) == 2_000 and rel["predicted"] == sorted(rel["predicted"])
    # a row weighing 2 counts as two rows
    twice = curve_points(np.r_[y, y[:500]], np.r_[p, p[:500]])
    weighted = curve_points(y, p, np.r_[np.full(500, 2.0), np.ones(1_500)])
    assert weighted["rows"] == twice["rows"] and weighted["events"] == twice["events"]
    assert weighted["rate"] == pytest.approx(twice["rate"])
    with pytest.raises(Exception, match="y has 3 values, the scores 2"):
        curve_points([0, 1, 0], [0.1, 0.2])
    with pytest.raises(Exception, match="y must be 0/1; found"):
        curve_points([0, 2], [0.1, 0.2])


def test_every_feature_has_a_name_in_both_languages():
    """The importance and drift charts name features in the page's language: every feature of the
    library has a zh-CN name without English words and an English name without Chinese."""
    from churnradar.api.messages import tr
    from churnradar.features.registry import FEATURES, _load_themes

    _load_themes()
    assert len(FEATURES) > 100
    han = re.compile(r"[\u3400-\u9fff]")
    for name in FEATURES:
        zh, en = tr(f"feature.{name}", "zh"), tr(f"feature.{name}", "en")
        assert zh != f"feature.{name}" and en != f"feature.{name}", name
        words = {w for w in re.findall(r"[A-Za-z]+", zh) if w != "G"}  # 5G
        assert han.search(zh) and not words, (name, zh)
        assert not han.search(en), (name, en)
