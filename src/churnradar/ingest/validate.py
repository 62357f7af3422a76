"""Validation SQL generated from the canonical schema (never hand-written per table).

Every check of a column is a pair (SQL condition, reason). The pairs give the per-column reasons,
computed only for the bad rows; the row-level ``_bad`` flag, computed for every row in one pass, is
built from the same pieces with fewer terms (:func:`flag`: a required value that is missing or does
not convert is simply a NULL typed value; range and finiteness checks become one ``BETWEEN``), and
a test holds the flag and the reasons to agreement on every spelling that trips a check. Inside the
generated SQL, ``s`` names the cleaned source value (text or a native Parquet value) and ``t`` the
typed value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from churnradar.errors import SchemaError
from churnradar.ingest import limits
from churnradar.ingest.pseudonymise import hmac_sql, mask_digit_runs_sql, mask_sql
from churnradar.schema.model import Column, Table

VALUE_WIDTH = 100  # longest value shown in a report
_TEXT_TYPES = ("VARCHAR",)
_FLOATING = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")
_BOOL_TRUE = ("true", "1", "yes")
_BOOL_FALSE = ("false", "0", "no")
_HASH_PATTERN = "[0-9a-f]{64}"
_DATELIKE = ("date", "month", "timestamp")


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """Quote an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class ColumnSource:
    """Where a canonical column comes from in one input file."""

    column: Column
    source: str | None  # column name in the source relation; None when absent (nullable columns)
    source_type: str = "VARCHAR"  # DuckDB type of the source column
    raw_pii: bool = False  # the source holds the raw identifier (hashed at ingest)
    code: bool = False  # an identifier or code: trimmed and upper-cased (limits.is_code)
    max_length: int | None = None  # longest text accepted (string columns)
    dates: limits.DateRange | None = None  # the accepted dates (date, month, timestamp columns)
    shown: str | None = None  # how reports name the column when it comes through a mapping file
    #: a raw value stored as its keyed HMAC digest though the column is no identifier column (a
    #: mapping's ``pseudonymise``: an id made of a phone number)
    hashed: bool = False

    @property
    def to_hash(self) -> bool:
        """Whether ingest replaces the value by its keyed digest."""
        return self.raw_pii or self.hashed

    @property
    def text(self) -> bool:
        return self.source_type.upper() in _TEXT_TYPES

    @property
    def input_name(self) -> str:
        """The column name as the input file spells it (for reports)."""
        if self.shown is not None:
            return self.shown
        return self.column.raw_name if self.raw_pii and self.column.raw_name else self.column.name


def map_columns(
    table: Table, names: list[str], path: Path | str, types: list[str] | None = None
) -> list[ColumnSource]:
    """Match input column ``names`` (header order) to ``table``'s columns.

    Raises :class:`SchemaError` naming the file and column for duplicate, unknown or missing columns.
    The returned sources name the input columns by position (``c0``, ``c1``…) for CSV (``types`` is
    None) and by their own name for Parquet.
    """
    lowered = [n.strip().lower() for n in names]
    known = {c.name for c in table.columns} | {c.raw_name for c in table.columns if c.raw_name}
    if names and not known.intersection(lowered):
        raise SchemaError(
            f"{path}: the first line names none of the columns of table {table.name} (is the header line "
            f"missing?): found {names[0]!r}…; expected columns: "
            + ", ".join(c.raw_name or c.name for c in table.columns)
        )
    seen: dict[str, int] = {}
    for i, n in enumerate(lowered):
        if n in seen:
            raise SchemaError(f"{path}: column {names[i]!r} appears twice in the header")
        seen[n] = i

    def src(i: int) -> tuple[str, str]:
        if types is None:
            return f"c{i}", "VARCHAR"
        return names[i], types[i]

    used: set[int] = set()
    out: list[ColumnSource] = []
    missing: list[str] = []

    def source(c: Column, name: str | None, typ: str = "VARCHAR", raw: bool = False) -> ColumnSource:
        if name is not None and typ.upper() not in _TEXT_TYPES:
            _check_native_type(c, name, typ, path)
        return ColumnSource(
            c,
            name,
            typ,
            raw_pii=raw,
            code=limits.is_code(table, c),
            max_length=limits.max_length(table, c) if c.dtype == "string" and not c.pii else None,
            dates=limits.date_range(table, c) if c.dtype in _DATELIKE else None,
        )

    for c in table.columns:
        i_hash = seen.get(c.name)
        i_raw = seen.get(c.raw_name) if c.raw_name else None
        if i_hash is not None and i_raw is not None:
            raise SchemaError(
                f"{path}: columns {c.raw_name!r} and {c.name!r} are both present; give the raw "
                f"identifier ({c.raw_name}) or its digest ({c.name}), not both"
            )
        if i_raw is not None:
            used.add(i_raw)
            name, typ = src(i_raw)
            out.append(source(c, name, typ, raw=True))
        elif i_hash is not None:
            used.add(i_hash)
            name, typ = src(i_hash)
            out.append(source(c, name, typ))
        else:
            if not c.nullable:
                missing.append(c.name + (f" (or raw {c.raw_name})" if c.raw_name else ""))
            out.append(source(c, None))
    unknown = [names[i] for i in range(len(names)) if i not in used]
    if unknown:
        expected = ", ".join(c.raw_name or c.name for c in table.columns)
        hint = " (is the header line missing?)" if len(unknown) == len(names) else ""
        raise SchemaError(
            f"{path}: unknown column {unknown[0]!r} for table {table.name}{hint}"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + f"; expected columns: {expected}"
        )
    if missing:
        raise SchemaError(
            f"{path}: required column {missing[0]!r} of table {table.name} is missing"
            + (f" (and {', '.join(missing[1:])})" if len(missing) > 1 else "")
        )
    return out


