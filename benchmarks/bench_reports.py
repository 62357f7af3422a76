"""Benchmark of the report set (results: benchmarks/RESULTS.md, section "Reports").

    python benchmarks/bench_reports.py                          # 1M × 24 (simulate ≈4 min once)
    python benchmarks/bench_reports.py --subscribers 20000      # a quick run

Data: the causal simulator (``churnradar simulate``), ingested once into a DuckDB store under
benchmarks/_work/reports_<n>x<months>/ (reused by later runs). Measured in a fresh process: the
full report set of ``churnradar report all`` (every builder + HTML rendering) for the last month of
data, with the time of each report (the first report also pays for the shared churn events and
line facts, which are computed once per run and cached), then the same set as one XLSX workbook.
Target: the full HTML set under 60 s on DuckDB for 1,000,000 subscribers × 24 months. Wall and
process CPU time (all threads) are both reported: the machine is often shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
KEY = "benchmark-key-not-secret"


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def build_store(subscribers: int, months: int, seed: int) -> Path:
    folder = WORK / f"reports_{subscribers}x{months}"
    store = folder / "store.duckdb"
    if store.exists():
        return store
    from churnradar.ingest import ingest
    from churnradar.simulate import simulate

    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    simulate(
        subscribers=subscribers, months=months, seed=seed, out=folder / "data", fmt="parquet", start="2023-07"
    )
    t_sim = time.perf_counter() - t
    t = time.perf_counter()
    ingest([folder / "data"], store=store, key=KEY)
    t_ing = time.perf_counter() - t
    (folder / "build.json").write_text(json.dumps({"simulate_s": t_sim, "ingest_s": t_ing}))
    print(f"built {store}: simulate {t_sim:.0f} s, ingest {t_ing:.0f} s", flush=True)
    return store


def measure(store: Path, out: Path) -> dict:
    """Run in a child process: the full HTML set with per-report times, then the XLSX workbook."""
    from churnradar.reports import ReportContext, build_report, report_names
    from churnradar.reports.html import render_html
    from churnradar.reports.xlsx import render_xlsx

    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    c0 = time.process_time()
    t0 = time.perf_counter()
    with ReportContext.open(store) as ctx:
        t_open = time.perf_counter() - t0
        reports = []
        for name in report_names():
            t, c = time.perf_counter(), time.process_time()
            rep = build_report(ctx, name)
            render_html(rep, out / f"{name}.html")
            times[name] = time.perf_counter() - t
            cpu[name] = time.process_time() - c
            reports.append(rep)
        html_total = time.perf_counter() - t0
        html_cpu = time.process_time() - c0
        t = time.perf_counter()
        render_xlsx(reports, out / "reports.xlsx")
        t_xlsx = time.perf_counter() - t
        as_of = ctx.as_of.isoformat()
    return {
        "as_of": as_of,
        "open_s": t_open,
        "per_report_s": times,
        "per_report_cpu_s": cpu,
        "html_total_s": html_total,
        "html_total_cpu_s": html_cpu,
        "xlsx_render_s": t_xlsx,
        "peak_rss_gib": peak_rss_gib(),
        "html_bytes": sum(p.stat().st_size for p in out.glob("*.html")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        out = args.child.parent / "out"
        out.mkdir(exist_ok=True)
        print(json.dumps(measure(args.child, out)))
        return
    store = build_store(args.subscribers, args.months, args.seed)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(store)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(proc.returncode)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res.update(
        subscribers=args.subscribers,
        months=args.months,
        machine=f"{platform.machine()}, {os.cpu_count()} vCPU, Python {platform.python_version()}",
        date=time.strftime("%Y-%m-%d"),
        target_s=60,
    )
    res["met"] = res["html_total_s"] < 60
    print(json.dumps(res, indent=2))
    (WORK / f"reports_{args.subscribers}x{args.months}.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
