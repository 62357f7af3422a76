"""Benchmark of the feature library (results: benchmarks/RESULTS.md, section "Features").

    python benchmarks/bench_features.py                       # 1M × 12: all comparisons
    python benchmarks/bench_features.py --subscribers 10000000 --only duckdb   # the 10M run

Data: canonical-shaped random tables from ``churnradar.features.synthetic`` (numpy, not the causal
simulator, which is too slow at these sizes), written once as Parquet under benchmarks/_work/ and
loaded into a DuckDB store. Each measurement runs in its own process, so its peak RSS is its own.

Measured, for the as-of month T = the last month of the data:

* ``duckdb``  — churnradar, full core set on DuckDB over the store file (Arrow result);
* ``spark``   — churnradar, full core set on Spark local[2] over the Parquet folder (noop sink);
* ``subset``  — ten representative features three ways: churnradar (DuckDB), the same written by
  hand in DuckDB SQL, and vectorised pandas (Parquet read + compute), each run three times
  interleaved in one process; the best time of each is reported, and churnradar's first run (the
  only one that compiles the Ibis expression to SQL) too. The three results are checked to agree
  before the times are reported.

The 1-minute load average before and after each stage is recorded with the results (the machine
is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"

SUBSET = [
    "arpu_3m_mean",
    "arpu_trend_3m",
    "arpu_mom_change",
    "mou_3m_mean",
    "mou_trend_3m",
    "data_mom_change",
    "recharge_count_3m",
    "complaints_3m",
    "competitor_share_3m",
    "tenure_months",
]


def _month(start: date, k: int) -> date:
    n = start.year * 12 + start.month - 1 + k
    return date(n // 12, n % 12 + 1, 1)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


# -- data ---------------------------------------------------------------------------------------


def data_dirs(subscribers: int, months: int) -> tuple[Path, Path]:
    root = WORK / f"features_{subscribers}x{months}"
    return root / "parquet", root / "store.duckdb"


def stage_generate(subscribers: int, months: int, store: bool) -> dict:
    from churnradar.features.synthetic import SyntheticOperator, write_parquet, write_store

    pq_dir, db = data_dirs(subscribers, months)
    out = {}
    if not (pq_dir / "_done").exists():
        t = time.perf_counter()
        write_parquet(SyntheticOperator(subscribers=subscribers, months=months, seed=42), pq_dir)
        (pq_dir / "_done").write_text("ok")
        out["generate_s"] = time.perf_counter() - t
    if store and not db.exists():
        t = time.perf_counter()
        write_store(None, db.with_suffix(".tmp"), parquet_dir=pq_dir)
        db.with_suffix(".tmp").rename(db)
        out["load_store_s"] = time.perf_counter() - t
    import duckdb

    con = duckdb.connect()
    out["rows"] = {
        t: con.sql(f"SELECT count(*) FROM read_parquet('{pq_dir / (t + '.parquet')}')").fetchone()[0]
        for t in (
            "subscription",
            "usage_monthly",
            "billing_monthly",
            "call_edge",
            "interaction",
            "status_event",
        )
    }
    out["parquet_gib"] = sum(p.stat().st_size for p in pq_dir.glob("*.parquet")) / 1024**3
    return out


# -- churnradar ---------------------------------------------------------------------------------


def _dir_bytes(path: Path) -> int:
    try:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    except OSError:  # a spill file removed while listing
        return 0


def stage_duckdb(source: Path, as_of: str, features: list[str] | None) -> dict:
    import threading

    from churnradar.features import compute_features
    from churnradar.store.backends import open_backend

    be = open_backend(source)
    big = source.is_dir()
    tmp = WORK / "duckdb_tmp"
    if big:  # a Parquet folder (the 10M run): let DuckDB spill to disk
        be.con.raw_sql(f"SET temp_directory = '{tmp}'")
        be.con.raw_sql(f"SET memory_limit = '{os.environ.get('BENCH_DUCKDB_MEMORY', '16GB')}'")
        # spill at most this much (a full disk would hurt everyone on the machine), keep no row order
        be.con.raw_sql(f"SET max_temp_directory_size = '{os.environ.get('BENCH_DUCKDB_SPILL', '28GB')}'")
        be.con.raw_sql("SET preserve_insertion_order = false")
    import ibis

    t = time.perf_counter()
    ibis.to_sql(compute_features(be, as_of, features or "core"), dialect="duckdb")
    compile_s = time.perf_counter() - t
    spill = {"max": 0}
    done = threading.Event()

    def watch() -> None:  # largest size of the spill folder, sampled every 2 s
        while not done.wait(2.0):
            spill["max"] = max(spill["max"], _dir_bytes(tmp))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t = time.perf_counter()
    expr = compute_features(be, as_of, features or "core")
    if big:
        # stream the result (10M rows × 114 columns would be ~9 GiB as one Arrow table in this
        # process); like Spark's noop sink, every batch is produced and dropped
        rows = 0
        for batch in be.con.to_pyarrow_batches(expr, chunk_size=500_000):
            rows += batch.num_rows
            columns = batch.num_columns
    else:
        table = be.to_pyarrow(expr)
        rows, columns = table.num_rows, table.num_columns
    seconds = time.perf_counter() - t
    done.set()
    return {
        "seconds": seconds,
        "compile_s": compile_s,
        "rows": rows,
        "columns": columns,
        "peak_rss_gib": peak_rss_gib(),
        "max_spill_gib": spill["max"] / 1024**3,
    }


def stage_spark(pq_dir: Path, as_of: str) -> dict:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("CHURNRADAR_SPARK_DRIVER_MEMORY", "12g")
    from churnradar.features import compute_features
    from churnradar.store.backends import open_backend

    t0 = time.perf_counter()
    be = open_backend(pq_dir, "spark")
    started = time.perf_counter() - t0
    t = time.perf_counter()
    expr = compute_features(be, as_of)
    df = be.con._session.sql(be.con.compile(expr))
    df.write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "session_start_s": started, "columns": len(df.columns)}


# -- the ten-feature subset, three ways ---------------------------------------------------------


def hand_sql(as_of: date) -> str:
    t0, t1, t2, end = as_of, _month(as_of, -1), _month(as_of, -2), _month(as_of, 1)
    idx = as_of.year * 12 + as_of.month - 1
    return f"""
