"""Ingest through a mapping file against ingest of the same rows as canonical files, same run.

    python benchmarks/bench_mapping.py                      # 50,000 subscribers x 12 months
    python benchmarks/bench_mapping.py --subscribers 200000 --repeat 3

The simulated operator (seeded) is written three ways, the same rows and columns each time:

- (a) canonical CSV files (UTF-8), as ``churnradar simulate --format csv`` writes them;
- (b) the ``bss-zh`` export: Chinese file and column names, Chinese codes, ``YYYYMMDD`` dates, GBK,
  loaded with its mapping file (transcoding, code maps and date parsing included);
- (c) the same export in UTF-8, loaded with the same mapping: the cost of the mapping alone.

Each run ingests into a fresh store; runs alternate (a), (b), (c); the best of ``--repeat`` counts.
Target: (b) / (a) ≤ 1.3.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "_work" / "mapping"
KEY = "benchmark-key-0123456789abcdef"


def prepare(work: Path, subscribers: int, months: int) -> dict[str, object]:
    from churnradar.simulate import simulate
    from churnradar.simulate.dialects import BSS_FILES, write_dialect

    canonical = work / "_canonical"
    if not (canonical / "subscription.parquet").exists():
        simulate(subscribers=subscribers, months=months, seed=7, out=canonical, fmt="parquet")
    csv_dir = work / "csv"
    csv_dir.mkdir(exist_ok=True)
    con = duckdb.connect()
    try:
        for name in BSS_FILES:
            src = canonical / f"{name}.parquet"
            if src.exists() and not (csv_dir / f"{name}.csv").exists():
                con.execute(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{csv_dir / name}.csv' (HEADER)")
    finally:
        con.close()
    bss = write_dialect(canonical, work / "bss", "bss-zh")
    utf8 = work / "bss_utf8"
    utf8.mkdir(exist_ok=True)
    for f in bss.files:
        (utf8 / f.name).write_text(f.read_text(encoding="gbk"), encoding="utf-8")
    mapping_utf8 = utf8 / "bss-zh.toml"
    mapping_utf8.write_text(
        bss.mapping.read_text(encoding="utf-8").replace('encoding = "gbk"', ""), encoding="utf-8"
    )
    return {
        "canonical": sorted(csv_dir.glob("*.csv")),
        "bss": (bss.files, bss.mapping),
        "utf8": (sorted(utf8.glob("*.csv")), mapping_utf8),
    }


def run(files: list[Path], store: Path, mapping: Path | None) -> tuple[float, float, int]:
    from churnradar.ingest import ingest

    store.unlink(missing_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    result = ingest(files, store, key=KEY, mapping=mapping)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    assert result.rejected == 0, result.errors[:3]
    return dt, dc, result.loaded


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=50_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = WORK / f"{args.subscribers}x{args.months}"
    work.mkdir(parents=True, exist_ok=True)
    print(f"preparing {args.subscribers:,} subscribers x {args.months} months in {work} …", file=sys.stderr)
    data = prepare(work, args.subscribers, args.months)
    best: dict[str, tuple[float, float, int]] = {}
    for _ in range(args.repeat):
        for name in ("canonical", "bss", "utf8"):
            item = data[name]
            files, mapping = (item, None) if name == "canonical" else item  # type: ignore[misc]
            dt, dc, rows = run(files, work / f"{name}.duckdb", mapping)  # type: ignore[arg-type]
            print(f"{name:9s} {dt:7.2f} s wall  {dc:7.2f} s cpu  {rows:,} rows", file=sys.stderr)
            if name not in best or dt < best[name][0]:
                best[name] = (dt, dc, rows)
    report = {
        "subscribers": args.subscribers,
        "months": args.months,
        "rows": best["canonical"][2],
        "seconds": {k: round(v[0], 2) for k, v in best.items()},
        "cpu_seconds": {k: round(v[1], 2) for k, v in best.items()},
        "ratio_bss_gbk": round(best["bss"][0] / best["canonical"][0], 2),
        "ratio_bss_utf8": round(best["utf8"][0] / best["canonical"][0], 2),
        "machine": f"{platform.machine()} {platform.system()} {platform.release()}, Python {platform.python_version()}",
    }
    print(json.dumps(report, indent=2) if args.json else report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
