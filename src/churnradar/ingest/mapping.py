"""Mapping files: an operator's export as it is, described once in TOML, loaded into the canonical
tables with the same validation, pseudonymisation, atomicity and error reports as canonical files.

A mapping file has one section per canonical table the export feeds::

    [settings]
    months = { "6" = "2014-06", "7" = "2014-07" }   # {m} in column names → the month it stands for

    [tables.subscription]
    files = ["telecom_churn_data*.csv"]             # export files (name patterns); default: all given
    [tables.subscription.columns]
    subscriber_id = "mobile_number"                  # a column of the export
    msisdn = "mobile_number"                         # raw identifiers are hashed as usual
    activation_date = { column = "aon", days_before = "2014-09-30" }   # age on network in days
    payment_type = { value = "prepaid" }             # a constant
    brand = { column = "brand_code", map = { "QQT" = "premium", "*" = "unknown" } }

    [tables.usage_monthly]                           # one row per export row and month ({m})
    wide = true
    [tables.usage_monthly.columns]
    subscriber_id = "mobile_number"
    month = "{month}"
    voice_out_min = "total_og_mou_{m}"
    data_mb = { sum = ["vol_2g_mb_{m}", "vol_3g_mb_{m}"], empty_as_zero = true }

    [tables.region]                                  # a table the export lacks: constant rows
    rows = [{ grid_id = "UNKNOWN", grid_name = "未知", ... }]

Column forms: a string names an export column; a table gives one of ``column``, ``sum`` (numbers
added, a missing one counts as 0 when ``empty_as_zero``), ``value`` (a constant) or ``sql`` (a DuckDB
expression over the export's columns, read as text), with optional ``factor`` and ``offset`` (unit
and currency conversion: ``value × factor + offset``), ``map`` (the operator's codes → canonical
codes; ``"*"`` maps every other value), ``date_format`` (strptime, e.g. ``"%d/%m/%Y"``),
``days_before`` (a date minus the column's days), ``empty_as_zero`` and ``trim``. Every mapped
value is handed to the canonical checks as text, so a bad value is reported with its export file,
line and the column it came from.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from churnradar.errors import ConfigError
from churnradar.schema import TABLES, Table

_KINDS = ("column", "sum", "value", "sql")
_OPTIONS = {"factor", "offset", "map", "date_format", "days_before", "empty_as_zero", "trim", "pseudonymise"}
_M = "{m}"
_MONTH = "{month}"
_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical column is made from an export row."""

    target: str
    kind: str  # column | sum | value | sql
    source: Any  # a column name (or pattern), a list of them, a constant or an SQL expression
    factor: float | None = None
    offset: float | None = None
    map: dict[str, str] | None = None
    date_format: str | None = None
    days_before: str | None = None
    empty_as_zero: bool = False
    trim: bool = True
    #: store the keyed HMAC digest of the value, not the value (an id made from a phone number)
    pseudonymise: bool = False

    @property
    def sources(self) -> list[str]:
        if self.kind == "column":
            return [self.source]
        if self.kind == "sum":
            return list(self.source)
        return []

    @property
    def shown(self) -> str:
        """The column as error messages name it: ``revenue (arpu_{m})``."""
        if self.kind in ("column", "sum"):
            return f"{self.target} ({' + '.join(self.sources)})"
        return self.target

    def uses_month(self) -> bool:
        text = " ".join(self.sources) if self.kind in ("column", "sum") else str(self.source)
        return _M in text or _MONTH in text


@dataclass(frozen=True)
class TableMapping:
    table: Table
    files: tuple[str, ...]  # name patterns of the export files; () = every file given
    columns: tuple[ColumnSpec, ...]
    wide: bool = False  # one row per export row and month of settings.months
    rows: tuple[dict[str, Any], ...] = ()  # constant rows (a table the export lacks)
    #: an export column that is empty where the row (or, in a wide table, the month) does not exist:
    #: such rows are absent, neither loaded nor rejected (a number's months before it was opened)
    require: str | None = None

    def matches(self, path: Path) -> bool:
        if self.rows:
            return False
        return not self.files or any(fnmatch.fnmatch(path.name, p) for p in self.files)