WITH pop AS (
  SELECT subscriber_id, activation_date FROM subscription s
  WHERE activation_date < DATE '{end}'
    AND NOT EXISTS (SELECT 1 FROM status_event e WHERE e.subscriber_id = s.subscriber_id
                    AND e.event_type IN ('deregister', 'port_out') AND e.event_time < TIMESTAMP '{end}')
), b AS (
  SELECT subscriber_id,
    avg(revenue) AS arpu_3m_mean,
    regr_slope(revenue, date_diff('month', DATE '{t0}', month)) AS arpu_trend_3m,
    max(revenue) FILTER (month = DATE '{t0}') AS rev0,
    max(revenue) FILTER (month = DATE '{t1}') AS rev1,
    sum(recharge_count) AS recharge_count_3m
  FROM billing_monthly WHERE month BETWEEN DATE '{t2}' AND DATE '{t0}' GROUP BY 1
), u AS (
  SELECT subscriber_id,
    avg(voice_out_min + voice_in_min) AS mou_3m_mean,
    regr_slope(voice_out_min + voice_in_min, date_diff('month', DATE '{t0}', month)) AS mou_trend_3m,
    max(data_mb) FILTER (month = DATE '{t0}') AS data0,
    max(data_mb) FILTER (month = DATE '{t1}') AS data1,
    sum(competitor_min) / nullif(sum(onnet_min + offnet_min + competitor_min), 0) AS competitor_share_3m
  FROM usage_monthly WHERE month BETWEEN DATE '{t2}' AND DATE '{t0}' GROUP BY 1
), c AS (
  SELECT subscriber_id, count(*) AS complaints_3m FROM interaction
  WHERE kind = 'complaint' AND interaction_time >= TIMESTAMP '{t2}' AND interaction_time < TIMESTAMP '{end}'
  GROUP BY 1
)
SELECT pop.subscriber_id,
  b.arpu_3m_mean, b.arpu_trend_3m, (b.rev0 - b.rev1) / nullif(b.rev1, 0) AS arpu_mom_change,
  u.mou_3m_mean, u.mou_trend_3m, (u.data0 - u.data1) / nullif(u.data1, 0) AS data_mom_change,
  coalesce(b.recharge_count_3m, 0) AS recharge_count_3m, coalesce(c.complaints_3m, 0) AS complaints_3m,
  u.competitor_share_3m,
  {idx} - (year(pop.activation_date) * 12 + month(pop.activation_date) - 1) AS tenure_months
