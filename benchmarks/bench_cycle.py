"""The whole monthly cycle measured: `churnradar cycle` against the separate commands, same run.

Results: benchmarks/RESULTS.md, section "Monthly cycle".

    python benchmarks/bench_cycle.py --subscribers 100000 --memory 8GB
    python benchmarks/bench_cycle.py --subscribers 1000000 --memory 8GB --json-out cycle_1m.json
    python benchmarks/bench_cycle.py --subscribers 10000000 --source synthetic --memory 16GB

For each size an operator of N subscribers x ``--months`` (24) is built once and kept in
``--work/<N>x<months>/``:

- ``--source simulator`` (the default up to 1,000,000): ``churnradar simulate … --format parquet``
  writes the export files; the cycle ingests them with ``--from``, and the separate commands start
  with ``churnradar ingest`` of the same files;
- ``--source synthetic`` (the default above): ``churnradar.features.synthetic`` writes a store
  directly (random, not causal, no ingest: the files are not validated, pseudonymised or loaded by
  churnradar); both runs start from a copy of that store and neither has an ingest stage.

Then, each as its own process on a fresh store of its own:

1. ``churnradar cycle --store … --month <newest> [--from DATA] --memory M --budget B --reports DIR``;
2. the same command again on the unchanged store (every stage skipped);
3. the commands a user runs today for the same month: ``ingest``, ``label`` (the label month the
   cycle chose), ``features``, ``train`` (the cycle's training month), ``score``,
   ``campaign segments``, ``target``, ``metrics`` and ``report all``.

Per stage (cycle) or command: seconds, peak RSS of the process tree (sampled every
``--sample`` seconds from /proc; for a whole command also the kernel's maximum from
``/usr/bin/time -v``), the peak of the temporary disk (sampled: DuckDB's spill folders beside the
store and in the working folder, the command's own temporary folder, and deleted files it still
holds open) and rows; the total wall time and the ratio cycle / separate commands. The cycle's
per-stage figures come from splitting the sampled series at the moments it reports each stage done.

The machine may be shared: a process tree above ``--kill-gib`` GiB is killed (and reported), and
the load average is recorded at the start and end of every process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from _proc import churnradar, cpu, mem_available_gib, rss, tree

HERE = Path(__file__).resolve().parent
KEY = "bench-key-not-secret"
TIME = Path("/usr/bin/time")
STATUS_LINE = re.compile(r"^\s*(ran|skipped|failed)\s+(\w+)\s")
SYNTHETIC_ABOVE = 1_000_000
#: Commands whose failure leaves nothing for the later ones to read.
NEEDED = ("ingest", "features", "train", "score")
#: The separate commands doing what a stage of the cycle does (monitoring has no command of its own).
SEPARATE_OF = {
    "ingest": ("ingest",),
    "labels": ("label",),
    "features": ("features",),
    "train": ("train",),
    "score": ("score",),
    "segments": ("segments",),
    "target": ("target",),
    "metrics": ("metrics", "report"),
}


# -- sampling a process tree --------------------------------------------------------------


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def _deleted_open_bytes(pids: list[int]) -> int:
    """Bytes of deleted files the processes still hold open (anonymous temporary files)."""
    total, seen = 0, set()
    for p in pids:
        try:
            fds = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        for fd in fds:
            path = f"/proc/{p}/fd/{fd}"
            try:
                if not os.readlink(path).endswith(" (deleted)"):
                    continue
                st = os.stat(path)
            except OSError:
                continue
            if st.st_ino not in seen and os.path.isfile(path):
                seen.add(st.st_ino)
                total += st.st_size
    return total


@dataclass
class Sampled:
    """What one process did: wall seconds, exit code, sampled series and the kernel's maximum RSS."""

    seconds: float
    exit_code: int
    error: str | None
    peak_rss: int  # max of the sampled tree RSS and /usr/bin/time's maximum
    peak_tmp: int
    cpu_s: float  # user + system CPU seconds of the whole tree
    samples: list[tuple[float, int, int, float]]  # (seconds since start, tree RSS, temporary bytes, CPU s)
    lines: list[tuple[float, str]]  # stdout lines with the second they arrived
    load: tuple[float, float]
    killed: str | None = None
    stdout: str = ""