_INTEGER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)
_NUMBER_TYPES = (*_INTEGER_TYPES, "FLOAT", "DOUBLE", "REAL", "DECIMAL")
#: the native (Parquet) types each logical type may be read from; VARCHAR is read as text
_NATIVE_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "int": (_NUMBER_TYPES, "an integer or a whole number"),
    "float": (_NUMBER_TYPES, "a number"),
    "bool": (("BOOLEAN",), "BOOLEAN"),
    "date": (("DATE", "TIMESTAMP"), "DATE"),
    "month": (("DATE", "TIMESTAMP"), "DATE (the first of the month)"),
    "timestamp": (("TIMESTAMP", "DATE"), "TIMESTAMP"),
    "string": (_INTEGER_TYPES, "text (VARCHAR)"),
}


def _check_native_type(c: Column, name: str, typ: str, path: Path | str) -> None:
    """Refuse a natively typed (Parquet) source column whose type cannot mean the canonical column's
    values: DuckDB would cast a BOOLEAN to 1/0 or a DOUBLE to an identifier's text."""
    allowed, shown = _NATIVE_TYPES["string" if c.pii else c.dtype]
    base = typ.upper().split("(")[0].strip()
    if base.startswith("TIMESTAMP") and "[" not in base:  # TIMESTAMP_NS, TIMESTAMP WITH TIME ZONE
        base = "TIMESTAMP"
    if base not in allowed:
        raise SchemaError(
            f"{path}: column {name!r} is {typ} in the file; column {c.name} holds {c.dtype} values, so "
            f"expected {shown} or text"
        )


# -- expressions -----------------------------------------------------------------------------
#: types whose casts ignore surrounding whitespace: their text is not trimmed (trimming every cell
#: of a large file costs more than reading it); blank cells are told apart only where a cast failed
_UNTRIMMED = ("int", "float", "date", "timestamp")


def _untrimmed(cs: ColumnSource) -> bool:
    return cs.text and not cs.column.pii and cs.column.dtype in _UNTRIMMED


#: integers up to this magnitude are exact in a double
_EXACT_IN_DOUBLE = 2.0**53


def read_as_number(cs: ColumnSource) -> bool:
    """Whether a CSV column may be parsed as DOUBLE by DuckDB's CSV reader instead of read as text
    and cast (see ``_Batch._stage_csv_numeric``): a number column, and for integers only where the
    limits keep every accepted value exact in a double."""
    c = cs.column
    if cs.source is None or not cs.text or c.pii:
        return False
    if c.dtype == "float":
        return True
    return (
        c.dtype == "int"
        and c.min is not None
        and c.max is not None
        and max(abs(c.min), abs(c.max)) <= _EXACT_IN_DOUBLE
    )


