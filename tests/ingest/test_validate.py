"""The generated validation SQL: the row flag computed for every row and the reasons computed for the
bad rows come from the same checks, so a row is flagged exactly when it gets a reason."""

from __future__ import annotations

import duckdb
import pytest
from tests.ingest._data import dataset, parent_sizes

from churnradar.ingest.validate import map_columns, q, reasons_select, stage_select
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