def run(
    cmd: list[str],
    *,
    cwd: Path,
    tmp_folders: list[Path],
    env: dict[str, str],
    sample_s: float,
    kill_bytes: int,
    log: Path,
) -> Sampled:
    """Run ``cmd`` in ``cwd``, sampling its tree's RSS and the temporary disk until it exits."""
    load0 = os.getloadavg()[0]
    timefile = tempfile.NamedTemporaryFile("r", suffix=".time", delete=False)  # noqa: SIM115
    timefile.close()
    full = [str(TIME), "-v", "-o", timefile.name, *cmd] if TIME.exists() else cmd
    started = time.perf_counter()
    err_path = log.with_suffix(".err")
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            full,
            cwd=cwd,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        samples: list[tuple[float, int, int, float]] = []
        lines: list[tuple[float, str]] = []
        killed: list[str] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                pids = tree(proc.pid)
                resident = rss(pids)
                tmp = sum(_folder_bytes(f) for f in tmp_folders if f.exists()) + _deleted_open_bytes(pids)
                samples.append((time.perf_counter() - started, resident, tmp, cpu(pids)))
                if resident > kill_bytes and not killed:
                    killed.append(f"killed by the benchmark at {resident / 2**30:.2f} GiB tree RSS")
                    os.killpg(proc.pid, signal.SIGKILL)
                stop.wait(sample_s)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        assert proc.stdout is not None
        out = []
        with open(log.with_suffix(".lines"), "w") as progress:
            # each line with the moment it came and the figures so far: a run stopped midway keeps them
            for line in proc.stdout:
                at = time.perf_counter() - started
                lines.append((at, line.rstrip("\n")))
                out.append(line)
                so_far = list(samples)
                peak_rss = max([0, *(x[1] for x in so_far)]) / 2**30
                peak_tmp = max([0, *(x[2] for x in so_far)]) / 2**30
                cpu_now = so_far[-1][3] if so_far else 0.0
                progress.write(f"{at:.1f}\t{cpu_now:.1f}\t{peak_rss:.2f}\t{peak_tmp:.2f}\t{line}")
                progress.flush()
        proc.wait()
        stop.set()
        t.join()
    seconds = time.perf_counter() - started
    stdout = "".join(out)
    log.write_text(stdout)
    kernel_peak = 0
    text = Path(timefile.name).read_text() if TIME.exists() else ""
    Path(timefile.name).unlink(missing_ok=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        kernel_peak = int(m.group(1)) * 1024
    user = re.search(r"User time \(seconds\): ([\d.]+)", text)
    system = re.search(r"System time \(seconds\): ([\d.]+)", text)
    cpu_s = (
        float(user.group(1)) + float(system.group(1))
        if user and system
        else max([0.0, *(x[3] for x in samples)])
    )
    errs = [x for x in err_path.read_text(errors="replace").splitlines() if x.strip()]
    errs = [x for x in errs if not x.lstrip().startswith("Command ")]  # /usr/bin/time's note
    code = proc.returncode
    return Sampled(
        seconds=seconds,
        exit_code=code,
        error=(killed[0] if killed else errs[-1][:300] if errs else None) if code else None,
        peak_rss=max([kernel_peak, *(s[1] for s in samples)]),
        peak_tmp=max([0, *(s[2] for s in samples)]),
        cpu_s=cpu_s,
        samples=samples,
        lines=lines,
        load=(round(load0, 2), round(os.getloadavg()[0], 2)),
        killed=killed[0] if killed else None,
        stdout=stdout,
    )


def snapshot(commit: str, work: Path) -> tuple[str, Path]:
    """The package source of ``commit`` in a folder of its own (edits in the checkout do not leak in)."""
    repo = HERE.parent
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{commit}^{{commit}}"], cwd=repo, capture_output=True, text=True
    )
    if sha.returncode:
        raise SystemExit(f"--commit {commit}: not a commit of {repo} ({sha.stderr.strip()})")
    sha_s = sha.stdout.strip()
    folder = work / f"src-{sha_s[:12]}"
    if not (folder / "src" / "churnradar" / "__init__.py").exists():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha_s, "src"], cwd=repo, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
        vendor = repo / "src" / "churnradar" / "_static" / "vendor"  # installed assets, not in git
        if vendor.is_dir():
            shutil.copytree(vendor, folder / "src" / "churnradar" / "_static" / "vendor", dirs_exist_ok=True)
    return sha_s, folder / "src"


