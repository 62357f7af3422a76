"""Killing ingest (SIGKILL) at any moment leaves the store as it was before the batch, or with the
complete batch when the kill came after the commit; never a part of it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from tests.ingest._data import parent_sizes, write_csv_dataset
from tests.ingest.conftest import KEY

from churnradar.ingest import ingest
from churnradar.schema import TABLES
from churnradar.store import Store

TRIALS = 20
SUBSCRIBERS = 2000
MONTHS = 25  # 50,000 usage rows: 0.5–2 s in a subprocess, depending on the machine's load

SCRIPT = """
import sys
from churnradar.ingest import ingest
ingest(sys.argv[2:], sys.argv[1], key=bytes.fromhex({key!r}))
"""


def state(path: Path) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent content digest of every table; ``_batch`` only counted
    (its ids and times differ between runs)."""
    con = duckdb.connect(str(path))
    try:
        out = {}
        for name in [*TABLES, "_meta", "_rejects", "_batch"]:
            n, h = con.execute(f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{name}" t').fetchone()
            out[name] = (n, 0 if name == "_batch" else int(h))
        return out
    finally:
        con.close()


def write_usage(path: Path, shift: float) -> None:
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT printf('SUB%06d', s) AS subscriber_id,
                   strftime(DATE '2020-01-01' + to_months(m::INT), '%Y-%m') AS month,
                   round(((s * 7 + m) % 300) + {shift}, 1) AS voice_out_min, 1.5 AS voice_in_min,
                   2.5 AS onnet_min, 0.5 AS offnet_min, 0.0 AS competitor_min, (s + m) % 40 AS sms_count,
                   round(((s * 13 + m) % 9000) + {shift}, 2) AS data_mb, (s + m) % 31 AS active_days,
                   s % 80 AS distinct_contacts, printf('86%013d', s) AS imei, NULL AS second_sim_operator
            FROM range({MONTHS}) a(m), range({SUBSCRIBERS}) b(s) ORDER BY m, s)
            TO '{path}' (HEADER)"""
    )
    con.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("kill")
    write_csv_dataset(root / "parents", parent_sizes(SUBSCRIBERS))
    old, new = root / "old" / "usage_monthly.csv", root / "new" / "usage_monthly.csv"
    old.parent.mkdir()
    new.parent.mkdir()
    write_usage(old, 0.0)
    write_usage(new, 0.25)  # same keys, other values: the batch replaces every row
    base = root / "base.duckdb"
    with Store.open(base) as store:
        ingest([root / "parents"], store, key=KEY)
        ingest([old], store, key=KEY)
    # the complete new state, and how long a full run takes in a subprocess
    done = root / "done.duckdb"
    shutil.copy(base, done)
    t0 = time.perf_counter()
    run = subprocess.run(_cmd(done, new), capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    assert run.returncode == 0, run.stderr
    return {
        "root": root,
        "base": base,
        "new": new,
        "before": state(base),
        "after": state(done),
        "elapsed": elapsed,
    }


def _cmd(store: Path, *files: Path) -> list[str]:
    return [sys.executable, "-c", SCRIPT.format(key=KEY.hex()), str(store), *map(str, files)]


def test_the_batch_really_changes_the_store(setup: dict) -> None:
    before, after = setup["before"], setup["after"]
    assert after["usage_monthly"][0] == before["usage_monthly"][0] == SUBSCRIBERS * MONTHS
    assert after["usage_monthly"] != before["usage_monthly"]
    assert after["_batch"][0] == before["_batch"][0] + 1
    assert 0.3 < setup["elapsed"] < 30


def test_killing_ingest_leaves_previous_batch_or_complete_new_one(setup: dict) -> None:
    rng = random.Random(20261123)
    root, before, after = setup["root"], setup["before"], setup["after"]
    horizon = min(setup["elapsed"] * 1.1, 2.0)  # on a loaded machine most kills land before the commit
    outcomes = {"before": 0, "after": 0}
    for trial in range(TRIALS):
        path = root / f"trial{trial}.duckdb"
        shutil.copy(setup["base"], path)
        proc = subprocess.Popen(
            _cmd(path, setup["new"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # most kills land while the batch is read, validated or published; some after the commit
        time.sleep(rng.uniform(0.25, horizon) if trial % 4 else rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with Store.open(path) as store:  # opens (replaying the log when there is one)
            store.table_counts()
        got = state(path)
        if got == before:
            outcomes["before"] += 1
        elif got == after:
            outcomes["after"] += 1
        else:
            diff = {k: (before[k], after[k], got[k]) for k in got if got[k] not in (before[k], after[k])}
            pytest.fail(f"trial {trial}: the store holds a partial batch: {diff}")
        path.unlink()
        Path(str(path) + ".wal").unlink(missing_ok=True)
    assert outcomes["before"] >= 1, outcomes  # the kills did interrupt ingest
