"""Ingest throughput against DuckDB's own loader, on the same files in the same run.

    python benchmarks/bench_ingest.py                  # 6,000,000 usage rows (1M subscribers x 6 months)
    python benchmarks/bench_ingest.py --rows 12000000  # bigger
    python benchmarks/bench_ingest.py --data DIR       # DIR holds usage_monthly.csv/.parquet + parents

(a) baseline: ``CREATE TABLE t AS SELECT * FROM read_csv(...)`` / ``read_parquet(...)`` into a fresh
DuckDB file (type sniffing, no validation); (b) ``churnradar.ingest`` of the same file into a store
that already holds the parent tables (validation incl. foreign keys and duplicate keys, HMAC of the
IMEI column, atomic publish). Target: (b) at most 2x (a). The data is generated with DuckDB SQL
(self-contained; raw IMEIs are fictitious), the parents are loaded before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "_work" / "ingest"
KEY = b"benchmark-key-0123456789abcdef"


def generate(folder: Path, rows: int, months: int) -> dict[str, Path]:
    """Parent tables and a usage_monthly CSV + Parquet with ``rows`` rows (subscribers x months)."""
    folder.mkdir(parents=True, exist_ok=True)
    subs = rows // months
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    parents = folder / "parents"
    parents.mkdir(exist_ok=True)
    con.execute(
        f"""COPY (SELECT 'G' || i AS grid_id, 'grid ' || i AS grid_name, 'C' || (i % 5) AS county_id,
                    '县' || (i % 5) AS county_name, 'county ' || (i % 5) AS county_name_en, '城' AS city,
                    'urban' AS area_type FROM range(50) t(i))
            TO '{parents}/region.csv' (HEADER)"""
    )
    con.execute(
        f"""COPY (SELECT 'P' || i AS package_id, '套餐' || i AS package_name, 'plan ' || i AS package_name_en,
                    'budget' AS brand, 'prepaid' AS payment_type, 38.0 AS monthly_fee, 10.0 AS data_gb,
                    300 AS voice_min, true AS is_5g, false AS is_promotion FROM range(10) t(i))
            TO '{parents}/package.csv' (HEADER)"""
    )
    con.execute(
        f"""COPY (SELECT 'CH' || i AS channel_id, '渠道' || i AS channel_name, 'channel ' || i AS channel_name_en,
                    'own_store' AS channel_type, NULL AS county_id FROM range(10) t(i))
            TO '{parents}/channel.csv' (HEADER)"""
    )
    con.execute(
        f"""COPY (SELECT printf('CU%08d', i) AS customer_id, body || substr('10X98765432', (list_sum(
                        list_transform(range(17), k -> CAST(substr(body, k + 1, 1) AS INTEGER)
                            * [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2][k + 1]))::BIGINT % 11) + 1, 1)
                        AS certificate_no,
                    'mass' AS customer_group, 'individual' AS customer_type, true AS is_local,
                    true AS has_contact_info, 1980 + i % 30 AS birth_year, 'F' AS gender
                FROM (SELECT i, printf('1101011990%07d', i) AS body FROM range({subs}) t(i)))
            TO '{parents}/customer.csv' (HEADER)"""
    )
    con.execute(
        f"""COPY (SELECT printf('S%08d', i) AS subscriber_id, printf('CU%08d', i) AS customer_id,
                    printf('139%08d', i) AS msisdn, 'budget' AS brand, 'P' || (i % 10) AS package_id,
                    'prepaid' AS payment_type, DATE '2020-01-01' + (i % 1000)::INT AS activation_date,
                    'CH' || (i % 10) AS channel_id, NULL AS contract_end, NULL AS subsidy_end,
                    NULL AS family_group_id, 'G' || (i % 50) AS grid_id FROM range({subs}) t(i))
            TO '{parents}/subscription.csv' (HEADER)"""
    )
    usage = f"""SELECT printf('S%08d', s) AS subscriber_id,
            strftime(DATE '2024-01-01' + to_months(m::INT), '%Y-%m') AS month,
            round(random() * 300, 1) AS voice_out_min, round(random() * 300, 1) AS voice_in_min,
            round(random() * 200, 1) AS onnet_min, round(random() * 100, 1) AS offnet_min,
            round(random() * 50, 1) AS competitor_min, (random() * 40)::INT AS sms_count,
            round(random() * 20000, 2) AS data_mb, (random() * 31)::INT AS active_days,
            (random() * 80)::INT AS distinct_contacts, printf('86%013d', s) AS imei,
            CASE WHEN s % 7 = 0 THEN 'own' END AS second_sim_operator
        FROM range({months}) a(m), range({subs}) b(s) ORDER BY m, s"""
    con.execute("SELECT setseed(0.42)")
    con.execute(f"COPY ({usage}) TO '{folder}/usage_monthly.csv' (HEADER)")
    con.execute(
        f"COPY (SELECT * FROM read_csv('{folder}/usage_monthly.csv')) TO '{folder}/usage_monthly.parquet'"
    )
    con.close()
    return {
        "csv": folder / "usage_monthly.csv",
        "parquet": folder / "usage_monthly.parquet",
        "parents": parents,
    }


def baseline(path: Path, kind: str, db: Path) -> tuple[float, float]:
    """Wall and CPU seconds of DuckDB's own load of ``path`` into a fresh file."""
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    reader = "read_csv" if kind == "csv" else "read_parquet"
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute(f"CREATE TABLE usage_monthly AS SELECT * FROM {reader}('{path}')")
    con.execute("CHECKPOINT")
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    con.close()
    return dt, dc


