"""``churnradar map init``: draft a mapping file from an export's column names and values.

Each export column is matched, after lower-casing and dropping a month suffix (``arpu_6``,
``通话时长_202406``), against the names operators give the canonical columns in zh-CN and en
(手机号码, 用户标识, 账期, 通话时长, 流量, ARPU, MOU, DOU, 充值 …). Columns that repeat with month
suffixes make a wide table (one row per export row and month). What could not be placed is written
as a comment, so the draft says what is left to decide; a required column left open makes ingest
refuse the mapping with its name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from churnradar.ingest import readers
from churnradar.schema import TABLES

#: canonical (table, column) -> names operators use for it (lower case; matched whole, then as a part)
SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("subscription", "subscriber_id"): (
        "subscriber_id",
        "用户标识",
        "用户id",
        "用户编号",
        "user_id",
        "subs_id",
        "serv_id",
        "sub_id",
        "subscriberid",
    ),
    ("subscription", "msisdn"): (
        "msisdn",
        "手机号码",
        "手机号",
        "服务号码",
        "号码",
        "mobile_number",
        "phone_number",
        "phone",
        "acc_nbr",
        "bill_id",
        "mobile",
    ),
    ("subscription", "customer_id"): (
        "customer_id",
        "客户标识",
        "客户id",
        "客户编号",
        "cust_id",
        "customerid",
    ),
    ("subscription", "activation_date"): (
        "activation_date",
        "入网日期",
        "入网时间",
        "开户日期",
        "开户时间",
        "open_date",
        "innet_date",
        "start_date",
        "join_date",
    ),
    ("subscription", "package_id"): (
        "package_id",
        "套餐编码",
        "套餐id",
        "主套餐",
        "套餐",
        "plan_id",
        "plan",
        "offer_id",
        "product_id",
        "tariff",
    ),
    ("subscription", "brand"): ("brand", "品牌"),
    ("subscription", "payment_type"): ("payment_type", "付费类型", "付费方式", "pay_type", "paymode"),
    ("subscription", "channel_id"): ("channel_id", "渠道编码", "发展渠道", "入网渠道", "channel"),
    ("subscription", "grid_id"): ("grid_id", "网格编码", "网格", "grid"),
    ("subscription", "contract_end"): ("contract_end", "合约到期日", "合约到期", "contract_end_date"),
    ("subscription", "subsidy_end"): ("subsidy_end", "补贴到期日", "终端补贴到期日", "subsidy_end_date"),
    ("subscription", "family_group_id"): (
        "family_group_id",
        "家庭网标识",
        "家庭网编号",
        "家庭网",
        "family_id",
    ),
    ("customer", "certificate_no"): (
        "certificate_no",
        "证件号码",
        "身份证号",
        "身份证",
        "cert_no",
        "id_number",
        "id_no",
    ),
    ("customer", "customer_group"): ("customer_group", "客户群", "客户类别", "客户分群", "segment"),
    ("customer", "gender"): ("gender", "性别", "sex"),
    ("customer", "birth_year"): ("birth_year", "出生年份", "出生年"),
    ("usage_monthly", "month"): (
        "month",
        "账期",
        "月份",
        "统计月份",
        "账务月",
        "bill_month",
        "stat_month",
        "period",
    ),
    ("usage_monthly", "voice_out_min"): (
        "voice_out_min",
        "主叫时长",
        "主叫分钟",
        "通话时长",
        "total_og_mou",
        "og_mou",
        "mou_out",
        "mou",
        "outgoing_minutes",
    ),
    ("usage_monthly", "voice_in_min"): (
        "voice_in_min",
        "被叫时长",
        "被叫分钟",
        "total_ic_mou",
        "ic_mou",
        "mou_in",
        "incoming_minutes",
    ),
    ("usage_monthly", "onnet_min"): ("onnet_min", "网内通话时长", "网内时长", "onnet_mou"),
    ("usage_monthly", "offnet_min"): ("offnet_min", "网外通话时长", "网间时长", "网外时长", "offnet_mou"),
    ("usage_monthly", "competitor_min"): ("competitor_min", "异网通话时长", "异网时长"),
    ("usage_monthly", "sms_count"): ("sms_count", "短信条数", "短信", "sms", "sms_mo"),
    ("usage_monthly", "data_mb"): (
        "data_mb",
        "流量",
        "上网流量",
        "dou",
        "data_volume",
        "vol_mb",
        "vol_2g_mb",
        "vol_3g_mb",
        "vol_4g_mb",
        "vol_5g_mb",
        "gprs",
    ),
    ("usage_monthly", "active_days"): ("active_days", "活跃天数", "通话天数", "使用天数"),
    ("usage_monthly", "distinct_contacts"): ("distinct_contacts", "交往圈", "通话对端数", "联系人数"),
    ("usage_monthly", "imei"): ("imei", "终端串号", "终端imei"),
    ("billing_monthly", "revenue"): (
        "revenue",
        "出账收入",
        "收入",
        "arpu",
        "月消费",
        "消费金额",
        "fee",
        "bill_amount",
    ),
    ("billing_monthly", "arrears"): ("arrears", "欠费金额", "欠费", "owe", "owe_fee"),
    ("billing_monthly", "balance"): ("balance", "余额", "账户余额"),
    ("billing_monthly", "recharge_count"): ("recharge_count", "充值次数", "total_rech_num", "rech_num"),
    ("billing_monthly", "recharge_amount"): (
        "recharge_amount",
        "充值金额",
        "total_rech_amt",
        "rech_amt",
        "充值",
    ),
    ("billing_monthly", "overage"): ("overage", "套外费用", "超套费用"),
    ("recharge", "recharge_date"): (
        "recharge_date",
        "充值日期",
        "充值时间",
        "date_of_last_rech",
        "last_rech_date",
        "rech_date",
    ),
    ("recharge", "amount"): ("last_day_rch_amt", "当日充值金额", "单笔充值金额", "rech_amt_day"),
    ("recharge", "channel"): ("recharge_channel", "充值渠道", "rech_channel"),
}
#: measures that several export columns may add up to (2G + 3G + 4G data volume)
SUMMABLE = {("usage_monthly", "data_mb")}
#: an export column named like this holds age on network in days (→ activation_date)
AON = ("aon", "age_on_network", "网龄", "在网时长", "在网天数")

_SUFFIX = re.compile(r"^(?P<stem>.*?)[_\-. ]?(?P<m>\d{6}|\d{4}-\d{2}|\d{1,2})$")
_TABLE_ORDER = tuple(TABLES)


def _norm(name: str) -> str:
    return re.sub(r"\s+", "_", name.strip().lower())


@dataclass
class FileDraft:
    """The tables one export file feeds, as far as its column names tell."""

    file: str
    placed: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> column -> export expr
    sums: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # summed measures
    aon: str | None = None
    date_formats: dict[str, str] = field(default_factory=dict)  # export column -> strptime format

    @property
    def id_column(self) -> str | None:
        sub = self.placed.get("subscription", {})
        return sub.get("subscriber_id") or sub.get("msisdn")


@dataclass
class Draft:
    """What ``map init`` found: per file, placed columns per table; month suffixes; what is left."""

    files: list[FileDraft] = field(default_factory=list)
    months: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)

    @property
    def placed(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for fd in self.files:
            for t, cols in fd.placed.items():
                out.setdefault(t, {}).update(cols)
        return out

    @property
    def placed_count(self) -> int:
        return sum(len(c) for fd in self.files for c in fd.placed.values())


def _month_suffixes(header: list[str]) -> list[str]:
    """The month suffixes shared by several columns (``arpu_6 arpu_7 mou_6 mou_7`` → 6, 7)."""
    stems: dict[str, set[str]] = {}
    for h in header:
        m = _SUFFIX.match(_norm(h))
        if m and m.group("stem"):
            stems.setdefault(m.group("stem"), set()).add(m.group("m"))
    counts = Counter(s for ms in stems.values() if len(ms) >= 2 for s in ms)
    common = [s for s, n in counts.items() if n >= 2]
    return sorted(common, key=lambda s: (len(s), s))


def _match(stem: str) -> tuple[str, str] | None:
    for key, names in SYNONYMS.items():
        if stem in names:
            return key
    best = None
    for key, names in SYNONYMS.items():
        for n in names:
            if len(n) >= 3 and n in stem and (best is None or len(n) > best[0]):
                best = (len(n), key)
    return best[1] if best else None


#: tables a long export file may describe (not the retention or truth tables)
_DATA_GROUPS = ("dimension", "data")


def _names(table: str, c: Any) -> set[str]:
    """Every name an export may give column ``c`` of ``table``: its canonical and raw names, its zh-CN
    and en labels, and the operator synonyms of that column in any table."""
    key = c.raw_name or c.name
    out = {c.name, _norm(c.zh), _norm(c.en)}
    if c.raw_name:  # an export holds the raw identifier: its label without the "pseudonymised" mark
        out |= {c.raw_name, _norm(c.zh.replace("（脱敏）", "").replace("(脱敏)", ""))}
    for (t, col), names in SYNONYMS.items():
        if col in (c.name, key) and (t == table or col.endswith("_id") or col in ("month", "msisdn")):
            out.update(names)
    return out


def _long_file(path: Path, header: list[str], d: Draft) -> FileDraft:
    """A long export (one row per record): the table whose columns most headers name, then each
    header on that table's columns."""
    fd = FileDraft(path.name)
    normed = [_norm(h) for h in header]
    score: Counter[str] = Counter()
    names: dict[str, dict[str, set[str]]] = {}
    for t in TABLES.values():
        if t.group not in _DATA_GROUPS:
            continue
        names[t.name] = {c.raw_name or c.name: _names(t.name, c) for c in t.columns}
        score[t.name] = sum(any(n in ns for ns in names[t.name].values()) for n in normed)
    if not score or score.most_common(1)[0][1] == 0:
        d.unplaced.extend(header)
        return fd
    best = max(score.values())
    table = next(t for t in TABLES if score.get(t) == best)  # ties: the parent table (load order)
    cols = fd.placed.setdefault(table, {})
    for h, n in zip(header, normed, strict=True):
        if n in AON and "activation_date" in names[table]:
            fd.aon = h
            continue
        col = next((c for c, ns in names[table].items() if n in ns and c not in cols), None)
        if col is None:
            key = _match(n)
            col = key[1] if key is not None and key[1] in names[table] and key[1] not in cols else None
        if col is None:
            d.unplaced.append(h)
            continue
        cols[col] = h
    return fd


