"""``churnradar cycle``: every stage once, then nothing that has not changed; a dry run says what
would run and why; a failing stage stops only the stages that read it; monitoring's PSI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from churnradar.cli import main
from churnradar.cycle import CycleOptions, psi, run_cycle
from churnradar.cycle.records import read_records
from churnradar.periods import parse_month


@pytest.fixture(scope="module")
def cycled(small_operator, tmp_path_factory) -> tuple[Path, dict]:
    """The small operator after one cycle of 2024-12 (the first run: every stage runs)."""
    store = tmp_path_factory.mktemp("cycle") / "store.duckdb"
    shutil.copy(small_operator.store, store)
    res = run_cycle(store, "2024-12")
    return store, res.to_dict()


def test_the_first_run_runs_every_stage_and_records_it(cycled) -> None:
    store, first = cycled
    status = {s["name"]: s["status"] for s in first["stages"]}
    assert status == {
        "ingest": "skipped",
        "labels": "ran",
        "features": "ran",
        "train": "ran",
        "score": "ran",
        "segments": "ran",
        "target": "skipped",
        "metrics": "ran",
        "monitor": "ran",
    }
    train = next(s for s in first["stages"] if s["name"] == "train")
    assert train["detail"]["as_of"] == "2024-09"  # outcomes up to T confirmed three months later
    # the first model of the definition is the champion, and scores
    decided = train["detail"]["champion"]
    assert decided["promoted"] and decided["reason"].startswith("no champion of churn definition offnet")
    assert first["champion"] == decided and train["detail"]["held_out_months"] == 0
    score = next(s for s in first["stages"] if s["name"] == "score")
    assert score["detail"]["model_id"] == decided["champion"] == train["detail"]["model_id"]
    assert isinstance(first["alert"], bool) and "checks_judged" in first["stages"][-1]["detail"]
    assert next(s for s in first["stages"] if s["name"] == "score")["rows"] > 2_000
    records = read_records(store, parse_month("2024-12"))
    assert set(records) == {s for s, st in status.items() if st == "ran"}
    assert all(r.seconds >= 0 and r.peak_rss > 0 for r in records.values())


def test_a_second_run_skips_every_stage_whose_inputs_did_not_change(cycled, capsys) -> None:
    store, _ = cycled
    assert main(["cycle", "--store", str(store), "--month", "2024-12", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["month"] == "2024-12"
    assert {s["status"] for s in out["stages"]} == {"skipped"}
    assert next(s for s in out["stages"] if s["name"] == "score")["reason"].startswith("unchanged since")
    assert set(out["stages"][0]) >= {"name", "status", "seconds", "rows"}


def test_a_dry_run_says_what_would_run_and_why(cycled, capsys) -> None:
    store, _ = cycled
    assert main(["cycle", "--store", str(store), "--month", "2025-01", "--dry-run", "--budget", "500"]) == 0
    text = capsys.readouterr().out
    assert "would run labels    not run yet for 2025-01" in text
    assert "would skip train" in text and "month(s) old (retrain every 3)" in text
    assert "would run target" in text
    assert read_records(store, parse_month("2025-01")) == {}


def test_a_failing_stage_stops_only_what_reads_it(cycled, capsys) -> None:
    store, _ = cycled
    # a budget far too small for any offer: the target stage fails, metrics and monitoring do not
    code = main(["cycle", "--store", str(store), "--month", "2024-12", "--budget", "0.01"])
    captured = capsys.readouterr()
    assert code == 1
    assert "1 stage(s) failed (target:" in captured.err
    assert "skipped target" not in captured.out and "failed target" in captured.out


def test_bad_options_are_refused_before_anything_runs(cycled, tmp_path: Path) -> None:
    store, _ = cycled
    from churnradar.errors import ConfigError

    with pytest.raises(ConfigError, match="--retrain-months 0 is out of range"):
        run_cycle(store, "2024-12", CycleOptions(retrain_months=0))
    with pytest.raises(ConfigError, match="no such store"):
        run_cycle(tmp_path / "none.duckdb", "2024-12")


def test_psi_is_zero_for_the_same_sample_and_large_for_a_moved_one() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 20_000)
    assert psi(ref, ref) == pytest.approx(0.0, abs=1e-12)
    assert psi(ref, rng.normal(0, 1, 20_000)) < 0.01
    assert 0.1 < psi(ref, rng.normal(0.5, 1, 20_000)) < 0.25 < psi(ref, rng.normal(1.0, 1, 20_000))
    with_missing = np.where(rng.random(20_000) < 0.3, np.nan, rng.normal(0, 1, 20_000))
    assert psi(ref, with_missing) > 0.25  # missing values are a bin of their own
    cats = np.array(["a"] * 700 + ["b"] * 300, dtype=object)
    assert psi(cats, cats) == pytest.approx(0.0, abs=1e-12)
    assert psi(cats, np.array(["a"] * 300 + ["b"] * 700, dtype=object)) > 0.25


def test_a_check_alerts_only_beyond_training_months_noise_and_with_enough_observations() -> None:
    from churnradar.cycle.monitor import _check, _psi_bins, judge

    rng = np.random.default_rng(1)
    moved, bins = _psi_bins(rng.normal(0, 1, 5_000), rng.normal(1, 1, 5_000))
    assert moved > 0.25
    checks = {
        "moved": _check(moved, bins, "line", 5_000, 5_000),
        # the training months were as far from the reference: nothing new
        "learnt": _check(moved, bins, "line", 5_000, 5_000, baseline=moved - 0.05),
        "beyond learnt": _check(moved, bins, "line", 5_000, 5_000, baseline=moved - 0.3),
        # PSI 0.3 between two samples of 80: chi-squared 12 on 9 degrees of freedom, p = 0.2
        "noise": _check(0.3, 10, "line", 80, 80),
        # 40 observations for 10 bins: fewer than 5 a bin
        "few": _check(0.9, 10, "grid", 27, 27),
    }
    checks |= {f"calm{i}": _check(0.01, 10, "line", 5_000, 5_000) for i in range(100)}
    out = judge(checks)
    assert out["moved"].status == "drift" and out["beyond learnt"].status == "drift"
    assert out["learnt"].status == "learnt"
    assert out["noise"].status == "noise" and out["noise"].p_value > 0.1
    assert out["few"].status == "too few" and out["few"].p_value is None
    assert {out[f"calm{i}"].status for i in range(100)} == {"stable"}


def test_a_point_mass_crossing_a_decile_edge_is_not_a_material_shift() -> None:
    from churnradar.cycle.monitor import _material

    rng = np.random.default_rng(2)
    rest = np.r_[np.full(3_000, 30.0), rng.uniform(5, 29, 3_000)]  # 30.0: 90 of 91 days
    # lines active every day: 91/3 days a month over a 91-day quarter, 30 over a 90-day one
    ref = np.r_[np.full(4_000, 91 / 3), rest]
    cur = np.r_[np.full(4_000, 30.0), rest]
    assert psi(ref, cur) > 0.25
    assert not _material(ref, cur)
    assert _material(ref, ref + np.std(ref) * 0.5)  # half a standard deviation: material
    with_missing = np.where(rng.random(ref.size) < 0.2, np.nan, ref)
    assert _material(ref, with_missing)  # a fifth of the values missing: Cohen's h 0.93


def test_a_budget_runs_the_target_stage_alone_and_records_the_targeted_lines(
    cycled, tmp_path, monkeypatch
) -> None:
    """The target stage's rows are the lines on the list (the plan's ``n_targeted``); the plan is
    stood in for here (the small operator has too few logged campaigns to learn uplift from)."""
    import churnradar.retention.targeting as targeting

    store, _ = cycled
    copy = tmp_path / "store.duckdb"
    shutil.copy(store, copy)
    plan = type("Plan", (), {"summary": {"n_targeted": 123, "spend": 4_900.0}})()
    monkeypatch.setattr(targeting, "plan_targets", lambda *a, **k: plan)
    res = run_cycle(copy, "2024-12", CycleOptions(budget=5_000)).to_dict()
    ran = {s["name"]: s for s in res["stages"] if s["status"] == "ran"}
    assert "target" in ran and {"labels", "features", "train", "score"}.isdisjoint(ran)
    assert ran["target"]["rows"] == 123
    assert read_records(copy, parse_month("2024-12"))["target"].rows == 123


def test_every_stage_opens_the_store_within_the_budgets_duckdb_share(cycled, tmp_path, monkeypatch) -> None:
    """Stages with no budget of their own (here the target stage, stood in for as above) open the
    store with DuckDB's ``memory_limit`` set to the cycle's share, not DuckDB's 80% of the machine."""
    import duckdb

    import churnradar.retention.targeting as targeting
    from churnradar.models.memory import MemoryBudget
    from churnradar.store import Store

    store, _ = cycled
    copy = tmp_path / "store.duckdb"
    shutil.copy(store, copy)
    seen: list[str] = []

    def plan(path, *a, **k):
        with Store.open(path, read_only=True) as st:
            seen.append(st.connection.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return type("Plan", (), {"summary": {"n_targeted": 1, "spend": 1.0}})()

    monkeypatch.setattr(targeting, "plan_targets", plan)
    run_cycle(copy, "2024-12", CycleOptions(budget=5_000, memory="3GB"))
    with duckdb.connect() as con:  # DuckDB's own spelling of the share
        con.execute(f"SET memory_limit = '{MemoryBudget.resolve('3GB').duckdb // 2**20}MiB'")
        assert seen == [con.execute("SELECT current_setting('memory_limit')").fetchone()[0]]
    with Store.open(copy, read_only=True) as st:  # outside the cycle: DuckDB's own default
        assert st.connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] != seen[0]


def test_psi_of_a_month_added_in_batches_is_the_psi_of_the_whole_month() -> None:
    """Monitoring's baseline streams each training month in batches into the reference's bins."""
    from churnradar.cycle.monitor import _Binned, _psi_bins

    rng = np.random.default_rng(5)
    numbers = rng.gamma(2.0, 30.0, 5_000)
    numbers[rng.random(numbers.size) < 0.1] = np.nan
    moved = numbers * 1.3
    text = np.array(rng.choice(["4G", "5G", "2G", None], 5_000), dtype=object)
    other = np.array(rng.choice(["5G", "6G", None], 4_000), dtype=object)
    for ref, cur in ((numbers, moved), (text, other), (numbers, np.full(3, np.nan))):
        binned = _Binned(ref)
        for part in np.array_split(cur, 7):
            binned.add(part)
        assert binned.result() == _psi_bins(ref, cur)
        assert binned.fresh().result() is None  # the same bins, nothing counted yet
    assert _Binned(np.full(10, np.nan)).result() is None
