"""Benchmark of the report set (results: benchmarks/RESULTS.md, section "Reports").

    python benchmarks/bench_reports.py                          # 1M × 24 (simulate ≈4 min once)
    python benchmarks/bench_reports.py --subscribers 20000      # a quick run

Data: the causal simulator (``churnradar simulate``), ingested once into a DuckDB store under
benchmarks/_work/reports_<n>x<months>/ (reused by later runs). Measured twice, each in a fresh
process: the full report set of ``churnradar report all`` (every builder + HTML rendering) for the
last month of data with the time of each report, then the same set as one XLSX workbook. The
*cold* run starts from a store without its ``churn_event`` table (dropped first) and pays for
computing the churn events of every kind (the first report, ``churn``, carries that cost), as a
report run straight after an ingest without ``churnradar label`` does; the *warm* run finds the
events the cold run kept, as every report run after ``churnradar label`` (or a previous report run)
on unchanged data does.
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


BIG_TABLES = ("status_event", "usage_monthly", "billing_monthly", "call_edge")
#: call_edge (≈3.5 rows per line-month) is ingested in month chunks: in one batch its ingest peaked
#: above 17 GiB at 1M × 24 and was killed on the shared 24 GiB machine
CHUNK_MONTHS = 4


def _loaded_tables(store: Path) -> set[str]:
    import duckdb

    if not store.exists():
        return set()
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.sql("SELECT tables FROM _batch").fetchall()
    except duckdb.Error:
        return set()
    finally:
        con.close()
    out: set[str] = set()
    for (tables,) in rows:
        out |= set(json.loads(tables))
    return out


def _month_chunks(path: Path, out: Path) -> list[Path]:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    months = [
        r[0] for r in con.sql(f"SELECT DISTINCT month FROM read_parquet('{path}') ORDER BY 1").fetchall()
    ]
    parts = []
    for i in range(0, len(months), CHUNK_MONTHS):
        lo, hi = months[i], months[min(i + CHUNK_MONTHS, len(months)) - 1]
        part = out / f"{path.stem}.{i // CHUNK_MONTHS:02d}.parquet"
        if not part.exists():
            con.sql(
                f"COPY (SELECT * FROM read_parquet('{path}') WHERE month BETWEEN '{lo}' AND '{hi}') "
                f"TO '{part}' (FORMAT parquet)"
            )
        parts.append(part)
    con.close()
    return parts


def build_store(subscribers: int, months: int, seed: int) -> Path:
    """Simulate (once) and ingest into a DuckDB store, resuming after the tables already loaded; the
    big tables go in one batch each (call_edge in month chunks) to bound the ingest's memory."""
    folder = WORK / f"reports_{subscribers}x{months}"
    store = folder / "store.duckdb"
    if store.exists() and (folder / "build.json").exists():
        return store
    from churnradar.ingest import ingest
    from churnradar.simulate import simulate

    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    info = {}
    if not (data / "call_edge.parquet").exists():
        t = time.perf_counter()
        simulate(subscribers=subscribers, months=months, seed=seed, out=data, fmt="parquet", start="2023-07")
        info["simulate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    loaded = _loaded_tables(store)
    small = [p for p in sorted(data.glob("*.parquet")) if p.stem not in BIG_TABLES]
    if not {p.stem for p in small} <= loaded:
        ingest(small, store=store, key=KEY)
    for name in BIG_TABLES:
        if name in loaded:
            continue
        if name == "call_edge":
            for part in _month_chunks(data / f"{name}.parquet", folder / "chunks"):
                ingest([part], store=store, key=KEY, table=name)
        else:
            ingest([data / f"{name}.parquet"], store=store, key=KEY)
    info["ingest_s"] = time.perf_counter() - t
    (folder / "build.json").write_text(json.dumps(info))
    print(f"built {store}: {info}", flush=True)
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
    import duckdb

    con = duckdb.connect(str(store))
    con.execute("DROP TABLE IF EXISTS churn_event")  # the cold run computes the churn events
    con.close()
    runs = {}
    for run in ("cold", "warm"):
        before = os.getloadavg()[0]
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
        runs[run] = json.loads(proc.stdout.strip().splitlines()[-1])
        runs[run]["load_average_1m_before"] = before
        runs[run]["load_average_1m_after"] = os.getloadavg()[0]
    res = {
        "subscribers": args.subscribers,
        "months": args.months,
        "machine": f"{platform.machine()}, {os.cpu_count()} vCPU, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "target_s": 60,
        "build": json.loads((store.parent / "build.json").read_text()),
        **runs,
    }
    res["met_cold"] = runs["cold"]["html_total_s"] < 60
    res["met_warm"] = runs["warm"]["html_total_s"] < 60
    print(json.dumps(res, indent=2))
    (WORK / f"reports_{args.subscribers}x{args.months}.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
