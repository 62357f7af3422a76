"""A DuckDB read that runs out of memory on several threads runs again on one, then the threads
setting is what it was; on one thread, or a second time, the error is raised as it is."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from churnradar.store.backends import arrow_within_memory

SQL = "SELECT range AS i FROM range(1000)"


class _Starved:
    """A connection whose queries run out of memory while more than ``fits_on`` threads are set."""

    def __init__(self, threads: int, fits_on: int) -> None:
        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {threads}")
        self.fits_on = fits_on
        self.runs: list[int] = []

    def execute(self, sql: str) -> Any:
        return self.con.execute(sql)

    def threads(self) -> int:
        return int(self.con.execute("SELECT current_setting('threads')").fetchone()[0])

    def sql(self, sql: str) -> Any:
        self.runs.append(self.threads())
        if self.threads() > self.fits_on:
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block of size 256.0 KiB")
        return self.con.sql(sql)


def test_a_query_out_of_memory_on_two_threads_runs_again_on_one(caplog: pytest.LogCaptureFixture) -> None:
    con = _Starved(threads=2, fits_on=1)
    table = arrow_within_memory(con, SQL)
    assert table.num_rows == 1000
    assert con.runs == [2, 1] and con.threads() == 2
    assert "running the query again on one" in caplog.text


def test_on_one_thread_the_error_is_raised_at_once() -> None:
    con = _Starved(threads=1, fits_on=0)
    with pytest.raises(duckdb.OutOfMemoryException):
        arrow_within_memory(con, SQL)
    assert con.runs == [1]


def test_a_second_failure_is_raised_and_the_threads_are_restored() -> None:
    con = _Starved(threads=2, fits_on=0)
    with pytest.raises(duckdb.OutOfMemoryException):
        arrow_within_memory(con, SQL)
    assert con.runs == [2, 1] and con.threads() == 2


def test_a_query_that_fits_runs_once() -> None:
    con = _Starved(threads=2, fits_on=2)
    assert arrow_within_memory(con, SQL).num_rows == 1000
    assert con.runs == [2]
