"""The simulated operator written as operators' exports are: each dialect with its mapping file, so
tests, the demo and benchmarks exercise the mapping path against ground truth.

- ``bss-zh``: a long BSS export, one GBK file per table with Chinese file and column names, codes
  as their Chinese labels (全球通类, 预付费, 销户 …), 是/否 for booleans, months as ``YYYYMM`` (账期)
  and dates as ``YYYYMMDD``.
- ``wide-prepaid``: one row per number (``mobile_number``), age on network in days (``aon``) and
  per-month columns (``arpu_1 … arpu_N``, ``total_og_mou_N``, ``vol_mb_N``, ``total_rech_amt_N`` …)
  that are empty in months the number did not exist; no lifecycle events, no dimension tables
  (the mapping gives them as constant rows).

The canonical files of the same seed are written beside them in ``_canonical/`` and the ground truth
in ``_truth/`` (ingest skips folders starting with ``_``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from churnradar.errors import ConfigError
from churnradar.schema import TABLES
from churnradar.schema import enums as E
from churnradar.schema.model import Column
from churnradar.store.connection import connect

DIALECTS = ("wide-prepaid", "bss-zh")

#: the tables of the BSS dialect and their file names
BSS_FILES = {
    "region": "区域网格",
    "package": "套餐资料",
    "channel": "渠道资料",
    "competitor": "竞争对手",
    "customer": "客户资料",
    "subscription": "用户资料",
    "status_event": "用户状态变更",
    "usage_monthly": "用户月使用量",
    "billing_monthly": "用户月账单",
    "interaction": "客服接触",
    "call_edge": "通话交往圈",
    "network_quality": "网格网络质量",
    "promotion": "促销活动",
}
_DATE_FMT = {"date": "%Y%m%d", "month": "%Y%m", "timestamp": "%Y%m%d%H%M%S"}

#: the wide prepaid export's per-month columns: (export stem, canonical table, column)
WIDE_MEASURES = (
    ("total_og_mou", "usage_monthly", "voice_out_min"),
    ("total_ic_mou", "usage_monthly", "voice_in_min"),
    ("onnet_mou", "usage_monthly", "onnet_min"),
    ("offnet_mou", "usage_monthly", "offnet_min"),
    ("vol_mb", "usage_monthly", "data_mb"),
    ("arpu", "billing_monthly", "revenue"),
    ("total_rech_num", "billing_monthly", "recharge_count"),
    ("total_rech_amt", "billing_monthly", "recharge_amount"),
)


@dataclass(frozen=True)
class DialectResult:
    dialect: str
    out: Path
    files: list[Path]
    mapping: Path
    canonical: Path


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _toml(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _labels(c: Column) -> dict[str, tuple[str, str]] | None:
    if not c.enum:
        return None
    for labels in E.DATA_ENUMS:
        if set(labels) == set(c.enum):
            return labels
    return None


def _write_gbk(con: duckdb.DuckDBPyConnection, select: str, path: Path) -> None:
    """COPY ``select`` to ``path`` as GBK CSV (DuckDB writes UTF-8; transcoded in one pass)."""
    tmp = path.with_suffix(".utf8.tmp")
    con.execute(f"COPY ({select}) TO '{tmp}' (HEADER, DELIMITER ',')")
    with open(tmp, encoding="utf-8", newline="") as src, open(path, "w", encoding="gbk", newline="") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    tmp.unlink()


def _bss(con: duckdb.DuckDBPyConnection, canonical: Path, out: Path) -> tuple[list[Path], str]:
    files: list[Path] = []
    lines = [
        "# churnradar mapping of the simulated operator's BSS export (Chinese names, GBK, Chinese codes)",
        "[settings]",
        'encoding = "gbk"',
    ]
    for name, zh in BSS_FILES.items():
        t = TABLES[name]
        src = canonical / f"{name}.parquet"
        if not src.exists():
            continue
        cols, spec = [], []
        for c in t.columns:
            col = c.raw_name if c.pii else c.name
            header = (
                c.zh.replace("（脱敏）", "").replace("(脱敏)", "") if c.pii else c.zh
            )  # raw in the export
            expr = _q(col)
            labels = _labels(c)
            options = ""
            if labels is not None:
                cases = " ".join(
                    f"WHEN '{code}' THEN '{zh_label}'" for code, (_en, zh_label) in labels.items()
                )
                expr = f"CASE {expr} {cases} ELSE {expr} END"
                options = (
                    ", map = { "
                    + ", ".join(f"{_toml(z)} = {_toml(code)}" for code, (_e, z) in labels.items())
                    + " }"
                )
            elif c.dtype == "bool":
                expr = f"CASE WHEN {expr} THEN '是' WHEN NOT {expr} THEN '否' END"
                options = ', map = { "是" = "true", "否" = "false" }'
            elif c.dtype in _DATE_FMT:
                expr = f"strftime({expr}, '{_DATE_FMT[c.dtype]}')"
                options = f", date_format = {_toml(_DATE_FMT[c.dtype])}"
            cols.append(f"{expr} AS {_q(header)}")
            spec.append(
                f"{col} = {{ column = {_toml(header)}{options} }}" if options else f"{col} = {_toml(header)}"
            )
        path = out / f"{zh}.csv"
        _write_gbk(con, f"SELECT {', '.join(cols)} FROM read_parquet('{src}')", path)
        files.append(path)
        lines += ["", f"[tables.{name}]", f"files = [{_toml(path.name)}]", f"[tables.{name}.columns]", *spec]
    return files, "\n".join(lines) + "\n"


def _wide(con: duckdb.DuckDBPyConnection, canonical: Path, out: Path) -> tuple[list[Path], str]:
    months = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT month FROM read_parquet('{canonical}/usage_monthly.parquet') ORDER BY 1"
        ).fetchall()
    ]
    if not months:
        raise ConfigError("the simulated operator has no usage months to write")
    last = months[-1]
    ref = date(last.year + (last.month == 12), last.month % 12 + 1, 1)  # the day after the last month
    per_month = []
    for k, m in enumerate(months, 1):
        for stem, _table, col in WIDE_MEASURES:
            per_month.append(
                f"max(CASE WHEN x.month = DATE '{m}' THEN x.{_q(col)} END) AS {_q(f'{stem}_{k}')}"
            )
    for k, m in enumerate(months, 1):  # the month's last recharge day, as the public exports give it
        per_month.append(
            f"max(CASE WHEN x.month = DATE '{m}' THEN strftime(x.last_rech, '%m/%d/%Y') END) "
            f"AS {_q(f'date_of_last_rech_{k}')}"
        )
        per_month.append(
            f"max(CASE WHEN x.month = DATE '{m}' THEN x.last_rech_amt END) AS {_q(f'last_day_rch_amt_{k}')}"
        )
    usage_cols = [c for _s, t, c in WIDE_MEASURES if t == "usage_monthly"]
    bill_cols = [c for _s, t, c in WIDE_MEASURES if t == "billing_monthly"]
    select = f"""
        SELECT s.msisdn AS mobile_number, DATE '{ref}' - s.activation_date AS aon, {", ".join(per_month)}
        FROM read_parquet('{canonical}/subscription.parquet') s
        LEFT JOIN (
            SELECT coalesce(u.subscriber_id, b.subscriber_id) AS subscriber_id,
                   coalesce(u.month, b.month) AS month,
                   {", ".join(f"u.{_q(c)}" for c in usage_cols)}, {", ".join(f"b.{_q(c)}" for c in bill_cols)},
                   r.last_rech, r.last_rech_amt
            FROM read_parquet('{canonical}/usage_monthly.parquet') u
            FULL JOIN read_parquet('{canonical}/billing_monthly.parquet') b
              ON u.subscriber_id = b.subscriber_id AND u.month = b.month
            LEFT JOIN (
                SELECT subscriber_id, date_trunc('month', recharge_date) AS month,
                       max(recharge_date) AS last_rech, arg_max(amount, recharge_date) AS last_rech_amt
                FROM read_parquet('{canonical}/recharge.parquet') GROUP BY ALL) r
              ON r.subscriber_id = coalesce(u.subscriber_id, b.subscriber_id)
             AND r.month = coalesce(u.month, b.month)) x
          ON x.subscriber_id = s.subscriber_id
        GROUP BY s.subscriber_id, s.msisdn, s.activation_date
        ORDER BY s.subscriber_id"""
    path = out / "telecom_prepaid.csv"
    con.execute(f"COPY ({select}) TO '{path}' (HEADER, DELIMITER ',')")
    month_map = ", ".join(f'"{k}" = "{m:%Y-%m}"' for k, m in enumerate(months, 1))
    usage_spec = [f'{col} = "{stem}_{{m}}"' for stem, t, col in WIDE_MEASURES if t == "usage_monthly"]
    bill_spec = [f'{col} = "{stem}_{{m}}"' for stem, t, col in WIDE_MEASURES if t == "billing_monthly"]
    text = f"""# churnradar mapping of the simulated operator's wide prepaid export (one row per number)
