"""Benchmark of the operator simulator: wall time, peak memory and rows per table.

Target (issue requirement): 1,000,000 subscribers × 12 months to Parquet in under 3 minutes and
under 8 GiB peak memory on a 2-vCPU machine.

    python benchmarks/bench_simulate.py                      # 1,000,000 × 12, Parquet
    python benchmarks/bench_simulate.py --subscribers 50000  # a quick run
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from churnradar.simulate import simulate

TARGET_SECONDS = 180
TARGET_GIB = 8.0


class PeakRSS:
    """Samples the resident set size of this process every 50 ms (Linux /proc)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        status = Path("/proc/self/status")
        while not self._stop.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
            except OSError:
                return
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", dest="fmt", default="parquet", choices=["parquet", "csv"])
    ap.add_argument(
        "--out", type=Path, default=None, help="Output folder (default: a temporary one, removed)."
    )
    ap.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = ap.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_simulate_"))
    months_done: list[tuple[float, float]] = []
    t0 = time.perf_counter()

    def progress(_task: str, done: float, total: float | None) -> None:
        months_done.append((done, time.perf_counter() - t0))
        if not args.json:
            print(
                f"  month {int(done):>2}/{int(total or 0)}  {time.perf_counter() - t0:7.1f} s",
                file=sys.stderr,
            )

    with PeakRSS() as rss:
        result = simulate(
            subscribers=args.subscribers,
            months=args.months,
            seed=args.seed,
            out=out,
            fmt=args.fmt,
            progress=progress,
        )
    wall = time.perf_counter() - t0
    ru_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes
    peak = max(rss.peak, ru_peak)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    report = {
        "subscribers": args.subscribers,
        "months": args.months,
        "format": args.fmt,
        "wall_seconds": round(wall, 1),
        "peak_rss_gib": round(peak / 2**30, 2),
        "output_gib": round(size / 2**30, 2),
        "rows": result.rows,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "meets_target": wall < TARGET_SECONDS and peak / 2**30 < TARGET_GIB,
    }
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"simulate {args.subscribers:,} × {args.months} ({args.fmt}): {wall:.1f} s wall, "
            f"peak RSS {peak / 2**30:.2f} GiB, output {size / 2**30:.2f} GiB"
        )
        for name, n in result.rows.items():
            print(f"  {name:<16} {n:>12,}")
        print(
            f"target < {TARGET_SECONDS} s and < {TARGET_GIB} GiB: {'met' if report['meets_target'] else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