def _clean(cs: ColumnSource) -> str:
    """The cleaned source value ``s``: empty text becomes NULL; identifiers, months and booleans
    are trimmed (numbers, dates and timestamps need not be: their casts ignore the spaces)."""
    assert cs.source is not None
    src = q(cs.source)
    if not cs.text:
        return src
    if cs.code:
        return f"nullif(upper(trim({src})), '')"
    if (cs.column.dtype == "string" and not cs.column.pii) or _untrimmed(cs):
        return f"nullif({src}, '')"
    return f"nullif(trim({src}), '')"


def _typed(cs: ColumnSource, s: str) -> str:
    """The typed value ``t`` of the cleaned source ``s``.

    A raw identifier stays text here; the batch replaces it by its digest before anything leaves
    the temporary tables (each distinct identifier is hashed once, see ``pii_map_select``).
    """
    c = cs.column
    if c.pii:
        text = s if cs.text else f"CAST({s} AS VARCHAR)"
        return text if cs.raw_pii else f"lower({text})"
    if not cs.text:
        return f"TRY_CAST({s} AS {c.sql_type})"
    if c.dtype == "string":
        return s
    if c.dtype == "bool":
        whens = (
            " ".join(f"WHEN {lit(v)} THEN TRUE" for v in _BOOL_TRUE)
            + " "
            + " ".join(f"WHEN {lit(v)} THEN FALSE" for v in _BOOL_FALSE)
        )
        return f"(CASE lower({s}) {whens} END)"
    if c.dtype == "month":
        return (
            f"(CASE length({s}) WHEN 7 THEN CAST(try_strptime({s}, '%Y-%m') AS DATE) "
            f"WHEN 6 THEN CAST(try_strptime({s}, '%Y%m') AS DATE) "
            f"WHEN 10 THEN CASE WHEN {s} LIKE '____-__-__' THEN TRY_CAST({s} AS DATE) END END)"
        )
    return f"TRY_CAST({s} AS {c.sql_type})"


_TYPE_REASON = {
    "int": "is not an integer",
    "float": "is not a number",
    "bool": "is not a boolean; expected true/false, 1/0 or yes/no",
    "date": "is not a date; expected YYYY-MM-DD",
    "month": "is not a month; expected YYYY-MM, YYYYMM or YYYY-MM-01",
    "timestamp": "is not a timestamp; expected YYYY-MM-DD HH:MM:SS",
    "string": "is not text",
}


def _blank(s: str) -> str:
    return f"({s} IS NULL OR trim({s}) = '')"


def _not_converted(cs: ColumnSource, s: str, t: str) -> str:
    """The value is there but does not convert (the cheap test on ``t`` first: for untrimmed text,
    CASE looks at the text only where the cast failed)."""
    if _untrimmed(cs):
        return f"CASE WHEN {t} IS NULL THEN NOT {_blank(s)} ELSE FALSE END"
    return f"{s} IS NOT NULL AND {t} IS NULL"


#: DuckDB's number casts also accept digit separators (``1_000``), hexadecimal (``0x10``) and binary
#: (``0b101``). Hexadecimal and binary do not parse as DOUBLE, so an integer column catches them by
#: comparing the double reading with the integer (``IS DISTINCT FROM``: NULL against 16); only the
#: underscore needs a look at the text (``contains`` is a byte search, cheaper than a pattern).
#: written-out dates, with or without a time of day (the quick LIKE takes the usual spelling)
_DATE_TEXT = r"\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}\s*"
_TIMESTAMP_TEXT = r"\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?\s*"