def wait_for_memory(args: argparse.Namespace, n: int, what: str) -> float:
    """Wait until ``--need-free-gib`` GiB are available before a big step; the seconds waited."""
    if n < args.big_subscribers:
        return 0.0
    waited = 0.0
    while mem_available_gib() < args.need_free_gib:
        if waited >= args.max_wait:
            raise SystemExit(
                f"{what}: only {mem_available_gib():.1f} GiB available after {waited:.0f} s; "
                f"{args.need_free_gib} GiB needed (--need-free-gib)"
            )
        print(
            f"  {what}: waiting, {mem_available_gib():.1f} GiB available, {args.need_free_gib} GiB needed",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(30)
        waited += 30
    return waited


# -- building the operator ----------------------------------------------------------------

#: A churnradar store (its format record and every canonical table) filled by the synthetic
#: generator month by month; no ingest batch is recorded, so the data version is "no-batches".
SYNTHETIC_STORE = """
import sys
from datetime import date
from churnradar.features.synthetic import SyntheticOperator
from churnradar.store import Store
n, months, seed, year, month, out = sys.argv[1:]
op = SyntheticOperator(int(n), int(months), int(seed), date(int(year), int(month), 1))
with Store.open(out) as st:
    con = st.connection
    for name, batch in op.tables():
        con.register("_batch", batch)
        con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _batch')
        con.unregister("_batch")
    con.execute("CHECKPOINT")
"""


@dataclass
class Operator:
    subscribers: int
    months: int
    source: str  # "simulator" | "synthetic"
    folder: Path
    data: Path | None  # export files (simulator)
    base_store: Path | None  # a ready store (synthetic)
    newest: str
    build: dict = field(default_factory=dict)


def _newest_month(start: str, months: int) -> str:
    y, m = map(int, start.split("-"))
    k = y * 12 + m - 1 + months - 1
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def build(args: argparse.Namespace, n: int) -> Operator:
    """The operator's files (simulator) or store (synthetic), built once and reused."""
    source = args.source or ("synthetic" if n > SYNTHETIC_ABOVE else "simulator")
    folder = args.work / f"{n}x{args.months}-{source}-s{args.seed}"
    folder.mkdir(parents=True, exist_ok=True)
    op = Operator(n, args.months, source, folder, None, None, _newest_month(args.start, args.months))
    done = folder / "build.json"
    if source == "simulator":
        op.data = folder / "data"
    else:
        op.base_store = folder / "base.duckdb"
    if done.exists():
        op.build = json.loads(done.read_text())
        print(f"{n:,} x {args.months}: reusing {folder}", file=sys.stderr, flush=True)
        return op
    print(f"{n:,} x {args.months}: building ({source}) in {folder}", file=sys.stderr, flush=True)
    if source == "simulator":
        if op.data.exists():
            shutil.rmtree(op.data)
        cmd = churnradar(
            "simulate",
            "--subscribers",
            str(n),
            "--months",
            str(args.months),
            "--seed",
            str(args.seed),
            "--start",
            args.start,
            "--format",
            "parquet",
            "--out",
            str(op.data),
        )
    else:
        op.base_store.unlink(missing_ok=True)
        cmd = [sys.executable, "-c", SYNTHETIC_STORE, str(n), str(args.months), str(args.seed)]
        cmd += [*args.start.split("-"), str(op.base_store)]
    r = run(
        cmd,
        cwd=folder,
        tmp_folders=[],
        env={"PYTHONPATH": str(args.src)},
        sample_s=args.sample,
        kill_bytes=int(args.kill_gib * 2**30),
        log=folder / "build.out",
    )
    if r.exit_code:
        raise SystemExit(f"building the operator failed: {r.error}")
    op.build = {
        "command": "churnradar " + " ".join(cmd[3:])
        if source == "simulator"
        else f"write_store(SyntheticOperator({n}, {args.months}, {args.seed}, {args.start}))",
        "seconds": round(r.seconds, 1),
        "peak_rss_gib": round(r.peak_rss / 2**30, 2),
        "disk_gib": round(_folder_bytes(folder) / 2**30, 2),
        "load": r.load,
    }
    done.write_text(json.dumps(op.build, indent=2))
    return op


# -- the runs -----------------------------------------------------------------------------


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _prepare_store(op: Operator, run_dir: Path) -> Path:
    store = run_dir / "store.duckdb"
    if op.base_store is not None:
        shutil.copy(op.base_store, store)
    return store


def _tmp_folders(run_dir: Path, store: Path) -> list[Path]:
    # DuckDB spills beside a file store (<store>.tmp) and into ./.tmp for in-memory databases;
    # ingest's own working folder lives under TMPDIR
    return [Path(f"{store}.tmp"), run_dir / ".tmp", run_dir / "tmp"]


def _runner(args: argparse.Namespace, run_dir: Path, store: Path):  # type: ignore[no-untyped-def]
    (run_dir / "tmp").mkdir(exist_ok=True)
    env = {"CHURNRADAR_HMAC_KEY": KEY, "TMPDIR": str(run_dir / "tmp"), "PYTHONPATH": str(args.src)}

    def go(cmd: list[str], name: str) -> Sampled:
        return run(
            cmd,
            cwd=run_dir,
            tmp_folders=_tmp_folders(run_dir, store),
            env=env,
            sample_s=args.sample,
            kill_bytes=int(args.kill_gib * 2**30),
            log=run_dir / f"{name}.out",
        )

    return go


def _split(r: Sampled) -> list[dict]:
    """Per-stage figures of a cycle run: its sampled series cut where each stage was reported."""
    marks = []
    for at, line in r.lines:
        m = STATUS_LINE.match(line)
        if m:
            marks.append((at, m.group(2), m.group(1)))
    out, begin, cpu_before = [], 0.0, 0.0
    for at, name, status in marks:
        window = [s for s in r.samples if begin <= s[0] <= at]
        cpu_at = window[-1][3] if window else cpu_before
        out.append(
            {
                "stage": name,
                "status": status,
                "wall_s": round(at - begin, 1),
                "cpu_s": round(cpu_at - cpu_before, 1),
                "peak_rss_gib": round(max([0, *(s[1] for s in window)]) / 2**30, 2),
                "peak_tmp_gib": round(max([0, *(s[2] for s in window)]) / 2**30, 2),
            }
        )
        begin, cpu_before = at, cpu_at
    return out


def _records(store: Path, month: str, since: datetime) -> dict[str, dict]:
    """The cycle's own records (rows, seconds, peak memory) of the stages that finished after ``since``."""
    from churnradar.store.connection import connect

    if not store.exists():
        return {}
    con = connect(store, read_only=True)
    try:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'cycle_run'").fetchone()[
            0
        ]:
            return {}
        rows = con.execute(
            "SELECT stage, status, rows, seconds, peak_rss, detail FROM cycle_run "
            "WHERE month = ? AND finished >= ?",
            [date.fromisoformat(month + "-01"), since.replace(tzinfo=None)],
        ).fetchall()
    finally:
        con.close()
    return {
        r[0]: {
            "status": r[1],
            "rows": r[2],
            "seconds": r[3],
            "peak_rss": r[4],
            "detail": json.loads(r[5] or "{}"),
        }
        for r in rows
    }