def _draft_file(path: Path, d: Draft) -> FileDraft:
    header, _ = readers.peek_csv_header(path)
    months = _month_suffixes(header)
    if not months:
        return _long_file(path, header, d)
    fd = FileDraft(path.name)
    for m in months:
        if m not in d.months:
            d.months.append(m)
    for h in header:
        n = _norm(h)
        sm = _SUFFIX.match(n)
        monthly = bool(sm and sm.group("m") in months and sm.group("stem"))
        stem = sm.group("stem") if monthly and sm else n
        if stem in AON:
            fd.aon = h
            continue
        key = _match(stem)
        if key is None:
            d.unplaced.append(h)
            continue
        table, col = key
        if monthly and table == "subscription":
            table = "usage_monthly"
        expr = (h[: len(h) - len(sm.group("m"))] + "{m}") if monthly and sm else h
        cols = fd.placed.setdefault(table, {})
        if (
            col in cols
            and (table, col) in SUMMABLE
            and expr not in fd.sums.setdefault((table, col), [cols[col]])
        ):
            fd.sums[(table, col)].append(expr)
            continue
        if col in cols:
            if cols[col] != expr:
                d.unplaced.append(h)  # a second candidate: the first one wins, this one is listed
            continue
        cols[col] = expr
    # a file that only names the line (an id) beside monthly measures does not describe subscriptions
    sub = fd.placed.get("subscription", {})
    if sub and not fd.aon and set(sub) <= {"subscriber_id", "msisdn"} and len(fd.placed) > 1:
        ids = fd.placed.pop("subscription")
        for t in fd.placed:
            fd.placed[t].setdefault("subscriber_id", ids.get("subscriber_id") or ids["msisdn"])
    return fd