def _converted_but_wrong(cs: ColumnSource, s: str, t: str) -> str | None:
    """Values that convert but are not what the type means: a fractional number in an integer
    column, a number spelled with digit separators or in hexadecimal, a date spelled otherwise than
    YYYY-MM-DD or with a time of day, an infinite or ``epoch`` date."""
    c = cs.column
    if c.dtype in ("int", "float"):
        cond = f"contains({s}, '_')" if cs.text else None
        if c.dtype == "float":
            return cond
        # the cast rounds ``1.5`` to 2 and ``1e-1`` to 0: the text read as a double must equal the
        # integer (``1e3`` and ``2.0`` do). Parsing every cell again as a double costs less than
        # looking for a point or an exponent in the text first.
        if cs.text:
            return f"TRY_CAST({s} AS DOUBLE) IS DISTINCT FROM {t} OR {cond}"
        if cs.source_type.upper().startswith(_FLOATING):
            return f"CAST({s} AS DOUBLE) <> {t}"
        return None
    if c.dtype in _DATELIKE:
        # DuckDB's casts take the words infinity/inf, -infinity/-inf and epoch as dates and
        # timestamps; only written-out dates are accepted (``epoch`` is 1970-01-01: the text is
        # looked at only for that one value)
        cond = f"NOT isfinite({t})"
        if cs.text:
            epoch = f"{'TIMESTAMP' if c.dtype == 'timestamp' else 'DATE'} '1970-01-01'"
            cond += f" OR ({t} = {epoch} AND NOT contains({s}, '1970'))"
            if c.dtype == "date":
                cond += f" OR NOT ({s} LIKE '____-__-__' OR regexp_full_match({s}, '{_DATE_TEXT}'))"
            elif c.dtype == "timestamp":
                cond += (
                    f" OR NOT ({s} LIKE '____-__-__ __:__:__' OR {s} LIKE '____-__-__' "
                    f"OR regexp_full_match({s}, '{_TIMESTAMP_TEXT}'))"
                )
        elif c.dtype in ("date", "month") and cs.source_type.upper().startswith("TIMESTAMP"):
            cond += f" OR CAST({s} AS TIME) <> TIME '00:00:00'"  # a time of day in a date
        return cond
    return None


def _value_checks(cs: ColumnSource, t: str) -> list[tuple[str, str]]:
    """Checks of a converted value ``t`` (all NULL when ``t`` is NULL)."""
    c = cs.column
    out: list[tuple[str, str]] = []
    if c.dtype == "float":
        out.append((f"NOT isfinite({t})", "is not a finite number"))
    if c.dtype == "month":
        out.append(
            (f"day({t}) <> 1", "is not the first day of a month; expected YYYY-MM, YYYYMM or YYYY-MM-01")
        )
    if c.enum:
        values = ", ".join(lit(v) for v in c.enum)
        out.append(
            (f"{t} NOT IN ({values})", f"is not a valid {c.name}; expected one of {', '.join(c.enum)}")
        )
    if c.min is not None:
        out.append((f"{t} < {c.min!r}", f"is below the minimum {c.min:g}"))
    if c.max is not None:
        out.append((f"{t} > {c.max!r}", f"is above the maximum {c.max:g}"))
    if cs.dates is not None:
        out.append((f"NOT ({_in_range(cs, t)})", cs.dates.describe()))
    if cs.max_length is not None:
        out.append((f"length({t}) > {cs.max_length}", f"is longer than {cs.max_length:,} characters"))
    return out


def _in_range(cs: ColumnSource, t: str) -> str:
    assert cs.dates is not None
    lo, hi = cs.dates.earliest.isoformat(), cs.dates.latest.isoformat()
    if cs.column.dtype == "timestamp":
        return f"{t} >= TIMESTAMP '{lo} 00:00:00' AND {t} < CAST(DATE '{hi}' + 1 AS TIMESTAMP)"
    return f"{t} BETWEEN DATE '{lo}' AND DATE '{hi}'"


def _identifier_checks(cs: ColumnSource, t: str) -> list[tuple[str, str]]:
    """Shape of a raw identifier (before it is hashed), and the check character of an 18-character
    resident ID number."""
    pattern, reason = limits.IDENTIFIER_SHAPES[cs.column.pii or ""]
    cond = f"NOT regexp_full_match({t}, '{pattern}')"
    if cs.column.pii == "certificate":
        total = " + ".join(
            f"TRY_CAST(substr({t}, {i + 1}, 1) AS INTEGER) * {w}"
            for i, w in enumerate(limits.RESIDENT_ID_WEIGHTS)
        )
        check = (
            f"(length({t}) = 18 AND regexp_full_match({t}, '[0-9]{{17}}[0-9Xx]') AND "
            f"substr('{limits.RESIDENT_ID_CHECK}', (({total}) % 11) + 1, 1) <> upper(substr({t}, 18, 1)))"
        )
        cond = f"{cond} OR {check}"
    return [(cond, reason)]