def run_cycle(args: argparse.Namespace, op: Operator, run_dir: Path, label: str) -> dict:
    store = run_dir / "store.duckdb"
    cmd = ["cycle", "--store", str(store), "--month", op.newest, "--memory", args.memory]
    if op.data is not None:
        cmd += ["--from", str(op.data)]
    if args.budget:
        cmd += ["--budget", str(args.budget)]
    cmd += ["--reports", str(run_dir / "reports")]
    print(f"{op.subscribers:,}: {label}: churnradar {' '.join(cmd)}", file=sys.stderr, flush=True)
    waited = wait_for_memory(args, op.subscribers, label)
    since = datetime.now()
    r = _runner(args, run_dir, store)(churnradar(*cmd), label.replace(" ", "_"))
    stages = _split(r)
    recs = _records(store, op.newest, since)
    for s in stages:
        rec = recs.get(s["stage"])
        if rec is not None and s["status"] == "ran":
            s["rows"] = rec["rows"]
            s["seconds"] = round(rec["seconds"], 1)
            s["detail"] = rec["detail"]
            if s["stage"] == "target" and "n_targeted" in rec["detail"]:
                # the record's rows of the target stage are not the list's length; the detail has it
                s["rows_recorded"], s["rows"] = rec["rows"], rec["detail"]["n_targeted"]
    failed = [line for _at, line in r.lines if STATUS_LINE.match(line) and "failed" in line.split()[:1]]
    res = {
        "run": label,
        "command": "churnradar " + " ".join(cmd),
        "wall_s": round(r.seconds, 1),
        "cpu_s": round(r.cpu_s, 1),
        "peak_rss_gib": round(r.peak_rss / 2**30, 2),
        "peak_tmp_gib": round(r.peak_tmp / 2**30, 2),
        "exit_code": r.exit_code,
        "error": r.error,
        "failed": failed,
        "load": r.load,
        "waited_for_memory_s": waited,
        "stages": stages,
    }
    print(f"  {_short(res)}", file=sys.stderr, flush=True)
    return res


