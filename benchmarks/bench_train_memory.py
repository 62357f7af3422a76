"""Peak memory and time of `churnradar train` (and `score`) on simulated operators, with and without a budget.

Results: benchmarks/RESULTS.md, section "Training memory".

    python benchmarks/bench_train_memory.py --subscribers 100000 300000 --work /data/bench_train
    python benchmarks/bench_train_memory.py --subscribers 1000000 --memory default 8GB --score \\
        --work /data/bench_train --baseline-src /path/to/old/src --no-baseline-above 300000

For each size an operator is simulated (`--months`, default 24, seed `--seed`) and taken through
the README's tour as separate commands — `simulate`, `ingest`, `label`, `features` — once; the
store is cached under `--work/<N>x<months>/` and reused by later runs. Then `train --as-of` runs
once per `--memory` setting (`none` is the unbounded path, the baseline in the same run), each as
its own process, so its peak RSS is its own. With `--baseline-src` (a folder holding an older
`churnradar` package, e.g. `git archive <commit> src | tar -x`) the older code's `train` runs too,
through PYTHONPATH.

Peak RSS is the child's "Maximum resident set size" from `/usr/bin/time -v` (polling the child's
/proc entries where that tool is missing). The machine is shared: before every step expected to
hold more than `--big-step-gib` GiB, the script waits (60 s at a time) until /proc/meminfo shows
`--need-free-gib` GiB available, and it never runs two steps at once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from _proc import churnradar, mem_available_gib, tree_rss

HERE = Path(__file__).resolve().parent
KEY = "bench-key-not-secret"
TIME = Path("/usr/bin/time")


def wait_for_memory(need_gib: float, max_wait_s: float) -> float:
    """Wait until ``need_gib`` GiB are available (others share the machine); returns the seconds waited."""
    waited = 0.0
    while mem_available_gib() < need_gib:
        if waited >= max_wait_s:
            raise SystemExit(
                f"only {mem_available_gib():.1f} GiB available after {waited:.0f} s; {need_gib} GiB needed"
            )
        print(f"  waiting: {mem_available_gib():.1f} GiB available, {need_gib} GiB needed", file=sys.stderr)
        time.sleep(60)
        waited += 60
    return waited


def run(cmd: list[str], env: dict[str, str] | None = None, stdout: Path | None = None) -> dict:
    """Run ``cmd``; wall seconds, peak RSS (GiB) and the exit code. Output goes to ``stdout``."""
    env = {**os.environ, **(env or {})}
    load_before = os.getloadavg()[0]
    out = open(stdout, "w") if stdout else subprocess.DEVNULL  # noqa: SIM115
    started = time.perf_counter()
    try:
        if TIME.exists():
            with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
                p = subprocess.run(
                    [str(TIME), "-v", "-o", tf.name, *cmd],
                    env=env,
                    stdout=out,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                text = Path(tf.name).read_text()
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
            peak = int(m.group(1)) * 1024 if m else 0
            code, err = p.returncode, p.stderr
        else:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE, text=True)
            peak = 0
            stop = threading.Event()

            def poll() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, tree_rss(proc.pid))
                    stop.wait(0.2)

            t = threading.Thread(target=poll, daemon=True)
            t.start()
            err = proc.communicate()[1]
            stop.set()
            t.join()
            code = proc.returncode
    finally:
        if stdout:
            out.close()
    seconds = time.perf_counter() - started
    last = [line for line in (err or "").splitlines() if line.strip()]
    return {
        "seconds": round(seconds, 1),
        "peak_rss_gib": round(peak / 2**30, 2),
        "exit_code": code,
        "error": last[-1][:300] if code and last else None,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def _last_json(text: str) -> dict:
    """The JSON object a command printed (older versions let DuckDB's progress bar into stdout)."""
    start = 0 if text.startswith("{") else text.index("\n{") + 1
    return json.loads(text[start:])


def build(args: argparse.Namespace, n: int, folder: Path) -> dict:
    """simulate → ingest → label → features (once; cached in ``folder``)."""
    done = folder / "build.json"
    if done.exists():
        return json.loads(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    store, data = folder / "store.duckdb", folder / "data"
    big = n >= args.big_subscribers
    steps = {
        "simulate": churnradar(
            "simulate",
            "--subscribers",
            str(n),
            "--months",
            str(args.months),
            "--seed",
            str(args.seed),
            "--start",
            args.start,
            "--out",
            str(data),
        ),
        "ingest": churnradar("ingest", str(data), "--store", str(store)),
        "label": churnradar("label", "--store", str(store), "--as-of", args.as_of),
        "features": churnradar("features", "--store", str(store), "--as-of", args.as_of),
    }
    out = {}
    for name, cmd in steps.items():
        waited = wait_for_memory(args.need_free_gib, args.max_wait) if big else 0.0
        print(f"{n:,}: {name}", file=sys.stderr, flush=True)
        r = run(cmd, env={"CHURNRADAR_HMAC_KEY": KEY})
        r["waited_s"] = waited
        out[name] = r
        print(f"  {r}", file=sys.stderr, flush=True)
        if r["exit_code"]:
            raise SystemExit(f"{name} failed: {r['error']}")
    done.write_text(json.dumps(out, indent=2))
    return out


def train(args: argparse.Namespace, n: int, folder: Path, memory: str, src: Path | None = None) -> dict:
    store = folder / "store.duckdb"
    cmd = ["train", "--store", str(store), "--as-of", args.as_of, "--json"]
    env = {}
    if src is None:
        cmd += ["--memory", memory]
    else:
        env["PYTHONPATH"] = str(src)
    if n >= args.big_subscribers:
        wait_for_memory(args.need_free_gib, args.max_wait)
    label = "baseline (older code)" if src else f"--memory {memory}"
    print(f"{n:,}: train {label}", file=sys.stderr, flush=True)
    out_json = folder / f"train_{'baseline' if src else memory}.json"
    r = run(churnradar(*cmd), env=env, stdout=out_json)
    r["memory"] = "baseline" if src else memory
    if not r["exit_code"]:
        s = _last_json(out_json.read_text())
        m = s["metrics"]
        r.update(
            model_id=s["model_id"],
            rows_used=m.get("rows_used", m.get("panel_rows")),
            rows_available=m.get("rows_available", m.get("panel_rows")),
            sample_rate=m.get("sample_rate", 1.0),
            events=m.get("panel_events"),
            base_rate=m.get("base_rate"),
            **{k: m[k] for k in m if k.startswith("hazard_")},
            budget=s.get("memory_budget"),
        )
    print(f"  {r}", file=sys.stderr, flush=True)
    return r


def score(args: argparse.Namespace, n: int, folder: Path, memory: str) -> dict:
    store = folder / "store.duckdb"
    if n >= args.big_subscribers:
        wait_for_memory(args.need_free_gib, args.max_wait)
    print(f"{n:,}: score --memory {memory}", file=sys.stderr, flush=True)
    cmd = ["score", "--store", str(store), "--as-of", args.as_of, "--memory", memory, "--json", "--top", "1"]
    r = run(churnradar(*cmd), stdout=folder / f"score_{memory}.json")
    r["memory"] = memory
    print(f"  {r}", file=sys.stderr, flush=True)
    return r


def accuracy(store: Path, origins: list[str], fractions: list[float]) -> list[dict]:
    """Backtest figures of the hazard model trained on every row and on samples of them (``--max-rows``).

    For each origin T the model learns from months before T (as `backtest` does) with at most
    ``fraction`` × the available rows (every churn event kept, the other rows sampled and
    weighted), and is scored on the subscribers open at T against their churn in 1-3 months.
    """
    import pyarrow.compute as pc

    from churnradar.evaluate.metrics import evaluate_scores
    from churnradar.models.pipeline import TrainingData, fit_churn_model
    from churnradar.periods import parse_month
    from churnradar.store.backends import open_backend

    rows = []
    bk = open_backend(store)
    try:
        data = TrainingData(bk)
        for origin in origins:
            t = parse_month(origin)
            available = None
            for frac in fractions:
                cap = None if frac >= 1 or available is None else int(frac * available)
                started = time.perf_counter()
                model, _ = fit_churn_model(data, t, max_rows=cap, keep_panel=False)
                seconds = time.perf_counter() - started
                s = model.meta["sampling"]
                available = s["rows_available"]
                feats, lab = data.features(t), data.labels(t)
                lab = lab.filter(pc.invert(lab.column("already_churned")))
                idx = pc.index_in(lab.column("subscriber_id"), value_set=feats.column("subscriber_id"))
                keep = pc.is_valid(idx)
                lab, feats = lab.filter(keep), feats.take(idx.filter(keep))
                p = model.probabilities(model.hazard.transform_features(feats))
                for j, h in enumerate((1, 2, 3)):
                    y = lab.column(f"churn_within_{h}m").to_numpy(zero_copy_only=False).astype(float)
                    m = evaluate_scores(y, p[:, j])
                    rows.append(
                        {
                            "origin": origin,
                            "fraction": frac,
                            "horizon": h,
                            "sample_rate": s["sample_rate"],
                            "rows_used": s["rows_used"],
                            "fit_seconds": round(seconds, 1),
                            **{
                                k: round(m[k], 4)
                                for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier", "ece")
                            },
                        }
                    )
                print(f"  accuracy {origin} {frac}: {rows[-3:]}", file=sys.stderr, flush=True)
    finally:
        bk.close()
    return rows


def markdown(results: list[dict]) -> str:
    lines = [
        "| subscribers | run | peak RSS (GiB) | seconds | rows used / available | sample rate | "
        "calibration-slice AUC step 1/2/3 | exit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for r in res["train"] + res.get("score", []):
            what = ("score " if r in res.get("score", []) else "train ") + r["memory"]
            rows = f"{r['rows_used']:,} / {r['rows_available']:,}" if r.get("rows_used") else ""
            auc = "/".join(f"{r[f'hazard_auc_step{k}']:.3f}" for k in (1, 2, 3) if f"hazard_auc_step{k}" in r)
            rate = f"{r['sample_rate']:.4g}" if "sample_rate" in r else ""
            exit_ = r["exit_code"] if not r["exit_code"] else f"{r['exit_code']}: {r['error']}"
            lines.append(
                f"| {res['subscribers']:,} | {what} | {r['peak_rss_gib']} | {r['seconds']} | {rows} | {rate} | "
                f"{auc} | {exit_} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, nargs="+", default=[100_000, 300_000])
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2024-01")
    ap.add_argument("--as-of", default="2025-09")
    ap.add_argument(
        "--memory", nargs="*", default=["none", "default"], help="--memory settings of train (none: skip)"
    )
    ap.add_argument("--score", action="store_true", help="also run score with each --memory setting")
    ap.add_argument("--work", type=Path, required=True, help="folder caching the simulated operators")
    ap.add_argument("--baseline-src", type=Path, default=None, help="folder with an older churnradar package")
    ap.add_argument(
        "--no-baseline-above", type=int, default=None, help="skip the older code above this many subscribers"
    )
    ap.add_argument("--big-subscribers", type=int, default=500_000, help="sizes whose steps wait for memory")
    ap.add_argument("--need-free-gib", type=float, default=18.0)
    ap.add_argument("--max-wait", type=float, default=3600.0, help="seconds to wait for memory at most")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument(
        "--accuracy-origins",
        nargs="*",
        default=[],
        help="backtest origins (YYYY-MM) for sampled vs full models",
    )
    ap.add_argument(
        "--accuracy-fractions", type=float, nargs="+", default=[1.0, 0.5, 0.25, 0.1], help="row caps / rows"
    )
    args = ap.parse_args(argv)

    results = []
    for n in args.subscribers:
        folder = args.work / f"{n}x{args.months}"
        res: dict = {"subscribers": n, "months": args.months, "as_of": args.as_of}
        res["build"] = build(args, n, folder)
        res["train"] = []
        if args.baseline_src and (args.no_baseline_above is None or n <= args.no_baseline_above):
            res["train"].append(train(args, n, folder, "baseline", args.baseline_src))
        for memory in args.memory:
            res["train"].append(train(args, n, folder, memory))
        if args.score:
            res["score"] = [score(args, n, folder, memory) for memory in args.memory]
        if args.accuracy_origins:
            res["accuracy"] = accuracy(
                folder / "store.duckdb", args.accuracy_origins, args.accuracy_fractions
            )
        results.append(res)
    out = {
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": platform.python_version(),
        },
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "results": results,
    }
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    print(markdown(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
