"""Benchmark of online scoring over HTTP (results: benchmarks/RESULTS.md, section "API").

    python benchmarks/bench_api.py                      # 200 requests/s for 60 s, 1 worker
    python benchmarks/bench_api.py --rate 100 --seconds 10 --subscribers 5000   # a quick look

What runs: a simulated operator (``--subscribers`` × 12 months, cached under benchmarks/_work/api/)
is ingested, a churn model trained and the last month scored; ``churnradar serve`` then serves it
with one uvicorn worker on 127.0.0.1 (SQLite operational store), and an analyst's API token calls
``POST /api/score/{subscriber_id}`` (online scoring from the stored features: one LightGBM row,
calibrated horizon probabilities, exact TreeSHAP reasons, health) for random subscribers.

The load generator is open-loop: request *i* is due at ``t0 + i / rate`` on one of 32 keep-alive
connections, and its latency is measured from when it was due (so a slow server cannot hide its
queueing: no coordinated omission). Load only ever targets 127.0.0.1 and stops after
``rate × seconds`` requests. If Debian's ``wrk`` is installed, a 10-second closed-loop run with 8
connections also reports the maximum throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "api"
HOST = "127.0.0.1"
CONNECTIONS = 32
KEY = "benchmark-key-not-secret"


def prepare(subscribers: int) -> Path:
    """Simulate, ingest, train and score once (cached by size)."""
    import warnings

    from churnradar.ingest import ingest
    from churnradar.models.pipeline import score_store, train_store
    from churnradar.periods import add_months, format_month, parse_month
    from churnradar.simulate import simulate

    root = WORK / f"op{subscribers}"
    store = root / "store.duckdb"
    marker = root / "scored"
    if marker.exists():
        return store
    root.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    simulate(subscribers=subscribers, months=12, seed=5, out=root / "data", fmt="parquet", start="2024-01")
    if store.exists():
        store.unlink()
    ingest([root / "data"], store=store, key=KEY)
    last = "2024-12"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_store(store, format_month(add_months(parse_month(last), -4)), history_months=3)
        score_store(store, last)
    marker.write_text("ok\n")
    print(f"prepared {subscribers:,} subscribers in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return store


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(store: Path, port: int) -> tuple[subprocess.Popen, str, str]:
    """A token for a fresh analyst account, then ``churnradar serve`` (1 worker) in a subprocess."""
    from churnradar.api.auth import add_user, create_token, list_users
    from churnradar.opstore import WEB_MIGRATIONS, migrate, open_engine

    url = f"sqlite:///{store.with_name('ops.sqlite')}"
    engine = open_engine(url)
    migrate(engine, "web", WEB_MIGRATIONS)
    if "bench" not in {u["username"] for u in list_users(engine)}:
        add_user(engine, "bench", "benchmark-password", "analyst", actor="bench")
    token = create_token(engine, "bench", "bench_api.py", actor="bench")
    engine.dispose()
    cmd = [sys.executable, "-c", "import sys; from churnradar.cli import main; sys.exit(main(sys.argv[1:]))"]
    cmd += ["serve", "--store", str(store), "--database-url", url, "--host", HOST, "--port", str(port)]
    proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return proc, token, url


def http(port: int, method: str, path: str, token: str = "", timeout: float = 600.0) -> tuple[int, bytes]:
    import http.client

    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request(method, path, headers={"Authorization": f"Bearer {token}"} if token else {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_ready(port: int, token: str, sid: str) -> float:
    t = time.perf_counter()
    while True:
        try:
            if http(port, "GET", "/api/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    status, body = http(port, "POST", f"/api/score/{sid}", token)  # waits for the warm-up
    if status != 200:
        raise SystemExit(f"warm-up request failed: {status} {body[:300]!r}")
    return time.perf_counter() - t


async def _request(reader, writer, req: bytes) -> int:
    writer.write(req)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    if m:
        await reader.readexactly(int(m.group(1)))
    return status


async def open_loop(port: int, token: str, ids: list[str], rate: float, seconds: float) -> dict:
    n = int(rate * seconds)
    rng = random.Random(1)
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(await asyncio.open_connection(HOST, port))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    t0 = time.perf_counter() + 0.2

    async def one(i: int) -> None:
        due = t0 + i / rate
        sid = rng.choice(ids)
        req = (
            f"POST /api/score/{sid} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"
        ).encode()
        conn = await pool.get()
        try:
            status = await _request(*conn, req)
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1
        except (OSError, asyncio.IncompleteReadError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            conn = await asyncio.open_connection(HOST, port)
        finally:
            pool.put_nowait(conn)
        latencies.append(time.perf_counter() - due)

    tasks = []
    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    while not pool.empty():
        _, w = pool.get_nowait()
        w.close()
    lat = sorted(latencies)

    def q(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2)

    return {
        "requests": n,
        "seconds": round(elapsed, 1),
        "achieved_rate": round(n / elapsed, 1),
        "p50_ms": q(0.50),
        "p90_ms": q(0.90),
        "p99_ms": q(0.99),
        "max_ms": round(lat[-1] * 1000, 2),
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def wrk_max(port: int, token: str, sid: str) -> dict | None:
    if not shutil.which("wrk"):
        return None
    script = WORK / "score.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.headers["Authorization"] = "Bearer {token}"\n')
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c8",
            "-d10s",
            "--latency",
            "-s",
            str(script),
            f"http://{HOST}:{port}/api/score/{sid}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "requests_per_s": float(rps.group(1)) if rps else None,
        "p99": f"{p99.group(1)} {p99.group(2)}" if p99 else None,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} vCPU, Python {platform.python_version()}, {platform.system()}"


def write_results(res: dict) -> None:
    path = HERE / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    m = res["open_loop"]
    w = res.get("wrk")
    lines = [
        "## API",
        "",
        f"`python benchmarks/bench_api.py` — {res['date']}, {res['machine']}; 1-minute load average "
        f"{res['load_before']:.1f} before and {res['load_after']:.1f} after the run (the machine is shared: "
        "other jobs' CPU use shows up in the tail latencies).",
        f"Online scoring `POST /api/score/{{subscriber_id}}` from stored features on a simulated operator of "
        f"{res['subscribers']:,} subscribers (model {res['model_trees']} trees, {res['features']} features), "
        "one uvicorn worker on 127.0.0.1, SQLite operational store, API-token auth, region scoping, exact "
        "TreeSHAP reasons per request. Open-loop load, latency from each request's due time.",
        "",
        "| load | requests | achieved rate | p50 | p90 | p99 | max | errors |",
        "|---|---|---|---|---|---|---|---|",
        f"| {res['rate']:.0f} req/s × {res['seconds']:.0f} s | {m['requests']:,} | {m['achieved_rate']} req/s | "
        f"{m['p50_ms']} ms | {m['p90_ms']} ms | {m['p99_ms']} ms | {m['max_ms']} ms | {m['errors']} |",
        "",
        f"Target p99 ≤ 20 ms with zero errors: **{'met' if m['p99_ms'] <= 20 and m['errors'] == 0 else 'not met'}**. "
        f"Start-up (model load and feature encoding before the first score): {res['warmup_s']:.1f} s.",
    ]
    if w:
        lines += [
            "",
            f"Maximum throughput (wrk, closed loop, 8 connections, 10 s): {w['requests_per_s']} req/s, "
            f"p99 {w['p99']}, non-2xx {w['non_2xx']}.",
        ]
    section = "\n".join(lines) + "\n"
    if re.search(r"^## API\n", text, flags=re.M):
        text = re.sub(r"^## API\n.*?(?=^## |\Z)", section + "\n", text, flags=re.M | re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=20_000)
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second (open loop)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    if args.rate * args.seconds > 100_000:
        raise SystemExit("refusing more than 100,000 requests in one run")
    store = prepare(args.subscribers)

    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    ids = [
        r[0]
        for r in con.execute(
            "SELECT subscriber_id FROM score WHERE as_of = (SELECT max(as_of) FROM score)"
        ).fetchall()
    ]
    con.close()
    from churnradar.models.registry import load_model

    _, model = load_model(store)
    port = free_port()
    proc, token, _ = start_server(store, port)
    try:
        warm = wait_ready(port, token, ids[0])
        load_before = os.getloadavg()[0]
        open_res = asyncio.run(open_loop(port, token, ids, args.rate, args.seconds))
        load_after = os.getloadavg()[0]
        wrk = wrk_max(port, token, ids[0])
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    res = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "subscribers": args.subscribers,
        "model_trees": model.hazard.booster_.num_trees(),
        "features": model.hazard.booster_.num_feature(),
        "rate": args.rate,
        "seconds": args.seconds,
        "warmup_s": warm,
        "load_before": load_before,
        "load_after": load_after,
        "open_loop": open_res,
        "wrk": wrk,
    }
    print(json.dumps(res, indent=2))
    if not args.no_write:
        write_results(res)


if __name__ == "__main__":
    main()