def _json(text: str) -> dict:
    """The JSON object a command printed (skipping anything printed before it)."""
    i = text.find("{")
    if i < 0:
        return {}
    try:
        return json.loads(text[i:])
    except json.JSONDecodeError:
        return {}


def _rows(name: str, out: dict) -> int | None:
    """Rows a command reports in its JSON (the figure the cycle records for the same stage)."""
    try:
        if name == "ingest":
            return int(out["loaded"])
        if name == "label":
            return int(out["population"])
        if name == "features":
            return int(out["rows"])
        if name == "train":
            return int(out["metrics"].get("panel_rows", 0))
        if name == "score":
            return int(out["rows"])
        if name == "segments":
            return int(out["rows"])
        if name == "target":
            return int(out["n_targeted"])
        if name == "metrics":
            return len(out.get("values", out.get("metrics", {})))
        if name == "report":
            return len(out.get("files", []))
    except (KeyError, TypeError, ValueError):
        return None
    return None


def run_separate(
    args: argparse.Namespace, op: Operator, run_dir: Path, cycle: dict, saved: Callable[[list[dict]], None]
) -> dict:
    """The separate commands for the same month, with the label and training months the cycle used."""
    store = run_dir / "store.duckdb"
    by = {s["stage"]: s for s in cycle["stages"]}
    label_as_of = by.get("labels", {}).get("detail", {}).get("as_of")
    train_as_of = by.get("train", {}).get("detail", {}).get("as_of")
    if label_as_of is None or train_as_of is None:  # the cycle did not get there: off-net's months
        y, m = map(int, op.newest.split("-"))
        k = y * 12 + m - 1
        label_as_of = f"{(k - 6) // 12:04d}-{(k - 6) % 12 + 1:02d}"
        train_as_of = f"{(k - 3) // 12:04d}-{(k - 3) % 12 + 1:02d}"
    mem = ["--memory", args.memory]
    s = ["--store", str(store)]
    steps: list[tuple[str, list[str]]] = []
    if op.data is not None:
        steps.append(("ingest", ["ingest", str(op.data), *s, *mem, "--json"]))
    steps += [
        ("label", ["label", *s, "--as-of", label_as_of, "--json"]),
        ("features", ["features", *s, "--as-of", op.newest, "--json"]),
        ("train", ["train", *s, "--as-of", train_as_of, *mem, "--json"]),
        ("score", ["score", *s, "--as-of", op.newest, *mem, "--json", "--top", "1"]),
        ("segments", ["campaign", "segments", *s, "--as-of", op.newest, "--json"]),
    ]
    if args.budget:
        steps.append(("target", ["target", *s, "--budget", str(args.budget), "--as-of", op.newest, "--json"]))
    steps += [
        ("metrics", ["metrics", *s, "--month", op.newest, "--json"]),
        (
            "report",
            [
                "report",
                "all",
                *s,
                "--as-of",
                op.newest,
                "--format",
                "html",
                "--out",
                str(run_dir / "reports"),
                "--json",
            ],
        ),
    ]
    go = _runner(args, run_dir, store)
    out = []
    for name, cmd in steps:
        print(f"{op.subscribers:,}: separate: churnradar {' '.join(cmd)}", file=sys.stderr, flush=True)
        waited = wait_for_memory(args, op.subscribers, name)
        r = go(churnradar(*cmd), name)
        row = {
            "stage": name,
            "command": "churnradar " + " ".join(cmd),
            "wall_s": round(r.seconds, 1),
            "cpu_s": round(r.cpu_s, 1),
            "peak_rss_gib": round(r.peak_rss / 2**30, 2),
            "peak_tmp_gib": round(r.peak_tmp / 2**30, 2),
            "rows": _rows(name, _json(r.stdout)) if not r.exit_code else None,
            "exit_code": r.exit_code,
            "error": r.error,
            "load": r.load,
            "waited_for_memory_s": waited,
        }
        print(f"  {_short(row)}", file=sys.stderr, flush=True)
        out.append(row)
        saved(out)
        if r.exit_code and name in NEEDED:
            break
    return {
        "run": "separate commands",
        "wall_s": round(sum(x["wall_s"] for x in out), 1),
        "cpu_s": round(sum(x["cpu_s"] for x in out), 1),
        "peak_rss_gib": max(x["peak_rss_gib"] for x in out),
        "peak_tmp_gib": max(x["peak_tmp_gib"] for x in out),
        "exit_code": next((x["exit_code"] for x in out if x["exit_code"]), 0),
        "load": (out[0]["load"][0], out[-1]["load"][1]),
        "stages": out,
    }


