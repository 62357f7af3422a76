"""A clean CSV file's number columns are parsed by DuckDB's CSV reader (cheaper than reading text and
casting it); everything else goes through the text path. The two readings must load the same values
and report the same reasons, line for line: the reader may only be used where it agrees with the
text path, and must hand over to it everywhere else."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from churnradar.ingest import batch, ingest

#: cell texts around the edges of number parsing: signs, exponents, separators, blanks, words,
#: other digits, values beyond the limits and beyond a double's exact integers
TRICKY = [
    "12", "-0", "+5", "0005", "1_000", "1,000", "0x10", "0b101", "1.5", "2.0", "1e3", "1E3", "1e+3",
    "1e-1", "15E-1", "-1.5", ".5", "5.", "+.5", "-.5e1", "1.0e0", "-0.0", " 12", "12 ", "   ", "\t7",
    "inf", "-inf", "nan", "infinity", "1e999", "", '""', "1.5e", "1e", "١٢", "１２", "NULL", "true",
    "99999", "100000", "100001", "10000.5", "9007199254740993", "1__0", "_1",
]  # fmt: skip

HEADER = [
    "package_id", "package_name", "package_name_en", "brand", "payment_type", "monthly_fee", "data_gb",
    "voice_min", "is_5g", "is_promotion",
]  # fmt: skip


def _row(pid: str, **cells: str) -> list[str]:
    base = {
        "package_id": pid, "package_name": "套餐", "package_name_en": "plan", "brand": "budget",
        "payment_type": "prepaid", "monthly_fee": "38", "data_gb": "10.5", "voice_min": "300",
        "is_5g": "true", "is_promotion": "false",
    }  # fmt: skip
    return [cells.get(k, v) for k, v in base.items()]


def _files(folder: Path) -> list[Path]:
    """One package file per (tricky value, number column): a good line, the tricky line, a good line."""
    folder.mkdir()
    out = []
    for col in ("monthly_fee", "voice_min"):  # a float column, an integer column (0 ≤ x ≤ 100000)
        for i, value in enumerate(TRICKY):
            path = folder / f"package_{col}_{i:02d}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                if value == '""':  # an empty quoted field, as some exports write it
                    fh.write(",".join(HEADER) + "\n")
                    for j, row in enumerate([_row(f"A{col}{i}"), _row(f"B{col}{i}"), _row(f"C{col}{i}")]):
                        if j == 1:
                            row[HEADER.index(col)] = '""'
                        fh.write(",".join(row) + "\n")
                else:
                    w = csv.writer(fh, lineterminator="\n")
                    w.writerow(HEADER)
                    w.writerows([_row(f"A{col}{i}"), _row(f"B{col}{i}", **{col: value}), _row(f"C{col}{i}")])
            out.append(path)
    return out


def _load(files: list[Path], store: Path, numeric: bool, monkeypatch: pytest.MonkeyPatch) -> tuple:
    used: list[str] = []
    original = batch._Batch._stage_csv_numeric

    def spy(self, f, src):
        ok = original(self, f, src)
        if ok:
            used.append(Path(f.display).name)
        return ok

    monkeypatch.setattr(batch._Batch, "numeric_csv", numeric)
    monkeypatch.setattr(batch._Batch, "_stage_csv_numeric", spy)
    result = ingest(files, store, on_error="quarantine")
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT * FROM package ORDER BY package_id").fetchall()
        rejects = con.execute(
            "SELECT file, line, column_name, value, reason FROM _rejects ORDER BY file, line, column_name"
        ).fetchall()
    finally:
        con.close()
    return result.counts(), rows, rejects, used


def test_number_columns_read_by_the_csv_reader_load_and_report_as_the_text_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path / "in")
    fast = _load(files, tmp_path / "fast.duckdb", True, monkeypatch)
    text = _load(files, tmp_path / "text.duckdb", False, monkeypatch)
    assert text[3] == []  # the text path was taken throughout
    assert fast[:3] == text[:3]  # counts, every loaded value, every reported reason
    # the comparison means something: both kinds of outcome occur, and the reader was used where it
    # parses a cell itself (clean numbers, the integer column's whole numbers written as decimals) and
    # handed over where it does not
    counts, _, _, used = fast
    assert counts["rejected"] > 10 and counts["loaded"] > 2 * 2 * len(TRICKY)
    for col, value in [("monthly_fee", "12"), ("monthly_fee", "1.5"), ("monthly_fee", "inf"),
                       ("voice_min", "2.0"), ("voice_min", "1.5"), ("voice_min", "100001"), ("voice_min", "")]:  # fmt: skip
        assert f"package_{col}_{TRICKY.index(value):02d}.csv" in used, (col, value)
    for col, value in [("monthly_fee", "   "), ("voice_min", "0x10"), ("monthly_fee", "1,000")]:
        assert f"package_{col}_{TRICKY.index(value):02d}.csv" not in used, (col, value)


def test_an_integer_column_without_limits_is_read_as_text() -> None:
    """Integers beyond 2**53 are not exact in a double: only columns whose limits keep them exact
    are parsed as numbers by the reader."""
    from churnradar.ingest.validate import ColumnSource, read_as_number
    from churnradar.schema import TABLES
    from churnradar.schema.model import Column

    voice_min = next(c for c in TABLES["package"].columns if c.name == "voice_min")
    assert read_as_number(ColumnSource(voice_min, "c7"))
    wide = Column(name="n", dtype="int", zh="数", en="n", min=0, max=2.0**60)
    assert not read_as_number(ColumnSource(wide, "c0"))
    assert not read_as_number(ColumnSource(Column(name="n", dtype="int", zh="数", en="n"), "c0"))
    assert not read_as_number(ColumnSource(voice_min, "voice_min", "BIGINT"))  # Parquet: typed already