def checks(cs: ColumnSource, s: str = "s", t: str = "t") -> list[tuple[str, str]]:
    """(condition, reason) pairs of one column, in the order they are reported."""
    c = cs.column
    out: list[tuple[str, str]] = []
    if not c.nullable:
        missing = (
            f"CASE WHEN {t} IS NULL THEN {_blank(s)} ELSE FALSE END" if _untrimmed(cs) else f"{s} IS NULL"
        )
        out.append((missing, "is missing; the column is required (not null)"))
    if c.pii:
        if not cs.raw_pii:
            out.append(
                (
                    f"NOT regexp_full_match({t}, '{_HASH_PATTERN}')",
                    f"is not an HMAC-SHA256 digest (64 hex characters); give the raw identifier in "
                    f"column {c.raw_name} instead",
                )
            )
        else:
            out += _identifier_checks(cs, t)
        return out
    if c.dtype != "string":
        cond = _not_converted(cs, s, t)
        wrong = _converted_but_wrong(cs, s, t)
        if wrong is not None:
            cond = f"({cond}) OR {wrong}"
        out.append((cond, _TYPE_REASON[c.dtype]))
    return out + _value_checks(cs, t)


def flag(cs: ColumnSource, s: str = "s", t: str = "t") -> str | None:
    """SQL that is TRUE exactly when one of :func:`checks` of the column is TRUE (otherwise FALSE or
    NULL), written with fewer and cheaper terms: it is computed for every cell of a file, the
    reasons only for bad rows. ``test_a_row_is_flagged_exactly_when_it_gets_a_reason`` holds the
    two to agreement.

    - a required column's value is missing or does not convert exactly when ``t`` is NULL (a NULL
      or blank source gives a NULL ``t``), so the CASE that tells the two apart is not needed;
    - ``NOT isfinite(t) OR t < min OR t > max`` is ``NOT (t BETWEEN min AND max)`` when both limits
      are set (DuckDB orders NaN above every number; infinities fall outside the limits).
    """
    c = cs.column
    pairs = checks(cs, s, t)
    if c.pii or c.dtype == "string":
        return " OR ".join(f"({cond})" for cond, _ in pairs) if pairs else None
    terms = [f"{t} IS NULL" if not c.nullable else _not_converted(cs, s, t)]
    wrong = _converted_but_wrong(cs, s, t)
    if wrong is not None:
        terms.append(wrong)
    if c.dtype == "month":
        terms.append(f"day({t}) <> 1")
    if c.enum:
        terms.append(f"{t} NOT IN ({', '.join(lit(v) for v in c.enum)})")
    if cs.dates is not None:
        terms.append(f"NOT ({_in_range(cs, t)})")
    if c.min is not None and c.max is not None and math.isfinite(c.min) and math.isfinite(c.max):
        terms.append(f"NOT ({t} BETWEEN {c.min!r} AND {c.max!r})")
    else:
        if c.dtype == "float":
            terms.append(f"NOT isfinite({t})")
        if c.min is not None:
            terms.append(f"{t} < {c.min!r}")
        if c.max is not None:
            terms.append(f"{t} > {c.max!r}")
    return " OR ".join(f"({x})" for x in terms)


def _levels(sources: list[ColumnSource], src_rel: str) -> str:
    """``src_rel`` with the cleaned values ``__s{i}`` and typed values ``__t{i}`` added."""
    lvl1 = ["*"]
    lvl2 = ["*"]
    for i, cs in enumerate(sources):
        if cs.source is None:
            continue
        lvl1.append(f"{_clean(cs)} AS __s{i}")
        lvl2.append(f"{_typed(cs, f'__s{i}')} AS __t{i}")
    return f"(SELECT {', '.join(lvl2)} FROM (SELECT {', '.join(lvl1)} FROM {src_rel}))"


def bad_expr(sources: list[ColumnSource]) -> str:
    """SQL of the row-level flag: any check of any column fails."""
    conds = []
    for i, cs in enumerate(sources):
        if cs.source is None:
            continue
        cond = flag(cs, f"__s{i}", f"__t{i}")
        if cond:
            conds.append(cond)
    return f"coalesce({' OR '.join(conds)}, FALSE)" if conds else "FALSE"


def _typed_columns(table: Table, sources: list[ColumnSource]) -> list[str]:
    """The canonical columns of ``table`` from the typed values ``__t{i}`` (NULL where no source)."""
    by_name = {cs.column.name: (i, cs) for i, cs in enumerate(sources)}
    cols = []
    for c in table.columns:
        i, cs = by_name[c.name]
        cols.append(
            f"__t{i} AS {q(c.name)}"
            if cs.source is not None
            else f"CAST(NULL AS {c.sql_type}) AS {q(c.name)}"
        )
    return cols