FROM pop
LEFT JOIN b USING (subscriber_id) LEFT JOIN u USING (subscriber_id) LEFT JOIN c USING (subscriber_id)
"""


def pandas_subset(pq_dir: Path, as_of: date):
    import numpy as np
    import pandas as pd

    end, t1, t2 = _month(as_of, 1), _month(as_of, -1), _month(as_of, -2)
    t_load = time.perf_counter()
    rd = lambda name, cols, filters=None: pd.read_parquet(  # noqa: E731
        pq_dir / f"{name}.parquet", columns=cols, filters=filters
    )
    win = [("month", ">=", pd.Timestamp(t2)), ("month", "<=", pd.Timestamp(as_of))]
    sub = rd("subscription", ["subscriber_id", "activation_date"])
    ev = rd("status_event", ["subscriber_id", "event_time", "event_type"])
    bill = rd("billing_monthly", ["subscriber_id", "month", "revenue", "recharge_count"], win)
    use = rd(
        "usage_monthly",
        [
            "subscriber_id",
            "month",
            "voice_out_min",
            "voice_in_min",
            "data_mb",
            "onnet_min",
            "offnet_min",
            "competitor_min",
        ],
        win,
    )
    inter = rd("interaction", ["subscriber_id", "interaction_time", "kind"])
    load_s = time.perf_counter() - t_load

    t = time.perf_counter()
    end_ts = pd.Timestamp(end)
    gone = ev.loc[ev.event_type.isin(["deregister", "port_out"]) & (ev.event_time < end_ts), "subscriber_id"]
    act = pd.to_datetime(sub.activation_date)
    pop = sub[(act < end_ts) & ~sub.subscriber_id.isin(gone)].copy()
    pop_act = pd.to_datetime(pop.activation_date)

    def slope_frame(df, y):
        x = -((as_of.year * 12 + as_of.month) - (df.month.dt.year * 12 + df.month.dt.month)).astype(float)
        g = pd.DataFrame({"s": df.subscriber_id, "x": x, "y": df[y], "xy": x * df[y], "xx": x * x})
        a = g.groupby("s").agg(
            n=("x", "size"), sx=("x", "sum"), sy=("y", "sum"), sxy=("xy", "sum"), sxx=("xx", "sum")
        )
        den = a.n * a.sxx - a.sx**2
        return ((a.n * a.sxy - a.sx * a.sy) / den.where(den != 0)).rename(f"{y}_slope")

    def mom(df, y):
        p = df.pivot_table(index="subscriber_id", columns="month", values=y, aggfunc="max")
        new, old = p.get(pd.Timestamp(as_of)), p.get(pd.Timestamp(t1))
        return (new - old) / old.where(old != 0)

    bill["month"] = pd.to_datetime(bill.month)
    use["month"] = pd.to_datetime(use.month)
    use["mou"] = use.voice_out_min + use.voice_in_min
    bg = bill.groupby("subscriber_id")
    ug = use.groupby("subscriber_id")
    tot = ug[["onnet_min", "offnet_min", "competitor_min"]].sum()
    den = tot.sum(axis=1)
    comp = (
        inter[
            (inter.kind == "complaint")
            & (inter.interaction_time >= pd.Timestamp(t2))
            & (inter.interaction_time < end_ts)
        ]
        .groupby("subscriber_id")
        .size()
    )
    out = pd.DataFrame(index=pop.subscriber_id.values)
    out["arpu_3m_mean"] = bg.revenue.mean()
    out["arpu_trend_3m"] = slope_frame(bill, "revenue")
    out["arpu_mom_change"] = mom(bill, "revenue")
    out["mou_3m_mean"] = ug.mou.mean()
    out["mou_trend_3m"] = slope_frame(use, "mou")
    out["data_mom_change"] = mom(use, "data_mb")
    out["recharge_count_3m"] = bg.recharge_count.sum().reindex(out.index).fillna(0).astype(np.int64)
    out["complaints_3m"] = comp.reindex(out.index).fillna(0).astype(np.int64)
    out["competitor_share_3m"] = tot.competitor_min / den.where(den != 0)
    out["tenure_months"] = (
        (as_of.year * 12 + as_of.month) - (pop_act.dt.year * 12 + pop_act.dt.month)
    ).to_numpy()
    compute_s = time.perf_counter() - t
    return out.rename_axis("subscriber_id").reset_index(), load_s, compute_s


def stage_subset(db: Path, pq_dir: Path, as_of: str, repeat: int = 3) -> dict:
    """Each implementation ``repeat`` times, interleaved; the best time of each is reported."""
    import duckdb
    import numpy as np

    from churnradar.features import AsOf, compute_features
    from churnradar.store.backends import open_backend

    month = AsOf.parse(as_of).month
    res: dict = {"repeat": repeat}
    be = open_backend(db)
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    sql = hand_sql(month)
    ours_s, hand_s, pandas_s = [], [], []
    for r in range(repeat):
        # churnradar: build the expression, compile it (the first time; the backend keeps the
        # compiled SQL for an identical expression), run it, Arrow result
        t = time.perf_counter()
        expr = compute_features(be, as_of, SUBSET)
        built = time.perf_counter()
        ours = be.to_pyarrow(expr)
        ours_s.append(time.perf_counter() - t)
        if r == 0:
            res["churnradar_first_build_s"] = built - t
        t = time.perf_counter()
        hand = con.sql(sql).to_arrow_table()
        hand_s.append(time.perf_counter() - t)
        pdf, load_s, compute_s = pandas_subset(pq_dir, month)
        pandas_s.append((load_s + compute_s, load_s, compute_s))
    be.close()
    con.close()
    res["churnradar_first_s"] = ours_s[0]  # includes Ibis compilation
    res["churnradar_duckdb_s"] = min(ours_s)
    res["hand_sql_first_s"] = hand_s[0]
    res["hand_sql_s"] = min(hand_s)
    res["pandas_s"], res["pandas_load_s"], res["pandas_compute_s"] = min(pandas_s)
    res["all_s"] = {"churnradar": ours_s, "hand_sql": hand_s, "pandas": [p[0] for p in pandas_s]}

    # the three results must agree before their times mean anything
    a = ours.to_pandas().set_index("subscriber_id").sort_index()
    b = hand.to_pandas().set_index("subscriber_id").sort_index()[SUBSET]
    c = pdf.set_index("subscriber_id").sort_index()[SUBSET]
    assert len(a) == len(b) == len(c), (len(a), len(b), len(c))
    for col in SUBSET:
        for other in (b, c):
            x, y = a[col].to_numpy(dtype=float), other[col].to_numpy(dtype=float)
            ok = np.isclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True)
            assert ok.all(), f"{col}: {int((~ok).sum())} rows differ, e.g. {x[~ok][:3]} vs {y[~ok][:3]}"
    res["rows"] = len(a)
    res["peak_rss_gib"] = peak_rss_gib()
    return res


# -- orchestration ------------------------------------------------------------------------------


def run_stage(args: list[str]) -> dict:
    """Run one stage in a fresh process; its last stdout line is its JSON result."""
    load_before = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"stage {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["load_avg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--only", choices=["duckdb", "spark", "subset"], action="append")
    ap.add_argument(
        "--features", help="comma-separated features for the duckdb stage instead of the core set"
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs of each subset implementation (best reported)"
    )
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    a = ap.parse_args()
    pq_dir, db = data_dirs(a.subscribers, a.months)
    as_of = _month(date(2024, 1, 1), a.months - 1).strftime("%Y-%m")

    if a.stage:  # child process
        if a.stage == "generate":
            out = stage_generate(a.subscribers, a.months, store=a.source != "parquet")
        elif a.stage == "duckdb":
            out = stage_duckdb(Path(a.source), as_of, a.features.split(",") if a.features else None)
        elif a.stage == "spark":
            out = stage_spark(pq_dir, as_of)
        else:
            out = stage_subset(db, pq_dir, as_of, repeat=a.repeat)
        print(json.dumps(out))
        return

    only = set(a.only or ["duckdb", "spark", "subset"])
    big = a.subscribers > 2_000_000  # the 10M run reads the Parquet folder, no store copy
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict = {"subscribers": a.subscribers, "months": a.months, "as_of": as_of}
    print(f"generating {a.subscribers:,} × {a.months} …", flush=True)
    results["data"] = run_stage(
        [
            "--stage",
            "generate",
            "--subscribers",
            str(a.subscribers),
            "--months",
            str(a.months),
            "--source",
            "parquet" if big else "store",
        ]
    )
    print(json.dumps(results["data"]), flush=True)
    source = pq_dir if big else db
    common = ["--subscribers", str(a.subscribers), "--months", str(a.months)]
    if "duckdb" in only:
        chosen = ["--features", a.features] if a.features else []
        results["duckdb"] = run_stage(["--stage", "duckdb", "--source", str(source), *common, *chosen])
        print("duckdb", json.dumps(results["duckdb"]), flush=True)
    if "subset" in only:
        results["subset"] = run_stage(["--stage", "subset", "--repeat", str(a.repeat), *common])
        print("subset", json.dumps(results["subset"]), flush=True)
    if "spark" in only:
        results["spark"] = run_stage(["--stage", "spark", *common])
        print("spark", json.dumps(results["spark"]), flush=True)
    out = WORK / f"features_{a.subscribers}x{a.months}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
