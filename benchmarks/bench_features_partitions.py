"""A month's features in one query against the same features in subscriber partitions, one run.

    python benchmarks/bench_features_partitions.py --store operator.duckdb --as-of 2025-12 --memory 8GB
    python benchmarks/bench_features_partitions.py --store operator.duckdb --as-of 2025-12 --partitions 1 4 auto

Each mode is one ``churnradar features --store COPY --as-of T --memory M --partitions N`` on a copy
of the store (the store itself is never written), in a process of its own sampled every half second
for its RSS and the temporary disk (DuckDB's spill beside the copy and under ``TMPDIR``). ``auto``
lets the command choose the partitions from ``--memory`` and the store's size; ``1`` is the single
query every version before partitions ran. The snapshots of every mode must hold the same rows with
the same values (checked here); the ratios are against the first mode.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import duckdb
from _proc import churnradar, mem_available_gib
from bench_cycle import run

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "features_partitions"


def one(store: Path, as_of: str, memory: str, partitions: str, in_place: bool = False) -> tuple[dict, Path]:
    folder = WORK / f"run-{partitions}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "tmp").mkdir(parents=True)
    copy = store if in_place else folder / "store.duckdb"
    if not in_place:
        shutil.copy(store, copy)
    cmd = churnradar("features", "--store", str(copy), "--as-of", as_of, "--memory", memory, "--json")
    if partitions != "auto":
        cmd += ["--partitions", partitions]
    s = run(
        cmd,
        cwd=folder,
        tmp_folders=[Path(f"{copy}.tmp"), folder / ".tmp", folder / "tmp"],
        env={"TMPDIR": str(folder / "tmp")},
        sample_s=0.5,
        kill_bytes=int(mem_available_gib() * 0.95 * 2**30),
        log=folder / "features.log",
    )
    if s.exit_code:
        raise SystemExit(f"--partitions {partitions}: features failed ({s.exit_code}): {s.error}")
    out = json.loads(s.stdout[s.stdout.index("{") :])
    return {
        "partitions": out.get("partitions", 1),
        "asked": partitions,
        "seconds": round(s.seconds, 1),
        "cpu_s": round(s.cpu_s, 1),
        "peak_rss_gib": round(s.peak_rss / 2**30, 2),
        "peak_tmp_gib": round(s.peak_tmp / 2**30, 2),
        "rows": out["rows"],
        "load": s.load,
    }, copy


def same_snapshot(a: Path, b: Path, as_of: str) -> bool:
    """Whether two stores hold the same feature rows for ``as_of`` (floats to 1e-9 relative)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'a' "
                "AND table_name = 'feature_snapshot' AND column_name NOT IN ('as_of', 'feature_set', 'version')"
            ).fetchall()
        )
        month = f"DATE '{as_of}-01'"
        differs = " OR ".join(
            f"(x.{c} IS DISTINCT FROM y.{c} AND NOT (abs(x.{c} - y.{c}) <= 1e-9 * greatest(abs(x.{c}), abs(y.{c}))))"
            if types[c] == "DOUBLE"
            else f"x.{c} IS DISTINCT FROM y.{c}"
            for c in types
            if c != "subscriber_id"
        )
        q = (
            f"SELECT count(*) FROM (SELECT * FROM a.feature_snapshot WHERE as_of = {month}) x "
            f"FULL JOIN (SELECT * FROM b.feature_snapshot WHERE as_of = {month}) y USING (subscriber_id) "
            f"WHERE x.subscriber_id IS NULL OR y.subscriber_id IS NULL OR {differs}"
        )
        return con.execute(q).fetchone()[0] == 0
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--store", type=Path, required=True, help="an ingested store (only read: each mode copies it)"
    )
    ap.add_argument("--as-of", required=True, help="the month, YYYY-MM")
    ap.add_argument("--memory", default="8GB", help="the budget (--memory of churnradar features)")
    ap.add_argument("--partitions", nargs="+", default=["1", "auto"], help="modes: a number or auto")
    ap.add_argument(
        "--in-place",
        action="store_true",
        help="run on the store itself, no copy (for stores too large to copy; one mode only; the store "
        "gains the snapshot)",
    )
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args(argv)
    if args.in_place and len(args.partitions) != 1:
        ap.error("--in-place runs one mode: give one --partitions value")
    results, stores = [], []
    for p in args.partitions:
        r, copy = one(args.store.resolve(), args.as_of, args.memory, p, args.in_place)
        results.append(r)
        stores.append(copy)
        print(json.dumps(r), file=sys.stderr, flush=True)
    same = all(same_snapshot(stores[0], s, args.as_of) for s in stores[1:])
    for s in stores:
        if not args.in_place:
            shutil.rmtree(s.parent, ignore_errors=True)
    if not same:
        raise SystemExit("the modes wrote different snapshots")
    print(
        f"store: {args.store} ({args.store.stat().st_size / 2**30:.2f} GiB), as of {args.as_of}, --memory {args.memory}"
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} vCPU, Python {platform.python_version()}")
    print("| --partitions | partitions | wall s | CPU s | peak RSS GiB | temporary disk GiB | rows |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['asked']} | {r['partitions']} | {r['seconds']} | {r['cpu_s']} | {r['peak_rss_gib']} "
            f"| {r['peak_tmp_gib']} | {r['rows']:,} |"
        )
    base = results[0]
    for r in results[1:]:
        ratio = {
            k: round(r[k] / base[k], 2) if base[k] else None for k in ("seconds", "cpu_s", "peak_rss_gib")
        }
        print(
            f"{r['asked']} / {base['asked']}: wall {ratio['seconds']}x, CPU {ratio['cpu_s']}x, "
            f"peak RSS {ratio['peak_rss_gib']}x, temporary disk {base['peak_tmp_gib']} -> {r['peak_tmp_gib']} GiB"
        )
    if len(stores) > 1:
        print("snapshots: identical")
    if args.json:
        args.json.write_text(json.dumps({"store": str(args.store), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