def stage_select(
    table: Table,
    sources: list[ColumnSource],
    src_rel: str,
    keep_text: list[str] | None = None,
    absent: bool = False,
) -> str:
    """SELECT of the staged rows of one file, in file order: the typed canonical columns, ``_bad``
    and, when ``keep_text`` names the source columns, ``_orig``: the input text of bad rows (a list
    in ``keep_text`` order; NULL for good rows) from which the reasons are computed later."""
    lvl2 = _levels(sources, src_rel)
    cols = [*_typed_columns(table, sources), "_bad"]
    if keep_text is not None:
        cols.append(f"CASE WHEN _bad THEN [{', '.join(q(n) for n in keep_text)}] END AS _orig")
    bad = bad_expr(sources)
    if absent:  # rows that do not exist (a month of a wide export before the number was opened)
        bad = f"CASE WHEN _absent THEN NULL ELSE {bad} END"
    return f"SELECT {', '.join(cols)} FROM (SELECT *, {bad} AS _bad FROM {lvl2})"


def typed_select(table: Table, sources: list[ColumnSource], src_rel: str, row: str) -> str:
    """SELECT of ``row AS rowid`` and the typed canonical columns of ``src_rel``, without the checks:
    the view over a file that is read in place (see ``bad_rows_select``). Columns a query does not use
    are not read or converted."""
    cols = [f"{row} AS rowid", *_typed_columns(table, sources)]
    return f"SELECT {', '.join(cols)} FROM {_levels(sources, src_rel)}"


def bad_rows_select(sources: list[ColumnSource], src_rel: str, row: str) -> str:
    """SELECT of ``row`` for every row of ``src_rel`` that fails a check: the rows ``stage_select``
    flags ``_bad``."""
    return f"SELECT {row} AS row FROM {_levels(sources, src_rel)} WHERE {bad_expr(sources)}"


def display_value(cs: ColumnSource, o: str) -> str:
    """SQL of the value shown in reports: the input text, shortened, with identifiers masked: the
    whole value in an identifier column, and in any other column every run of eight or more digits
    (a phone, ID-card or IMEI number in the wrong column), as ``138****5678``."""
    text = f"coalesce(CAST({o} AS VARCHAR), '')"
    if cs.column.pii:
        return mask_sql(text)
    return mask_digit_runs_sql(f"left({text}, {VALUE_WIDTH})")


def reasons_select(sources: list[ColumnSource], bad_rel: str, file_id: int) -> str | None:
    """SELECT of (file_id, row, col_idx, column_name, value, reason) for every failing check of the
    rows in ``bad_rel`` (``_row`` plus the source columns); one reason per row and column."""
    lvl2 = _levels(sources, bad_rel)
    parts = []
    for i, cs in enumerate(sources):
        if cs.source is None:
            continue
        pairs = checks(cs, f"__s{i}", f"__t{i}")
        if not pairs:
            continue
        case = "CASE " + " ".join(f"WHEN {cond} THEN {lit(reason)}" for cond, reason in pairs) + " END"
        parts.append(
            f"SELECT {file_id} AS file_id, _row AS row, {i} AS col_idx, {lit(cs.input_name)} AS column_name, "
            f"{display_value(cs, q(cs.source))} AS value, {case} AS reason FROM lvl2"
        )
    if not parts:
        return None
    union = " UNION ALL ".join(parts)
    return f"WITH lvl2 AS {lvl2} SELECT * FROM ({union}) WHERE reason IS NOT NULL"


def pii_map_select(values_sql: list[str], key: bytes) -> str:
    """SELECT of (v, h): every distinct raw identifier ``v`` of the batch and its HMAC digest ``h``.

    Identifiers repeat (an IMEI every month, a called number in many call records), so hashing each
    distinct value once is several times cheaper than hashing every cell.

    The 64-bit ``hash(v)`` is kept as ``hv``: where it is unique in the map, the publication join
    matches on it, which costs less than matching the text.
    """
    union = " UNION ALL ".join(values_sql)
    return (
        f"SELECT v, hash(v) AS hv, {hmac_sql('v', key)} AS h "
        f"FROM (SELECT DISTINCT v FROM ({union}) WHERE v IS NOT NULL)"
    )