#: Date formats a draft recognises in an export's values (ISO dates need none).
DATE_FORMATS = ("%Y%m%d", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y")


def _guess_date_format(values: list[str]) -> str | None:
    """The one format of :data:`DATE_FORMATS` that reads every value (None: ISO, or no single one)."""
    from datetime import date, datetime

    values = [v.strip() for v in values if v and v.strip()]
    if not values:
        return None
    try:
        for v in values:
            date.fromisoformat(v)
        return None
    except ValueError:
        pass
    fits = []
    for fmt in DATE_FORMATS:
        try:
            for v in values:
                datetime.strptime(v, fmt)
        except ValueError:
            continue
        fits.append(fmt)
    return fits[0] if len(fits) == 1 or (fits and fits[0] == "%Y%m%d") else None


def _column_pattern(expr: str) -> re.Pattern[str]:
    """The export columns a placed expression stands for (``date_of_last_rech_{m}`` → every month)."""
    return re.compile(re.escape(expr).replace(re.escape("{m}"), ".+"))


def _date_formats(path: Path, fd: FileDraft, sample: int = 500) -> None:
    """Guess the date format of each export column placed on a date column, from its first values."""
    import csv
    import io

    exprs = [
        expr
        for table, cols in fd.placed.items()
        for col, expr in cols.items()
        if col in TABLES[table].column_names and TABLES[table].column(col).dtype == "date"
    ]
    if not exprs:
        return
    _, delimiter = readers.peek_csv_header(path)
    head = readers._head(path, 1 << 20)
    enc = readers.sniff_encoding(path)
    text = head.decode("gb18030" if enc.lower() in ("gbk", "gb2312") else enc, errors="replace")
    lines = text.splitlines()[: sample + 1]
    if len(head) == 1 << 20:
        lines = lines[:-1]  # the last line may be cut
    rows = list(csv.DictReader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    for expr in exprs:
        pattern = _column_pattern(expr)
        values = [v or "" for r in rows for h, v in r.items() if h is not None and pattern.fullmatch(h)]
        fmt = _guess_date_format(values)
        if fmt:
            fd.date_formats[expr] = fmt


def draft(paths: list[Path]) -> Draft:
    """Place the columns of the exports ``paths`` (CSV) on canonical columns."""
    d = Draft()
    for path in paths:
        fd = _draft_file(path, d)
        _date_formats(path, fd)
        d.files.append(fd)
    return d


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(d: Draft) -> str:
    """The draft as a mapping file (TOML), with what was not placed as comments."""
    out = [
        "# churnradar mapping file, drafted by `churnradar map init` from",
        *[f"#   {fd.file}" for fd in d.files],
        "# Check every line; lines starting with '# TODO' need a decision before ingest accepts the",
        "# mapping (a required column must name an export column or a constant { value = ... }).",
        "",
        "[settings]",
    ]
    if d.months:
        out.append("# TODO: the month each suffix stands for (YYYY-MM)")
        out.append(
            "months = { "
            + ", ".join(f"{_toml_str(m)} = {_toml_str(_guess_month(m))}" for m in d.months)
            + " }"
        )
    raw_sources = {v for fd in d.files for cols in fd.placed.values() for k, v in cols.items() if k in _RAW}
    sections: dict[str, list[FileDraft]] = {}
    for fd in d.files:
        names = set(fd.placed) | ({"subscription"} if fd.aon else set())
        for name in names:
            sections.setdefault(name, []).append(fd)
    for name in _TABLE_ORDER:
        candidates = sections.get(name, [])
        if not candidates:
            continue
        # one section per table: the file that places most of its columns (the others are listed)
        fd = max(candidates, key=lambda x: len(x.placed.get(name, {})))
        out += _render_table(name, fd, raw_sources)
        for other in candidates:
            if other is not fd:
                out.append(f"# {other.file} also looks like {name}; map it in a mapping file of its own")
    if d.unplaced:
        out += ["", "# export columns not placed:"] + [f"#   {h}" for h in d.unplaced]
    return "\n".join(out) + "\n"


#: canonical columns that take a raw identifier (hashed at ingest)
_RAW = {c.raw_name for t in TABLES.values() for c in t.columns if c.raw_name}


def _render_table(name: str, fd: FileDraft, raw_sources: set[str]) -> list[str]:
    t = TABLES[name]
    cols = dict(fd.placed.get(name, {}))
    sub_id = fd.id_column or cols.get("subscriber_id")
    if sub_id and "subscriber_id" in t.column_names:
        cols.setdefault("subscriber_id", sub_id)  # the phone number column identifies the line
    wide = any("{m}" in v for v in cols.values())
    if wide and "month" in t.column_names:
        cols["month"] = "{month}"
    out = ["", f"[tables.{name}]", f"files = [{_toml_str(fd.file)}]"]
    if wide:
        # a month whose first placed measure is empty is a month without a row (a number not yet
        # open, or a month without a recharge), rather than a row of empty values
        first = next((v for k, v in cols.items() if "{m}" in v and k not in t.key), None)
        if first:
            out.append(f"require = {_toml_str(first)}  # TODO: check: months where it is empty have no row")
    out.append(f"[tables.{name}.columns]")
    for c in t.columns:
        key = c.raw_name if c.raw_name and c.raw_name in cols else c.name
        if key == "activation_date" and fd.aon and key not in cols:
            out.append(
                f'activation_date = {{ column = {_toml_str(fd.aon)}, days_before = "2024-01-01" }}'
                "  # TODO: the date the age on network was counted to"
            )
        elif len(fd.sums.get((name, key), [])) > 1:
            out.append(f"{key} = {{ sum = [{', '.join(_toml_str(x) for x in fd.sums[(name, key)])}] }}")
        elif key in cols and key not in _RAW and cols[key] in raw_sources:
            # an id made of a phone or ID number: stored as its digest, never in clear
            out.append(f"{key} = {{ column = {_toml_str(cols[key])}, pseudonymise = true }}")
        elif key in cols and fd.date_formats.get(cols[key]):
            fmt = fd.date_formats[cols[key]]
            out.append(f"{key} = {{ column = {_toml_str(cols[key])}, date_format = {_toml_str(fmt)} }}")
        elif key in cols:
            out.append(f"{key} = {_toml_str(cols[key])}")
        elif not c.nullable:
            hint = "unknown" if c.enum else ("0" if c.dtype in ("int", "float") else "")
            out.append(f"# TODO: {key} = {{ value = {_toml_str(hint)} }}  # not found in the export")
    return out


def _guess_month(m: str) -> str:
    if re.fullmatch(r"\d{6}", m):
        return f"{m[:4]}-{m[4:]}"
    if re.fullmatch(r"\d{4}-\d{2}", m):
        return m
    return f"2024-{int(m):02d}" if 1 <= int(m) <= 12 else "2024-01"