# The export carries no region, package, channel or customer tables, no lifecycle events and no
# SMS, competitor-call, contact, arrears, balance or overage columns: they are left out (optional),
# and the features that would read them are skipped, never filled with placeholders. Of the
# recharges it keeps each month's last recharge day and that day's amount.
[settings]
months = {{ {month_map} }}

[tables.subscription]
files = ["telecom_prepaid.csv"]
[tables.subscription.columns]
subscriber_id = {{ column = "mobile_number", pseudonymise = true }}   # the line's id: the digest of its number
msisdn = "mobile_number"
payment_type = {{ value = "prepaid" }}   # a prepaid export
activation_date = {{ column = "aon", days_before = "{ref}" }}

[tables.usage_monthly]
files = ["telecom_prepaid.csv"]
require = "total_og_mou_{{m}}"          # a month without usage is a month the number did not exist
[tables.usage_monthly.columns]
subscriber_id = {{ column = "mobile_number", pseudonymise = true }}
month = "{{month}}"
{chr(10).join(usage_spec)}

[tables.billing_monthly]
files = ["telecom_prepaid.csv"]
require = "arpu_{{m}}"
[tables.billing_monthly.columns]
subscriber_id = {{ column = "mobile_number", pseudonymise = true }}
month = "{{month}}"
{chr(10).join(bill_spec)}

[tables.recharge]
files = ["telecom_prepaid.csv"]
require = "date_of_last_rech_{{m}}"    # the export keeps each month's last recharge day only
[tables.recharge.columns]
subscriber_id = {{ column = "mobile_number", pseudonymise = true }}
recharge_date = {{ column = "date_of_last_rech_{{m}}", date_format = "%m/%d/%Y" }}
amount = "last_day_rch_amt_{{m}}"
"""
    return [path], text


def write_dialect(canonical: Path, out: Path, dialect: str) -> DialectResult:
    """Write the canonical Parquet files in ``canonical`` as the export ``dialect`` into ``out``, with
    its mapping file ``out/<dialect>.toml``."""
    if dialect not in DIALECTS:
        raise ConfigError(f"dialect {dialect!r} is not known; expected one of {', '.join(DIALECTS)}")
    out.mkdir(parents=True, exist_ok=True)
    con = connect()
    try:
        files, text = _bss(con, canonical, out) if dialect == "bss-zh" else _wide(con, canonical, out)
    finally:
        con.close()
    mapping = out / f"{dialect}.toml"
    mapping.write_text(text, encoding="utf-8")
    return DialectResult(dialect, out, files, mapping, canonical)
