"""The generated validation SQL: the row flag computed for every row and the reasons computed for the
bad rows come from the same checks, so a row is flagged exactly when it gets a reason."""

from __future__ import annotations

import duckdb
import pytest
from tests.ingest._data import dataset, parent_sizes

from churnradar.ingest.validate import lit, map_columns, q, reasons_select, stage_select
from churnradar.schema import TABLES

TRICKY = [
    "",
    " ",
    "   ",
    "0",
    "-0",
    "1",
    "-1",
    "+7",
    " 7 ",
    "1.0",
    "1.5",
    "1e3",
    "-3",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "infinity",
    "-Infinity",
    "epoch",
    "1e-1",
    "2.5e0",
    "1.5E1",
    "1970-01-01",
    "99999999999999999999",
    "abc",
    "true",
    "FALSE",
    "yes",
    "No",
    "2",
    "2024-03",
    "202403",
    "2024-03-01",
    "2024-03-15",
    "2024-13",
    "2024-02-30",
    " 2024-03 ",
    "2024-03-01 10:00:00",
    "2024-03-01T10:00:00",
    "yesterday",
    "gold",
    "premium",
    "mass",
    "a" * 64,
    "A" * 64,
    "0123456789abcdef" * 4,
    "北京",
]


@pytest.mark.parametrize("table", ["usage_monthly", "customer", "package", "subscription", "status_event"])
def test_a_row_is_flagged_exactly_when_it_gets_a_reason(table: str) -> None:
    t = TABLES[table]
    header, body = dataset({**parent_sizes(3), table: 1})[table]
    base = body[0]
    rows = [list(base)]
    for j in range(len(header)):
        for v in TRICKY:
            r = list(base)
            r[j] = v
            rows.append(r)
    con = duckdb.connect()
    cols = ", ".join(f"c{j} VARCHAR" for j in range(len(header)))
    con.execute(f"CREATE TABLE src ({cols})")
    con.executemany(
        f"INSERT INTO src VALUES ({', '.join('?' for _ in header)})", [[x or None for x in r] for r in rows]
    )
    sources = map_columns(t, header, f"{table}.csv")
    names = [f"c{j}" for j in range(len(header))]
    con.execute("CREATE TABLE stg AS " + stage_select(t, sources, "src", keep_text=names))
    flagged = {r[0] for r in con.execute("SELECT rowid FROM stg WHERE _bad").fetchall()}
    sql = reasons_select(sources, "(SELECT rowid AS _row, * FROM src)", 0)
    reasons = {r[1] for r in con.execute(sql).fetchall()} if sql else set()
    assert 0 not in flagged  # the valid row is valid
    assert flagged == reasons
    assert len(flagged) > len(header)  # the tricky values do trip the checks
    # good rows never hold NULL in a required column
    for c in t.columns:
        if not c.nullable:
            n = con.execute(f"SELECT count(*) FROM stg WHERE NOT _bad AND {q(c.name)} IS NULL").fetchone()[0]
            assert n == 0, c.name


NATIVE = {
    # Parquet-typed source columns: the type an int, float, date, month or timestamp column is given
    # (ints as DOUBLE: a fraction must be rejected) and values that trip or pass the checks
    "int": ("DOUBLE", ["0", "-3", "31", "32", "100001", "1.5", "0.1", "'nan'", "'inf'", "NULL"]),
    "float": ("DOUBLE", ["0", "-1", "1.5", "1e7", "1e8", "'nan'", "'inf'", "'-inf'", "NULL"]),
    "month": ("DATE", ["DATE '2024-03-01'", "DATE '2024-03-15'", "'infinity'", "'-infinity'", "NULL"]),
    "date": ("DATE", ["DATE '1970-01-01'", "'infinity'", "'-infinity'", "NULL"]),
    "timestamp": ("TIMESTAMP", ["TIMESTAMP '1970-01-01'", "'infinity'", "'-infinity'", "NULL"]),
}


@pytest.mark.parametrize("table", ["usage_monthly", "customer", "subscription", "status_event"])
def test_natively_typed_sources_are_flagged_exactly_when_they_get_a_reason(table: str) -> None:
    """As above, for Parquet files, whose typed columns are cast rather than parsed."""
    t = TABLES[table]
    header, body = dataset({**parent_sizes(3), table: 1})[table]
    con = duckdb.connect()
    names = [f"c{j}" for j in range(len(header))]
    con.execute("CREATE TABLE txt AS SELECT " + ", ".join(f"{lit(v)} AS c{j}" for j, v in enumerate(body[0])))
    text_sources = map_columns(t, header, f"{table}.csv")
    con.execute("CREATE TABLE typed AS " + stage_select(t, text_sources, "txt"))
    by_source = {cs.source: cs.column for cs in text_sources if cs.source}
    cols, types = [], []
    for j, h in enumerate(header):
        c = by_source[names[j]]
        if c.dtype in NATIVE:
            typ = NATIVE[c.dtype][0]
            cols.append(f"CAST(y.{q(c.name)} AS {typ}) AS {q(h)}")
        else:
            typ = "VARCHAR"
            cols.append(f"x.c{j} AS {q(h)}")
        types.append(typ)
    con.execute(f"CREATE TABLE src AS SELECT {', '.join(cols)} FROM txt x, typed y")
    for j, h in enumerate(header):
        c = by_source[names[j]]
        if c.dtype not in NATIVE:
            continue
        typ, values = NATIVE[c.dtype]
        for v in values:
            row = ", ".join(f"TRY_CAST({v} AS {typ})" if x == h else q(x) for x in header)
            con.execute(f"INSERT INTO src SELECT {row} FROM src LIMIT 1")
    sources = map_columns(t, header, f"{table}.parquet", types)
    con.execute("CREATE TABLE stg AS " + stage_select(t, sources, "src"))
    flagged = {r[0] for r in con.execute("SELECT rowid FROM stg WHERE _bad").fetchall()}
    sql = reasons_select(sources, "(SELECT rowid AS _row, * FROM src)", 0)
    reasons = {r[1] for r in con.execute(sql).fetchall()} if sql else set()
    assert 0 not in flagged  # the valid row is valid
    assert flagged == reasons
    assert len(flagged) >= 3  # the tricky values do trip the checks