@dataclass(frozen=True)
class Mapping:
    path: Path | None
    tables: tuple[TableMapping, ...]
    months: tuple[tuple[str, str], ...] = ()  # ({m} value, YYYY-MM)
    encoding: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _where(path: Path | None) -> str:
    return str(path) if path is not None else "mapping"


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _column_spec(where: str, table: Table, target: str, raw: Any) -> ColumnSpec:
    names = {c.name for c in table.columns} | {c.raw_name for c in table.columns if c.raw_name}
    if target not in names:
        raise ConfigError(
            f"{where}: [tables.{table.name}.columns] names {target!r}, not a column of {table.name}"
            f"{_did_you_mean(target, sorted(names))}; columns are {', '.join(sorted(names))}"
        )
    if isinstance(raw, str):
        if raw == _MONTH:
            return ColumnSpec(target, "value", _MONTH)
        return ColumnSpec(target, "column", raw)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: {table.name}.{target} is {raw!r}; expected an export column name or a table "
            f"with one of {', '.join(_KINDS)}"
        )
    kinds = [k for k in _KINDS if k in raw]
    unknown = sorted(set(raw) - set(_KINDS) - _OPTIONS)
    if unknown:
        raise ConfigError(
            f"{where}: {table.name}.{target} has unknown key {unknown[0]!r}"
            f"{_did_you_mean(unknown[0], [*_KINDS, *_OPTIONS])}; allowed: {', '.join([*_KINDS, *sorted(_OPTIONS)])}"
        )
    if len(kinds) != 1:
        raise ConfigError(
            f"{where}: {table.name}.{target} needs exactly one of {', '.join(_KINDS)}; found {kinds or 'none'}"
        )
    kind = kinds[0]
    source = raw[kind]
    if kind == "sum" and (not isinstance(source, list) or not all(isinstance(x, str) for x in source)):
        raise ConfigError(
            f"{where}: {table.name}.{target}.sum is {source!r}; expected a list of column names"
        )
    mapping = raw.get("map")
    if mapping is not None and not isinstance(mapping, dict):
        raise ConfigError(
            f"{where}: {table.name}.{target}.map is {mapping!r}; expected a table of code = code"
        )
    return ColumnSpec(
        target,
        kind,
        source,
        factor=float(raw["factor"]) if "factor" in raw else None,
        offset=float(raw["offset"]) if "offset" in raw else None,
        map={str(k): str(v) for k, v in mapping.items()} if mapping else None,
        date_format=raw.get("date_format"),
        days_before=raw.get("days_before"),
        empty_as_zero=bool(raw.get("empty_as_zero", False)),
        trim=bool(raw.get("trim", True)),
        pseudonymise=bool(raw.get("pseudonymise", False)),
    )


def parse_mapping(data: dict[str, Any], path: Path | None = None) -> Mapping:
    """A :class:`Mapping` from the parsed TOML ``data``; :class:`ConfigError` names what is wrong."""
    where = _where(path)
    settings = data.get("settings", {}) or {}
    unknown_top = sorted(set(data) - {"settings", "tables"})
    if unknown_top:
        raise ConfigError(
            f"{where}: unknown section [{unknown_top[0]}]; expected [settings] and [tables.NAME]"
        )
    months_raw = settings.get("months", {}) or {}
    months = []
    for m, ym in months_raw.items():
        if not isinstance(ym, str) or not _MONTH_RE.match(ym):
            raise ConfigError(f"{where}: settings.months.{m} is {ym!r}; expected a month YYYY-MM")
        months.append((str(m), ym))
    tables = []
    for name, spec in (data.get("tables") or {}).items():
        if name not in TABLES:
            raise ConfigError(
                f"{where}: [tables.{name}] is not a canonical table{_did_you_mean(name, list(TABLES))}; "
                f"tables are {', '.join(TABLES)}"
            )
        t = TABLES[name]
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: [tables.{name}] must be a table")
        rows = tuple(spec.get("rows", ()) or ())
        cols = tuple(_column_spec(where, t, k, v) for k, v in (spec.get("columns") or {}).items())
        if not rows and not cols:
            raise ConfigError(f"{where}: [tables.{name}] maps no column; give columns or rows")
        wide = bool(spec.get("wide", any(c.uses_month() for c in cols)))
        if wide and not months:
            raise ConfigError(
                f"{where}: [tables.{name}] uses {{m}} or {{month}} but [settings] has no months "
                '(e.g. months = { "6" = "2014-06", "7" = "2014-07" })'
            )
        files = spec.get("files", ())
        if isinstance(files, str):
            files = [files]
        unknown_keys = sorted(set(spec) - {"files", "columns", "rows", "wide", "require"})
        if unknown_keys:
            raise ConfigError(
                f"{where}: [tables.{name}] has unknown key {unknown_keys[0]!r}"
                f"{_did_you_mean(unknown_keys[0], ['files', 'columns', 'rows', 'wide', 'require'])}"
            )
        require = spec.get("require")
        if require is not None and not isinstance(require, str):
            raise ConfigError(
                f"{where}: [tables.{name}] require is {require!r}; expected an export column name"
            )
        tables.append(TableMapping(t, tuple(files), cols, wide, rows, require))
    if not tables:
        raise ConfigError(f"{where}: the mapping has no [tables.NAME] section")
    _check_raw_sources(where, tables)
    return Mapping(path, tuple(tables), tuple(months), settings.get("encoding"), dict(settings))