def _short(d: dict) -> str:
    return json.dumps({k: v for k, v in d.items() if k not in ("stages", "command")}, default=str)


# -- output -------------------------------------------------------------------------------


def markdown(res: dict) -> str:
    """One table per size: stages of the cycle beside the separate commands."""
    cyc, again, sep = res["cycle"], res["cycle_again"], res["separate"]
    lines = [
        f"**{res['subscribers']:,} × {res['months']}** ({res['source']}, month {res['month']}, "
        f"`--memory {res['memory']}`)",
        "",
        "| stage | cycle: status | s (CPU s) | peak RSS GiB | temp disk GiB | rows | separate: command | "
        "s (CPU s) | peak RSS GiB | temp disk GiB | rows |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    seps = {s["stage"]: s for s in sep["stages"]}
    used: set[str] = set()
    for s in cyc["stages"]:
        rows = f"{s['rows']:,}" if s.get("rows") is not None else ""
        mine = (
            f"| {s['stage']} | {s['status']} | {s['wall_s']} ({s.get('cpu_s', '')}) | {s['peak_rss_gib']} | "
            f"{s['peak_tmp_gib']} | {rows} "
        )
        matched = [seps[c] for c in SEPARATE_OF.get(s["stage"], ()) if c in seps]
        if not matched:
            lines.append(mine + "| — | | | | |")
        for i, other in enumerate(matched):
            used.add(other["stage"])
            lines.append((mine if i == 0 else "| | | | | | ") + _sep_cells(other))
    for name, other in seps.items():
        if name not in used:
            lines.append("| | | | | | " + _sep_cells(other))
    lines.append(
        f"| **total** | exit {cyc['exit_code']} | **{cyc['wall_s']}** ({cyc.get('cpu_s', '')}) | "
        f"{cyc['peak_rss_gib']} | {cyc['peak_tmp_gib']} | | | **{sep['wall_s']}** ({sep.get('cpu_s', '')}) | "
        f"{sep['peak_rss_gib']} | {sep['peak_tmp_gib']} | |"
    )
    lines += [
        "",
        f"Ratio cycle / separate commands: **{res['ratio']}** wall"
        + (f", **{res['cpu_ratio']}** CPU" if "cpu_ratio" in res else "")
        + f". Second cycle on the unchanged store: "
        f"{again['wall_s']} s, peak RSS {again['peak_rss_gib']} GiB, stages "
        f"{', '.join(s['stage'] + ' ' + s['status'] for s in again['stages'])}. "
        f"Load average (start / end): cycle {cyc['load'][0]} / {cyc['load'][1]}, second cycle "
        f"{again['load'][0]} / {again['load'][1]}, separate commands {sep['load'][0]} / {sep['load'][1]}.",
    ]
    return "\n".join(lines)


def _sep_cells(s: dict) -> str:
    rows = f"{s['rows']:,}" if s.get("rows") is not None else ""
    cmd = s["stage"] + ("" if not s["exit_code"] else f" (exit {s['exit_code']}: {s['error']})")
    return f"| {cmd} | {s['wall_s']} ({s.get('cpu_s', '')}) | {s['peak_rss_gib']} | {s['peak_tmp_gib']} | {rows} |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, nargs="+", default=[100_000])
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2024-01", help="first month of the data, YYYY-MM")
    ap.add_argument(
        "--source",
        choices=("simulator", "synthetic"),
        default=None,
        help=f"how the operator is built (default: simulator up to {SYNTHETIC_ABOVE:,}, synthetic above)",
    )
    ap.add_argument(
        "--memory", default="8GB", help="--memory of the cycle and of every command that takes it"
    )
    ap.add_argument(
        "--budget-per-subscriber",
        type=float,
        default=None,
        help="target list budget, yuan per subscriber (0: no target list; default 0.2 on simulated data, "
        "0 on synthetic data, which holds no campaign outcomes to learn uplift from)",
    )
    ap.add_argument(
        "--work", type=Path, default=HERE / "_work" / "cycle", help="folder keeping the operators"
    )
    ap.add_argument("--sample", type=float, default=0.5, help="seconds between samples of RSS and disk")
    ap.add_argument("--kill-gib", type=float, default=10.0, help="kill a process tree above this RSS")
    ap.add_argument(
        "--big-subscribers", type=int, default=500_000, help="sizes whose runs wait for free memory first"
    )
    ap.add_argument(
        "--need-free-gib", type=float, default=9.0, help="GiB that must be available before a big run starts"
    )
    ap.add_argument("--max-wait", type=float, default=3600.0, help="seconds to wait for memory at most")
    ap.add_argument("--skip-separate", action="store_true", help="run the cycle only")
    ap.add_argument(
        "--commit",
        default="HEAD",
        help="run the package source of this commit (a copy under --work), not the checkout's files",
    )
    ap.add_argument("--json-out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the run stores (default: remove them)")
    args = ap.parse_args(argv)
    if args.months < 13:
        raise SystemExit(
            f"--months {args.months} is too short; expected 13 or more (labels need T-6, training T-3)"
        )

    args.work.mkdir(parents=True, exist_ok=True)
    commit, args.src = snapshot(args.commit, args.work)
    print(f"churnradar source: commit {commit[:12]} ({args.src})", file=sys.stderr, flush=True)
    results: list[dict] = []
    started = datetime.now(UTC).isoformat(timespec="minutes")

    def save(res: dict | None = None) -> None:
        """Write what has been measured so far (a run stopped midway keeps its finished steps)."""
        if not args.json_out:
            return
        out = {
            "machine": {
                "cpus": os.cpu_count(),
                "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "date": started,
            "commit": commit,
            "results": [*results, res] if res is not None else results,
        }
        args.json_out.write_text(json.dumps(out, indent=2, default=str))

    for n in args.subscribers:
        op = build(args, n)
        per = args.budget_per_subscriber
        if per is None:
            per = 0.2 if op.source == "simulator" else 0.0
        args.budget = round(n * per) if per > 0 else None
        res: dict = {
            "subscribers": n,
            "months": args.months,
            "source": op.source,
            "month": op.newest,
            "memory": args.memory,
            "budget": args.budget,
            "build": op.build,
        }
        cyc_dir = _fresh(op.folder / "run_cycle")
        _prepare_store(op, cyc_dir)
        res["cycle"] = run_cycle(args, op, cyc_dir, "cycle")
        save(res)
        res["cycle_again"] = run_cycle(args, op, cyc_dir, "cycle again")
        save(res)
        res["cycle_store_gib"] = round((cyc_dir / "store.duckdb").stat().st_size / 2**30, 2)
        if not args.keep:
            shutil.rmtree(cyc_dir)
        if not args.skip_separate:
            sep_dir = _fresh(op.folder / "run_separate")
            _prepare_store(op, sep_dir)
            res["separate"] = run_separate(
                args, op, sep_dir, res["cycle"], lambda done, res=res: save({**res, "separate_so_far": done})
            )
            if not args.keep:
                shutil.rmtree(sep_dir)
            failed = [s["stage"] for s in res["separate"]["stages"] if s.get("exit_code")]
            if failed:  # the commands after it did not run: the sums are not the same work
                res["ratio"] = f"none (the separate command {failed[0]} failed)"
            else:
                res["ratio"] = round(res["cycle"]["wall_s"] / res["separate"]["wall_s"], 2)
                if res["separate"]["cpu_s"]:
                    res["cpu_ratio"] = round(res["cycle"]["cpu_s"] / res["separate"]["cpu_s"], 2)
            print(markdown(res), flush=True)
        results.append(res)
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
