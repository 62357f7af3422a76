"""The analytical store: creation, reopening, and clear errors for files that are not stores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from churnradar.errors import StoreError
from churnradar.schema import TABLES
from churnradar.store import META_TABLES, Store


def test_open_creates_every_canonical_and_metadata_table(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store.open(path) as store:
        assert store.table_counts() == dict.fromkeys(TABLES, 0)
        names = {
            r[0]
            for r in store.connection.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary"
            ).fetchall()
        }
        assert set(TABLES) | set(META_TABLES) <= names
        assert store.meta()["format"] == "churnradar-store"
        cols = store.connection.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'usage_monthly' ORDER BY ordinal_position"
        ).fetchall()
        t = TABLES["usage_monthly"]
        assert [c[0] for c in cols] == t.column_names
        assert [c[1] for c in cols] == [c.sql_type for c in t.columns]
        assert [c[2] == "YES" for c in cols] == [c.nullable for c in t.columns]
    assert path.exists()


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store.open(path) as store:
        store.connection.execute("INSERT INTO competitor VALUES ('c1', '联通', 'Unicom')")
    with Store.open(path) as store:
        assert store.table_counts()["competitor"] == 1
        assert store.batches() == []


def test_ibis_accessor_reads_the_canonical_tables(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.connection.execute("INSERT INTO competitor VALUES ('c1', '联通', 'Unicom')")
        con = store.ibis()
        assert "usage_monthly" in con.list_tables()
        assert con.table("competitor").count().execute() == 1


def test_a_file_that_is_not_duckdb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("hello, this is not a database\n" * 100)
    with pytest.raises(StoreError, match="not a churnradar store"):
        Store.open(path)


def test_a_duckdb_file_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.close()
    with pytest.raises(StoreError, match=r"not a churnradar store.*invoices"):
        Store.open(path)
    # and it was left alone
    con = duckdb.connect(str(path))
    assert [r[0] for r in con.execute("SHOW TABLES").fetchall()] == ["invoices"]
    con.close()


def test_a_store_locked_by_another_process_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store.open(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); print('ready'); "
            "sys.stdout.flush(); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="locked by another process"):
            Store.open(path)
    finally:
        holder.kill()
        holder.wait()


def test_missing_folder_and_folder_as_store_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "nowhere" / "s.duckdb")
    with pytest.raises(StoreError, match="is a folder"):
        Store.open(tmp_path)


def test_closed_store_refuses_use(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.duckdb")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.table_counts()


def test_digest_columns_are_written_with_the_compression_the_store_names(tmp_path) -> None:
    """The store names FSST for HMAC digest columns (DuckDB then skips trying dictionaries on them).
    1,000 copies of one digest would get a dictionary or a constant otherwise: the plain table shows it."""
    from churnradar.store.duckdb_store import _digest_compression

    if _digest_compression() is None:
        pytest.skip("this DuckDB does not take a column's compression in CREATE TABLE")
    store = Store.open(tmp_path / "s.duckdb")
    con = store.connection
    con.execute(TABLES["customer"].create_sql("plain_customer"))
    rows = "SELECT printf('CU%d', i), sha256('one'), 'mass', 'individual', true, true, 1980, 'F' FROM range(1000) t(i)"
    con.execute(f"INSERT INTO customer {rows}")
    con.execute(f"INSERT INTO plain_customer {rows}")
    con.execute("CHECKPOINT")

    def compression(table: str) -> set[str]:
        sql = (
            f"SELECT DISTINCT compression FROM pragma_storage_info('{table}') "
            "WHERE column_name = 'certificate_hash' AND segment_type = 'VARCHAR'"
        )
        return {r[0] for r in con.execute(sql).fetchall()}

    assert compression("customer") == {"FSST"}
    assert "FSST" not in compression("plain_customer")
    store.close()


def test_a_memory_limit_applies_to_every_way_of_opening_the_store(tmp_path):
    from churnradar.store import Store
    from churnradar.store.backends import open_backend
    from churnradar.store.connection import connect, memory_limit

    path = tmp_path / "s.duckdb"
    Store.open(path).close()

    def limits() -> list[str]:
        q = "SELECT current_setting('memory_limit')"
        with Store.open(path, read_only=True) as st:
            a = st.connection.execute(q).fetchone()[0]
        con = connect(path, read_only=True)
        b = con.execute(q).fetchone()[0]
        con.close()
        bk = open_backend(path)
        c = bk.con.raw_sql(q).fetchone()[0]
        bk.close()
        return [a, b, c]

    with memory_limit(300 * 2**20):
        assert limits() == ["300.0 MiB"] * 3
        with memory_limit(None):  # no budget: the enclosing one stands
            assert limits() == ["300.0 MiB"] * 3
    assert "300.0 MiB" not in limits()


def test_duckdbs_own_progress_bar_is_off_on_every_way_of_opening_the_store(tmp_path):
    """DuckDB prints its progress bar to stdout once a query runs over two seconds, which would
    break a command's --json output on a large store (DuckDB turns it on for a writable connection
    in a plain process, as a command's: the feature snapshot and the labels are written through one;
    under pytest it starts off, so the setting is turned on first)."""
    from churnradar.store.backends import open_backend
    from churnradar.store.connection import apply_limits, connect

    path = tmp_path / "s.duckdb"
    q = "SELECT current_setting('enable_progress_bar')"
    raw = duckdb.connect(str(path))
    raw.execute("SET enable_progress_bar = true")
    apply_limits(raw)  # what every way of opening the store applies
    assert raw.execute(q).fetchone()[0] is False
    raw.close()
    with Store.open(path) as st:
        assert st.connection.execute(q).fetchone()[0] is False
    for read_only in (False, True):
        con = connect(path, read_only=read_only)
        assert con.execute(q).fetchone()[0] is False
        con.close()
    bk = open_backend(path)
    assert bk.con.raw_sql(q).fetchone()[0] is False
    bk.close()