_RAW_TARGETS = {c.raw_name for t in TABLES.values() for c in t.columns if c.raw_name}


def _check_raw_sources(where: str, tables: list[TableMapping]) -> None:
    """An export column mapped to a raw identifier (a phone, ID-card or IMEI number) may feed other
    columns only as its digest (``pseudonymise = true``): an id made of a phone number is the phone
    number, stored in clear."""
    raw = {
        s.strip().lower(): spec.target
        for tm in tables
        for spec in tm.columns
        if spec.target in _RAW_TARGETS and spec.kind == "column"
        for s in spec.sources
    }
    for tm in tables:
        for spec in tm.columns:
            if spec.target in _RAW_TARGETS or spec.pseudonymise:
                continue
            for s in spec.sources:
                if s.strip().lower() in raw:
                    raise ConfigError(
                        f"{where}: {tm.table.name}.{spec.target} maps export column {s!r}, which holds raw "
                        f"identifiers ({raw[s.strip().lower()]}); they would be stored in clear. Give "
                        f'{spec.target} = {{ column = "{s}", pseudonymise = true }} to store their keyed digest'
                    )


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"mapping file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not a valid TOML file ({exc})") from None
    return parse_mapping(data, path)


# -- compiling a table mapping into SQL over the export ------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """A table mapping compiled against one export's header: ``select(inner)`` turns the export read
    as text (columns named by ``inner_names``) into the canonical columns ``c0…`` (``outputs``, in
    mapping order); ``per_line`` canonical rows come from each export line."""

    outputs: list[str]
    shown: list[str]
    sql: str  # with {inner} where the export relation goes
    per_line: int
    absent: bool = False  # the relation has an ``_absent`` column (rows that do not exist)
    hashed: tuple[bool, ...] = ()  # per output: stored as its keyed digest (``pseudonymise``)

    def select(self, inner: str) -> str:
        return self.sql.replace("{inner}", inner)


def _ref(where: str, name: str, header: list[str], table: str) -> str:
    lowered = {h.strip().lower(): i for i, h in enumerate(header)}
    i = lowered.get(name.strip().lower())
    if i is None:
        raise ConfigError(
            f"{where}: {table} maps export column {name!r}, which the export does not have"
            f"{_did_you_mean(name, header)}; its columns are {', '.join(header[:40])}"
            + (" …" if len(header) > 40 else "")
        )
    return f"x{i}"


def _number(expr: str) -> str:
    return f"TRY_CAST({expr} AS DOUBLE)"


def _spec_sql(
    where: str, spec: ColumnSpec, header: list[str], table: str, m: str | None, ym: str | None
) -> str:
    def sub(text: str) -> str:
        if m is not None:
            text = text.replace(_M, m)
        return text

    if spec.kind == "value":
        if spec.source == _MONTH:
            return _lit(ym or "")
        return _lit(sub(str(spec.source)))
    if spec.kind == "sql":
        expr = sub(str(spec.source))
        for i, h in sorted(enumerate(header), key=lambda x: -len(x[1])):
            expr = expr.replace(_q(h), f"x{i}")
        text = f"CAST(({expr}) AS VARCHAR)"
    elif spec.kind == "column":
        col = _ref(where, sub(spec.source), header, table)
        text = f"trim({col})" if spec.trim else col
    else:  # sum
        cols = [_ref(where, sub(s), header, table) for s in spec.sources]
        nums = [_number(f"nullif(trim({c}), '')") for c in cols]
        not_numbers = [
            f"(nullif(trim({c}), '') IS NOT NULL AND {n} IS NULL)" for c, n in zip(cols, nums, strict=True)
        ]
        # a cell that is there but not a number keeps its text, so it is reported
        first_bad = (
            "coalesce("
            + ", ".join(f"CASE WHEN {b} THEN {c} END" for c, b in zip(cols, not_numbers, strict=True))
            + ")"
        )
        if spec.empty_as_zero:
            total = " + ".join(f"coalesce({n}, 0)" for n in nums)
            text = f"CASE WHEN {' OR '.join(not_numbers)} THEN {first_bad} ELSE CAST({total} AS VARCHAR) END"
        else:
            text = f"coalesce({first_bad}, CAST({' + '.join(nums)} AS VARCHAR))"
    if spec.empty_as_zero and spec.kind != "sum":
        text = f"coalesce(nullif({text}, ''), '0')"
    if spec.map:
        default = spec.map.get("*")
        cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in spec.map.items() if k != "*")
        other = (
            f"CASE WHEN {text} IS NULL THEN NULL ELSE {_lit(default)} END" if default is not None else text
        )
        text = f"(CASE {text} {cases} ELSE {other} END)" if cases else other
    if spec.factor is not None or spec.offset is not None:
        n = _number(text)
        scaled = f"{n} * {spec.factor if spec.factor is not None else 1.0!r} + {spec.offset or 0.0!r}"
        text = f"CASE WHEN {n} IS NULL THEN {text} ELSE CAST({scaled} AS VARCHAR) END"
    if spec.date_format:
        dtype = next((c.dtype for c in TABLES[table].columns if c.name == spec.target), "timestamp")
        text = _dates(text, spec.date_format, dtype)
    if spec.days_before:
        n = _number(text)
        date = f"strftime(DATE {_lit(spec.days_before)} - CAST(round({n}) AS INTEGER), '%Y-%m-%d')"
        text = f"CASE WHEN {n} IS NULL THEN {text} ELSE {date} END"
    return text


#: digit-only date formats rewritten by cutting the text (cheaper than parsing and printing a date);
#: a value that is not such digits goes to the canonical checks as it is and is reported there
_CUTS = {
    "%Y%m%d": ((1, 4), "-", (5, 2), "-", (7, 2)),
    "%Y%m": ((1, 4), "-", (5, 2)),
    "%Y%m%d%H%M%S": ((1, 4), "-", (5, 2), "-", (7, 2), " ", (9, 2), ":", (11, 2), ":", (13, 2)),
}


def _dates(text: str, fmt: str, dtype: str) -> str:
    """``text`` in the date format ``fmt`` as the canonical spelling of ``dtype``."""
    if fmt in _CUTS and not (dtype == "month" and fmt == "%Y%m"):
        parts = _CUTS[fmt]
        width = sum(p[1] for p in parts if isinstance(p, tuple))
        cut = " || ".join(
            f"substr({text}, {p[0]}, {p[1]})" if isinstance(p, tuple) else _lit(p) for p in parts
        )
        if dtype == "date" and fmt == "%Y%m%d%H%M%S":
            cut = f"substr({cut}, 1, 10)"
        return f"(CASE WHEN length({text}) = {width} AND regexp_full_match({text}, '[0-9]+') THEN {cut} ELSE {text} END)"
    if dtype == "month" and fmt == "%Y%m":
        return text  # the canonical checks read YYYYMM months
    out = {"date": "%Y-%m-%d", "month": "%Y-%m"}.get(dtype, "%Y-%m-%d %H:%M:%S")
    return f"coalesce(strftime(try_strptime({text}, {_lit(fmt)}), {_lit(out)}), {text})"


def compile_table(mapping: Mapping, tm: TableMapping, header: list[str], where: str) -> Compiled:
    """SQL turning one export (its columns read as text, named ``x0…``) into ``tm``'s columns."""
    outputs = [c.target for c in tm.columns]
    shown = [c.shown for c in tm.columns]
    hashed = tuple(c.pseudonymise for c in tm.columns)
    name = tm.table.name

    def absent(m: str | None) -> str:
        col = _ref(where, tm.require.replace(_M, m) if m is not None else tm.require, header, name)  # type: ignore[union-attr]
        return f"nullif(trim({col}), '') IS NULL"

    if not tm.wide:
        exprs = [f"{_spec_sql(where, c, header, name, None, None)} AS c{j}" for j, c in enumerate(tm.columns)]
        if tm.require:
            exprs.append(f"{absent(None)} AS _absent")
        return Compiled(
            outputs, shown, f"(SELECT {', '.join(exprs)} FROM {{inner}})", 1, bool(tm.require), hashed
        )
    structs = []
    for m, ym in mapping.months:
        fields = [
            f"{_lit(f'c{j}')}: {_spec_sql(where, c, header, name, m, ym)}" for j, c in enumerate(tm.columns)
        ]
        if tm.require:
            fields.append(f"'_absent': {absent(m)}")
        structs.append("{" + ", ".join(fields) + "}")
    cols = ", ".join(
        [f"u.c{j} AS c{j}" for j in range(len(tm.columns))] + (["u._absent AS _absent"] if tm.require else [])
    )
    sql = f"(SELECT {cols} FROM (SELECT unnest([{', '.join(structs)}]) AS u FROM {{inner}}))"
    return Compiled(outputs, shown, sql, len(mapping.months), bool(tm.require), hashed)


def rows_csv(tm: TableMapping) -> str:
    """The constant rows of a table mapping as canonical CSV text."""
    import csv
    import io

    names: list[str] = []
    for r in tm.rows:
        for k in r:
            if k not in names:
                names.append(k)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for r in tm.rows:
        w.writerow(
            [
                "" if r.get(k) is None else str(r.get(k)).lower() if isinstance(r.get(k), bool) else r.get(k)
                for k in names
            ]
        )
    return buf.getvalue()
