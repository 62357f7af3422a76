"""Label agreement with the simulator's ground truth: precision and recall per churn kind.

    python benchmarks/label_agreement.py --subscribers 50000 --months 15 --seed 5

Simulates an operator, ingests it, computes every churn event with ``churn_events`` and compares
them with ``_truth/churn_truth`` inside the observable window (3 months from either end of the data).
Prints a Markdown table and the time each stage took.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from churnradar.evaluate.agreement import agreement
from churnradar.ingest import ingest
from churnradar.labels import churn_events, get_definition
from churnradar.periods import add_months, parse_month
from churnradar.simulate import simulate
from churnradar.store.backends import open_backend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=50_000)
    ap.add_argument("--months", type=int, default=15)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--start", default="2024-01")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        simulate(
            subscribers=args.subscribers,
            months=args.months,
            seed=args.seed,
            out=work / "data",
            start=args.start,
        )
        t1 = time.perf_counter()
        ingest([work / "data"], store=work / "s.duckdb", key="label-agreement-benchmark-key")
        t2 = time.perf_counter()
        bk = open_backend(work / "s.duckdb")
        events = bk.to_pyarrow(churn_events(bk, get_definition("offnet")))
        bk.close()
        t3 = time.perf_counter()
        truth = pq.read_table(work / "data" / "_truth" / "churn_truth.parquet")
        first = parse_month(args.start)
        result = agreement(events, truth, first, add_months(first, args.months - 1))
    print(
        f"{args.subscribers:,} subscribers × {args.months} months (seed {args.seed}); window {result['window']}"
    )
    print(f"simulate {t1 - t0:.1f} s, ingest {t2 - t1:.1f} s, churn events {t3 - t2:.1f} s\n")
    print("| kind | predicted | true | precision | recall |\n|---|---:|---:|---:|---:|")
    for kind, k in result["kinds"].items():
        p = "–" if k["precision"] is None else f"{k['precision']:.3f}"
        r = "–" if k["recall"] is None else f"{k['recall']:.3f}"
        print(f"| {kind} | {k['predicted']:,} | {k['true']:,} | {p} | {r} |")


if __name__ == "__main__":
    main()
