"""A cycle killed (SIGKILL) at ten random moments resumes each time at the stage it was in, and the
finished run's outputs equal those of an uninterrupted run on a copy of the same store."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from churnradar.cycle import run_cycle

pytestmark = pytest.mark.hostile

MONTH = "2024-12"
SCRIPT = "import sys; from churnradar.cli import main; sys.exit(main(sys.argv[1:]))"


def _outputs(store: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        q = {
            "score": "SELECT subscriber_id, round(p_churn_1m, 9), round(p_churn_3m, 9), risk_level FROM score "
            f"WHERE as_of = DATE '{MONTH}-01' ORDER BY 1",
            "segments": f"SELECT subscriber_id, segment, action FROM value_segment WHERE as_of = DATE '{MONTH}-01' ORDER BY 1",
            "metrics": f"SELECT metric, value FROM metric_value WHERE month = DATE '{MONTH}-01' ORDER BY 1",
            "labels": "SELECT as_of, count(*) FROM churn_label GROUP BY 1 ORDER BY 1",
            "models": "SELECT count(DISTINCT model_id) FROM model",
            "stages": f"SELECT stage, status FROM cycle_run WHERE month = DATE '{MONTH}-01' ORDER BY 1",
        }
        return {k: con.execute(v).fetchall() for k, v in q.items()}
    finally:
        con.close()


def test_a_killed_cycle_resumes_and_ends_as_an_uninterrupted_run(small_operator, tmp_path: Path) -> None:
    calm, killed = tmp_path / "calm.duckdb", tmp_path / "killed.duckdb"
    shutil.copy(small_operator.store, calm)
    shutil.copy(small_operator.store, killed)
    run_cycle(calm, MONTH)

    rng = random.Random(7)
    cmd = [sys.executable, "-c", SCRIPT, "cycle", "--store", str(killed), "--month", MONTH, "--json"]
    kills = attempts = 0
    while kills < 10 and attempts < 30:  # a run that finishes before its kill time counts for nothing
        attempts += 1
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(1.0, 9.0))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        time.sleep(0.1)
    assert kills == 10
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    a, b = _outputs(calm), _outputs(killed)
    assert a["stages"] == b["stages"]
    for name in ("score", "segments", "metrics", "labels"):
        assert a[name] == b[name], name
    assert a["score"] and a["segments"] and a["metrics"]
