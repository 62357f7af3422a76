"""Parquet read in place against Parquet copied into staging tables, on the same files in one run.

    python benchmarks/bench_ingest_parquet.py --subscribers 100000 --months 24
    python benchmarks/bench_ingest_parquet.py --data DIR --memory 8GB   # an operator's Parquet files

Each mode is one ``churnradar.ingest`` of the whole folder into a new store, in a process of its own
with ``--memory`` as its budget and its own temporary folder (``TMPDIR``), sampled every second for
the process's RSS and the folder's bytes (DuckDB's spill and every temporary file of the batch):

(a) copy: each Parquet file is parsed and checked into a temporary table, which DuckDB spills beyond
    its share of the budget (``_Batch.parquet_in_place = False``, the reading before in-place);
(b) in place: one checking pass keeps the numbers of refused rows; every later step reads the file
    again (the default).

Both must load the same number of rows. Without ``--data`` the operator is simulated once (Parquet)
into ``benchmarks/_work/ingest_parquet/``. Figures go to stdout and, with ``--json``, as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from _proc import churnradar, mem_available_gib
from bench_cycle import run

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "ingest_parquet"
KEY = "bench-key-not-secret"

LOAD = """
import sys
from churnradar.ingest import batch, ingest
batch._Batch.parquet_in_place = {in_place}
r = ingest([{data!r}], {store!r}, memory={memory!r})
print("rows", r.loaded, r.rejected)
"""


def simulated(subscribers: int, months: int) -> Path:
    out = WORK / f"{subscribers}x{months}"
    if not (out / "usage_monthly.parquet").exists():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(
            churnradar(
                "simulate",
                "--subscribers",
                str(subscribers),
                "--months",
                str(months),
                "--format",
                "parquet",
                "--seed",
                "1",
                "--out",
                str(out),
            ),
            check=True,
        )
    return out


def one(mode: str, data: Path, memory: str) -> dict:
    folder = WORK / f"run-{mode}"
    shutil.rmtree(folder, ignore_errors=True)
    tmp = folder / "tmp"
    tmp.mkdir(parents=True)
    store = folder / "store.duckdb"
    code = LOAD.format(in_place=mode == "in place", data=str(data), store=str(store), memory=memory)
    s = run(
        [sys.executable, "-c", code],
        cwd=folder,
        tmp_folders=[tmp],
        env={"TMPDIR": str(tmp), "CHURNRADAR_HMAC_KEY": KEY},
        sample_s=1.0,
        kill_bytes=int(mem_available_gib() * 0.95 * 2**30),
        log=folder / "ingest.log",
    )
    rows = next((line.split()[1:] for line in s.stdout.splitlines() if line.startswith("rows ")), None)
    store_bytes = store.stat().st_size if store.exists() else 0
    shutil.rmtree(folder, ignore_errors=True)
    if s.exit_code:
        raise SystemExit(f"{mode}: ingest failed ({s.exit_code}): {s.error}")
    return {
        "mode": mode,
        "seconds": round(s.seconds, 1),
        "cpu_s": round(s.cpu_s, 1),
        "peak_rss_gib": round(s.peak_rss / 2**30, 2),
        "peak_tmp_gib": round(s.peak_tmp / 2**30, 2),
        "store_gib": round(store_bytes / 2**30, 2),
        "rows": int(rows[0]) if rows else None,
        "load": s.load,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="a folder of Parquet exports (default: a simulated operator)")
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--memory", default="8GB", help="the ingest budget (--memory of churnradar ingest)")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args(argv)
    data = args.data.resolve() if args.data else simulated(args.subscribers, args.months)
    results = [one(mode, data, args.memory) for mode in ("copy", "in place")]
    copy, in_place = results
    if copy["rows"] != in_place["rows"]:
        raise SystemExit(f"the two modes loaded different rows: {copy['rows']} vs {in_place['rows']}")
    print(
        f"data: {data} ({sum(f.stat().st_size for f in data.rglob('*.parquet')) / 2**30:.2f} GiB of Parquet)"
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} vCPU, Python {platform.python_version()}")
    print("| mode | wall s | CPU s | peak RSS GiB | temporary disk GiB | store GiB | rows |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['mode']} | {r['seconds']} | {r['cpu_s']} | {r['peak_rss_gib']} | {r['peak_tmp_gib']} "
            f"| {r['store_gib']} | {r['rows']:,} |"
        )
    ratio = {
        k: round(in_place[k] / copy[k], 2) if copy[k] else None for k in ("seconds", "cpu_s", "peak_rss_gib")
    }
    print(
        f"in place / copy: wall {ratio['seconds']}x, CPU {ratio['cpu_s']}x, peak RSS {ratio['peak_rss_gib']}x"
    )
    if args.json:
        args.json.write_text(json.dumps({"data": str(data), "results": results, "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
