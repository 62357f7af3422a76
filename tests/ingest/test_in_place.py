"""A Parquet file is read in place: checked in one pass, its stage a view over the file rather than
a copy in temporary tables. Rows the batch-level checks refuse (a repeated key, an unknown parent)
are marked beside the view; a file that changes before the commit refuses the batch."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tests.ingest._data import csv_to_parquet, write_csv_dataset
from tests.ingest.conftest import KEY, snapshot
from tests.ingest.test_ingest import SIZES, write_table

from churnradar.errors import IngestError
from churnradar.ingest import batch, ingest


def test_a_parquet_file_is_a_view_over_the_file_not_a_copy(
    tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pq = csv_to_parquet(
        write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 30), tmp_path / "usage_monthly.parquet"
    )
    seen: dict[str, set[str]] = {}
    real = batch._Batch._check_tables

    def spy(self: batch._Batch) -> None:
        real(self)
        con = self.con
        seen["tables"] = {
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
        }
        seen["views"] = {
            r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()
        }

    monkeypatch.setattr(batch._Batch, "_check_tables", spy)
    result = ingest([pq], store_path, key=KEY)
    assert result.published and result.loaded == 30
    assert "_ing_stg_0" in seen["views"] and "_ing_stg_0" not in seen["tables"]
    assert "_ing_bad_0" in seen["tables"]  # the row numbers of refused rows: none here


def _both(tmp_path: Path, csv: Path, store_path: Path, name: str) -> tuple[object, object, Path]:
    """Ingest ``csv`` and the same rows as Parquet into copies of the store; the two results."""
    pq = csv_to_parquet(csv, tmp_path / f"{name}.parquet")
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    a.write_bytes(store_path.read_bytes())
    b.write_bytes(store_path.read_bytes())
    ra = ingest([csv], a, on_error="quarantine", key=KEY)
    rb = ingest([pq], b, on_error="quarantine", key=KEY)
    assert snapshot(a, with_batches=False)[name] == snapshot(b, with_batches=False)[name]
    return ra, rb, pq


def test_rows_refused_by_batch_checks_are_the_same_from_parquet_as_from_csv(
    tmp_path: Path, store_path: Path
) -> None:
    csv = write_table(
        tmp_path / "usage_monthly.csv",
        "usage_monthly",
        8,
        {(5, "subscriber_id"): "SUB999999", (6, "data_mb"): "-1"},
    )
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text(csv.read_text() + lines[3])  # line 10 repeats line 4's key
    ra, rb, pq = _both(tmp_path, csv, store_path, "usage_monthly")
    assert (rb.read, rb.loaded, rb.rejected) == (ra.read, ra.loaded, ra.rejected) == (9, 6, 3)
    # a Parquet "line" is the row's number, a CSV line counts the header too
    ea = sorted((e.line - 1, e.column, e.reason.replace(f"{csv}:4", "F:3")) for e in ra.errors)
    eb = sorted((e.line, e.column, e.reason.replace(str(pq), "F")) for e in rb.errors)
    assert ea == eb
    assert [line for line, _, _ in eb] == [6, 7, 9]


def test_a_refused_parent_in_parquet_refuses_its_children(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    paths = write_csv_dataset(folder, {**SIZES, "usage_monthly": 20})
    sub = paths["subscription"]
    lines = sub.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[2].rstrip("\n").split(",")
    cells[header.index("grid_id")] = "NOWHERE"  # the second subscriber's row is refused
    sub.write_text("".join([lines[0], lines[1], ",".join(cells) + "\n", *lines[3:]]))
    pq_folder = tmp_path / "pq"
    pq_folder.mkdir()
    for name, path in paths.items():
        target = pq_folder / f"{name}.parquet"
        csv_to_parquet(path, target) if name in ("subscription", "usage_monthly") else target.with_suffix(
            ".csv"
        ).write_bytes(path.read_bytes())
    ra = ingest([folder], tmp_path / "a.duckdb", on_error="quarantine", key=KEY)
    rb = ingest([pq_folder], tmp_path / "b.duckdb", on_error="quarantine", key=KEY)
    assert ra.rejected == rb.rejected and rb.rejected > 1
    assert sorted(e.reason.split(" at ")[0] for e in ra.errors) == sorted(
        e.reason.split(" at ")[0] for e in rb.errors
    )
    assert any("parent refused at" in e.reason and "subscription.parquet:2" in e.reason for e in rb.errors)
    sa, sb = snapshot(tmp_path / "a.duckdb", False), snapshot(tmp_path / "b.duckdb", False)
    assert sa["usage_monthly"] == sb["usage_monthly"] and sa["subscription"] == sb["subscription"]


def test_a_parquet_file_that_changes_before_the_commit_refuses_the_batch(
    tmp_path: Path, store_path: Path
) -> None:
    pq = csv_to_parquet(
        write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 12), tmp_path / "usage_monthly.parquet"
    )
    other = csv_to_parquet(write_table(tmp_path / "b.csv", "usage_monthly", 3), tmp_path / "b.parquet")
    before = snapshot(store_path)

    def progress(name: str, done: float, total: float) -> None:
        if name == "publish" and done == 0:  # another export overwrites the file mid-batch
            pq.write_bytes(other.read_bytes())

    with pytest.raises(
        IngestError, match=r"usage_monthly\.parquet: the file changed .* nothing was published"
    ):
        ingest([pq], store_path, key=KEY, progress=progress)
    assert snapshot(store_path) == before


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from churnradar.simulate import simulate

    out = tmp_path_factory.mktemp("in_place")
    simulate(subscribers=300, months=3, seed=5, out=out, fmt="parquet")
    # break a few rows of the biggest file: a bad value, a repeated key, an unknown subscriber
    usage = out / "usage_monthly.parquet"
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT * EXCLUDE (n) REPLACE (CASE WHEN n = 5 THEN -2.0 ELSE data_mb END AS data_mb,
                      CASE WHEN n = 9 THEN 'NOBODY' ELSE subscriber_id END AS subscriber_id)
                  FROM (SELECT *, row_number() OVER () AS n FROM read_parquet('{usage}'))
                  UNION ALL (SELECT * FROM read_parquet('{usage}') LIMIT 1))
            TO '{out}/usage.tmp' (FORMAT parquet)"""
    )
    con.close()
    (out / "usage.tmp").replace(usage)
    return out


def test_reading_in_place_publishes_what_a_copy_publishes(
    simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results, stores = [], []
    for in_place in (True, False):
        monkeypatch.setattr(batch._Batch, "parquet_in_place", in_place)
        store = tmp_path / f"{in_place}.duckdb"
        results.append(ingest([simulated], store, on_error="quarantine", key=KEY))
        snap = snapshot(store, with_batches=False)
        with duckdb.connect(str(store), read_only=True) as con:  # _rejects without its batch id
            snap["_rejects"] = con.execute(
                "SELECT * EXCLUDE (batch_id) FROM _rejects ORDER BY ALL"
            ).fetchall()
        stores.append(snap)
    a, b = results
    assert a.counts() == b.counts() and a.rejected == 3
    assert [str(e) for e in a.errors] == [str(e) for e in b.errors]
    assert stores[0] == stores[1]