def churnradar_run(path: Path, base_store: Path, db: Path) -> tuple[float, float, dict]:
    """Wall and CPU seconds of churnradar's ingest of ``path`` into a store holding the parents."""
    from churnradar.ingest import ingest
    from churnradar.store import Store

    shutil.copy(base_store, db)
    store = Store.open(db)
    t0, c0 = time.perf_counter(), time.process_time()
    result = ingest([path], store, key=KEY)
    store.connection.execute("CHECKPOINT")
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    store.close()
    return dt, dc, result.counts()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=6_000_000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--data", type=Path, help="folder with usage_monthly.csv/.parquet and parents/")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", action="store_true", help="log the duration of every ingest step")
    ap.add_argument("--only", choices=("csv", "parquet"), help="benchmark one format only")
    args = ap.parse_args(argv)
    if args.profile:
        logging.basicConfig(level=logging.WARNING, format="    %(message)s", stream=sys.stderr)
        logging.getLogger("churnradar.ingest").setLevel(logging.DEBUG)

    WORK.mkdir(parents=True, exist_ok=True)
    data = args.data or WORK / f"data_{args.rows}"
    if args.data is None and not (data / "usage_monthly.parquet").exists():
        print(f"generating {args.rows:,} usage rows in {data} …", file=sys.stderr)
        generate(data, args.rows, args.months)
    files = {"csv": data / "usage_monthly.csv", "parquet": data / "usage_monthly.parquet"}
    if args.only:
        files = {args.only: files[args.only]}

    from churnradar.ingest import ingest
    from churnradar.store import Store

    base_store = WORK / "base.duckdb"
    base_store.unlink(missing_ok=True)
    with Store.open(base_store) as st:
        ingest([data / "parents"], st, key=KEY)
        st.connection.execute("CHECKPOINT")

    report: dict = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} vCPU, {_mem_gib()} GiB, {platform.platform()}",
        "duckdb": duckdb.__version__,
        "rows": None,
        "results": {},
    }
    for kind, path in files.items():
        size_mb = path.stat().st_size / 1e6
        base_t, ours_t, base_c, ours_c = [], [], [], []
        counts = {}
        for _ in range(args.repeat):
            t, c = baseline(path, kind, WORK / "baseline.duckdb")
            base_t.append(t)
            base_c.append(c)
            t, c, counts = churnradar_run(path, base_store, WORK / "ours.duckdb")
            ours_t.append(t)
            ours_c.append(c)
        b, o, bc, oc = min(base_t), min(ours_t), min(base_c), min(ours_c)
        report["rows"] = counts["read"]
        report["results"][kind] = {
            "file_mb": round(size_mb, 1),
            "duckdb_s": round(b, 2),
            "churnradar_s": round(o, 2),
            "ratio": round(o / b, 2),
            "duckdb_cpu_s": round(bc, 2),
            "churnradar_cpu_s": round(oc, 2),
            "cpu_ratio": round(oc / bc, 2),
            "loaded": counts["loaded"],
            "rejected": counts["rejected"],
        }
        print(
            f"{kind:8s} {size_mb:8.1f} MB  duckdb {b:6.2f} s  churnradar {o:6.2f} s  ratio {o / b:4.2f}x  "
            f"(cpu {bc:.1f} s vs {oc:.1f} s: {oc / bc:4.2f}x; loaded {counts['loaded']:,}, "
            f"rejected {counts['rejected']:,})",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _mem_gib() -> int:
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        return round(kb / 1024 / 1024)
    except OSError:  # pragma: no cover
        return 0


if __name__ == "__main__":
    sys.exit(main())
