"""Ingest of CSV and Parquet files: table naming, validation against the schema, error reports,
fail versus quarantine, upserts and the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from tests.ingest._data import csv_text, csv_to_parquet, dataset, parent_sizes, write_csv_dataset
from tests.ingest.conftest import KEY, snapshot

from churnradar.cli import main
from churnradar.errors import ChurnRadarError, IngestError, SchemaError
from churnradar.ingest import ingest
from churnradar.ingest.readers import discover, table_for
from churnradar.schema import TABLES
from churnradar.store import Store

SIZES = parent_sizes(20)


def write_table(path: Path, table: str, n: int, edits: dict[tuple[int, str], str] | None = None) -> Path:
    """``n`` valid rows of ``table`` (children refer to the parents of ``parent_sizes(20)``), with
    ``edits[(row index, column)] = text`` applied; row 0 is on line 2."""
    header, body = dataset({**SIZES, table: n})[table]
    for (i, col), text in (edits or {}).items():
        body[i][header.index(col)] = text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(header, body), encoding="utf-8")
    return path


def test_a_valid_dataset_loads_every_row_with_typed_values(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    sizes = {**SIZES, "usage_monthly": 60, "billing_monthly": 40, "status_event": 10}
    write_csv_dataset(folder, sizes)
    result = ingest([folder], tmp_path / "s.duckdb", key=KEY)
    assert result.published
    assert result.read == result.loaded == sum(sizes.values()) and result.rejected == 0
    assert {k: v.loaded for k, v in result.tables.items()} == sizes
    assert list(result.tables) == [t for t in TABLES if t in sizes]  # load order
    with Store.open(tmp_path / "s.duckdb") as store:
        counts = store.table_counts()
        assert {k: counts[k] for k in sizes} == sizes
        row = store.connection.execute(
            "SELECT month, sms_count, voice_in_min FROM usage_monthly WHERE subscriber_id = 'SUB000001' "
            "ORDER BY month LIMIT 1"
        ).fetchone()
        assert row == (date(2024, 1, 1), 1, pytest.approx(14.286))
        (is_5g,) = store.connection.execute(
            "SELECT is_5g FROM package WHERE package_id = 'PAC000001'"
        ).fetchone()
        assert is_5g is False
        (batch,) = store.batches()
        assert batch["batch_id"] == result.batch_id and batch["read"] == result.read
        assert {f["file"] for f in batch["files"]} == {str(folder / f"{t}.csv") for t in sizes}
        assert all(len(f["sha256"]) == 64 for f in batch["files"])


def test_parquet_loads_the_same_values_as_csv(tmp_path: Path, parents: Path) -> None:
    csv = write_table(tmp_path / "csv" / "usage_monthly.csv", "usage_monthly", 40)
    pq = csv_to_parquet(csv, tmp_path / "usage_monthly_2024.parquet")
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ingest([parents, csv], a, key=KEY)
    result = ingest([parents, pq], b, key=KEY)
    assert result.tables["usage_monthly"].loaded == 40
    sa, sb = snapshot(a, with_batches=False), snapshot(b, with_batches=False)
    assert sa["usage_monthly"] == sb["usage_monthly"] and sa["usage_monthly"][0] == 40


def test_parquet_values_are_checked_too(tmp_path: Path, store_path: Path) -> None:
    csv = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 10, {(3, "data_mb"): "-3.5"})
    pq = csv_to_parquet(csv, tmp_path / "usage_monthly.parquet")
    result = ingest([pq], store_path, on_error="quarantine", key=KEY)
    assert (result.read, result.loaded, result.rejected) == (10, 9, 1)
    assert str(result.errors[0]) == f"{pq}:4:data_mb: value '-3.5' is below the minimum 0"


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("usage_monthly.csv", "usage_monthly"),
        ("usage_monthly_2024-03.parquet", "usage_monthly"),
        ("USAGE_MONTHLY-2024.csv.gz", "usage_monthly"),
        ("call_edge_part1.csv", "call_edge"),
        ("survey_response.csv", "survey_response"),
    ],
)
def test_the_table_is_the_longest_table_name_prefix_of_the_file_stem(name: str, table: str) -> None:
    assert table_for(Path(name)) == table


def test_unknown_table_names_the_file_and_the_valid_tables(tmp_path: Path) -> None:
    f = tmp_path / "usage.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(SchemaError) as exc:
        ingest([f], tmp_path / "s.duckdb")
    assert str(f) in str(exc.value) and "usage_monthly" in str(exc.value) and "--table" in str(exc.value)
    with pytest.raises(SchemaError, match="'usage' is not a canonical table"):
        ingest([f], tmp_path / "s.duckdb", table="usage")


def test_table_option_overrides_the_file_name(tmp_path: Path, store_path: Path) -> None:
    f = write_table(tmp_path / "export_20240301.csv", "usage_monthly", 5)
    result = ingest([f], store_path, table="usage_monthly", key=KEY)
    assert result.tables["usage_monthly"].loaded == 5


def test_folders_skip_names_starting_with_underscore_or_dot(tmp_path: Path) -> None:
    write_csv_dataset(tmp_path / "sim", {"region": 3})
    (tmp_path / "sim" / "_truth").mkdir()
    (tmp_path / "sim" / "_truth" / "churn_truth.csv").write_text("garbage\n")
    (tmp_path / "sim" / ".cache").mkdir()
    (tmp_path / "sim" / ".cache" / "region.csv").write_text("garbage\n")
    (tmp_path / "sim" / "README.txt").write_text("not data\n")
    assert discover([tmp_path / "sim"]) == [tmp_path / "sim" / "region.csv"]
    assert ingest([tmp_path / "sim"], tmp_path / "s.duckdb").loaded == 3


def test_missing_required_column_names_file_and_column(tmp_path: Path, store_path: Path) -> None:
    f = tmp_path / "usage_monthly.csv"
    f.write_text("subscriber_id,voice_out_min\nSUB000001,1\n")
    with pytest.raises(SchemaError) as exc:
        ingest([f], store_path)
    assert str(f) in str(exc.value) and "'month'" in str(exc.value)


def test_unknown_column_names_file_and_column(tmp_path: Path, store_path: Path) -> None:
    f = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 3)
    f.write_text(f.read_text().replace("second_sim_operator", "colour", 1))
    with pytest.raises(SchemaError) as exc:
        ingest([f], store_path, key=KEY)
    assert str(f) in str(exc.value) and "'colour'" in str(exc.value)


def test_a_missing_header_line_is_a_clear_error(tmp_path: Path, store_path: Path) -> None:
    f = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 3)
    f.write_text("".join(f.read_text().splitlines(keepends=True)[1:]))
    with pytest.raises(SchemaError, match="header line missing"):
        ingest([f], store_path, key=KEY)


def test_empty_file_is_a_clear_error_and_header_only_file_loads_nothing(
    tmp_path: Path, store_path: Path
) -> None:
    empty = tmp_path / "usage_monthly.csv"
    empty.write_text("")
    with pytest.raises(SchemaError, match="empty"):
        ingest([empty], store_path)
    header_only = write_table(tmp_path / "h" / "usage_monthly.csv", "usage_monthly", 0)
    result = ingest([header_only], store_path, key=KEY)
    assert (result.read, result.loaded, result.rejected) == (0, 0, 0)


def test_the_error_names_file_line_column_value_and_what_was_expected(
    tmp_path: Path, store_path: Path
) -> None:
    f = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 30, {(20, "data_mb"): "-3"})
    with pytest.raises(IngestError) as exc:
        ingest([f], store_path, key=KEY)
    expected = f"{f}:22:data_mb: value '-3' is below the minimum 0"
    assert expected in str(exc.value)
    (err,) = exc.value.result.errors
    assert (err.file, err.line, err.column, err.value, err.reason) == (
        str(f),
        22,
        "data_mb",
        "-3",
        "is below the minimum 0",
    )
    assert str(err) == expected


CHECKS = [
    # table, column, bad text, reason fragment
    ("usage_monthly", "sms_count", "1.5", "is not an integer"),
    ("usage_monthly", "sms_count", "seven", "is not an integer"),
    ("usage_monthly", "data_mb", "12,5", "is not a number"),
    ("usage_monthly", "data_mb", "nan", "is not a finite number"),
    ("usage_monthly", "data_mb", "inf", "is not a finite number"),
    ("usage_monthly", "active_days", "32", "is above the maximum 31"),
    ("usage_monthly", "month", "2024-13", "is not a month; expected YYYY-MM, YYYYMM or YYYY-MM-01"),
    ("usage_monthly", "month", "2024-03-15", "is not the first day of a month"),
    ("usage_monthly", "month", "", "is missing; the column is required (not null)"),
    ("subscription", "activation_date", "   ", "is missing; the column is required (not null)"),
    ("usage_monthly", "subscriber_id", "SUB999999", "is not a known subscription.subscriber_id"),
    ("subscription", "brand", "gold", "is not a valid brand; expected one of premium, youth, budget"),
    ("subscription", "activation_date", "2023-02-30", "is not a date; expected YYYY-MM-DD"),
    ("subscription", "grid_id", "NOWHERE", "is not a known region.grid_id"),
    ("package", "is_5g", "maybe", "is not a boolean; expected true/false, 1/0 or yes/no"),
    ("customer", "birth_year", "1850", "is below the minimum 1900"),
    ("status_event", "event_time", "yesterday", "is not a timestamp"),
    # DuckDB's casts read these words as infinite dates or 1970-01-01; only written-out dates pass
    ("subscription", "activation_date", "inf", "is not a date; expected YYYY-MM-DD"),
    ("subscription", "activation_date", "Infinity", "is not a date; expected YYYY-MM-DD"),
    ("subscription", "activation_date", "-inf", "is not a date; expected YYYY-MM-DD"),
    ("subscription", "activation_date", "epoch", "is not a date; expected YYYY-MM-DD"),
    ("usage_monthly", "month", "infinity", "is not a month; expected YYYY-MM, YYYYMM or YYYY-MM-01"),
    ("usage_monthly", "month", "epoch", "is not a month; expected YYYY-MM, YYYYMM or YYYY-MM-01"),
    ("status_event", "event_time", "-infinity", "is not a timestamp"),
    ("status_event", "event_time", "inf", "is not a timestamp"),
    # an integer column takes whole numbers only, however they are written
    ("usage_monthly", "sms_count", "1e-1", "is not an integer"),
    ("usage_monthly", "sms_count", "2.5e0", "is not an integer"),
    ("usage_monthly", "sms_count", "15E-1", "is not an integer"),
]


@pytest.mark.parametrize(
    ("table", "column", "text", "expected"),
    [
        ("subscription", "activation_date", "inf", "is not a date; expected YYYY-MM-DD"),
        ("subscription", "activation_date", "-infinity", "is not a date; expected YYYY-MM-DD"),
        ("usage_monthly", "sms_count", "1e-1", "is not an integer"),
    ],
)
def test_infinite_dates_and_fractional_integers_are_rejected_with_the_usual_message(
    tmp_path: Path, store_path: Path, table: str, column: str, text: str, expected: str
) -> None:
    f = write_table(tmp_path / f"{table}.csv", table, 6, {(4, column): text})
    with pytest.raises(IngestError) as exc:
        ingest([f], store_path, key=KEY)
    (err,) = exc.value.result.errors
    assert str(err) == f"{f}:6:{column}: value '{text}' {expected}"
    assert (err.file, err.line, err.column, err.value, err.reason) == (str(f), 6, column, text, expected)


@pytest.mark.parametrize(("table", "column", "text", "reason"), CHECKS)
def test_each_schema_check_rejects_the_bad_cell_with_its_line(
    tmp_path: Path, store_path: Path, table: str, column: str, text: str, reason: str
) -> None:
    f = write_table(tmp_path / f"{table}.csv", table, 6, {(4, column): text})
    result = ingest([f], store_path, on_error="quarantine", key=KEY)
    assert (result.read, result.loaded, result.rejected) == (6, 5, 1)
    (err,) = result.errors
    assert (err.line, err.column, err.value) == (6, column, text)
    assert reason in err.reason


@pytest.mark.parametrize(
    ("column", "text", "stored"),
    [
        ("month", "202403", date(2024, 3, 1)),
        ("month", "2024-03-01", date(2024, 3, 1)),
        ("month", " 2024-03 ", date(2024, 3, 1)),
        ("sms_count", "+7", 7),
        ("sms_count", " 7 ", 7),
        ("data_mb", "1e3", 1000.0),
        ("sms_count", "1e3", 1000),  # whole numbers may be written with an exponent or a point
        ("sms_count", "1.5E1", 15),
        ("sms_count", "2.0", 2),
        ("month", "1970-01", date(1970, 1, 1)),  # the date the word "epoch" stands for, written out
    ],
)
def test_accepted_spellings(
    tmp_path: Path, store_path: Path, column: str, text: str, stored: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHURNRADAR_EARLIEST_DATE", "1960-01-01")  # 1970 is before the default range
    f = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 1, {(0, column): text})
    ingest([f], store_path, key=KEY)
    with Store.open(store_path) as store:
        assert store.connection.execute(f"SELECT {column} FROM usage_monthly").fetchone()[0] == stored


@pytest.mark.parametrize("text", ["TRUE", "yes", "Y" * 0 + "1", "No", "false", "0"])
def test_booleans_accept_true_false_1_0_yes_no_in_any_case(tmp_path: Path, text: str) -> None:
    f = write_table(tmp_path / "package.csv", "package", 1, {(0, "is_5g"): text})
    ingest([f], tmp_path / "s.duckdb")
    with Store.open(tmp_path / "s.duckdb") as store:
        assert store.connection.execute("SELECT is_5g FROM package").fetchone()[0] is (
            text.lower() in ("true", "yes", "1")
        )


def test_duplicate_keys_in_a_batch_reject_the_later_rows(tmp_path: Path, store_path: Path) -> None:
    a = write_table(tmp_path / "usage_monthly_a.csv", "usage_monthly", 5)
    b = tmp_path / "usage_monthly_b.csv"
    lines = a.read_text().splitlines(keepends=True)
    b.write_text(lines[0] + lines[3])  # repeats a's line 3 key in another file
    a.write_text(a.read_text() + lines[3])  # and once more in the same file, on line 7
    result = ingest([a, b], store_path, on_error="quarantine", key=KEY)
    assert (result.read, result.loaded, result.rejected) == (7, 5, 2)
    msgs = sorted(str(e) for e in result.errors)
    assert msgs == sorted(
        [
            f"{a}:7:subscriber_id, month: value 'SUB000002, 2024-01-01' duplicates the key (subscriber_id, month) "
            f"given earlier in this batch at {a}:4",
            f"{b}:2:subscriber_id, month: value 'SUB000002, 2024-01-01' duplicates the key (subscriber_id, month) "
            f"given earlier in this batch at {a}:4",
        ]
    )


def test_a_child_of_a_rejected_parent_is_rejected_too(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    paths = write_csv_dataset(folder, {**SIZES, "usage_monthly": 20})
    sub = paths["subscription"]
    lines = sub.read_text().splitlines(keepends=True)
    fields = lines[4].split(",")
    fields[lines[0].split(",").index("brand")] = "gold"
    lines[4] = ",".join(fields)
    sub.write_text("".join(lines))
    result = ingest([folder], tmp_path / "s.duckdb", on_error="quarantine", key=KEY)
    assert result.tables["subscription"].rejected == 1
    assert result.tables["usage_monthly"].rejected == 1
    child = [e for e in result.errors if e.file.endswith("usage_monthly.csv")]
    assert child[0].line == 5
    assert child[0].reason == f"refers to a subscription row refused in this batch: parent refused at {sub}:5"


def test_fail_mode_publishes_nothing_when_any_row_is_bad(tmp_path: Path, store_path: Path) -> None:
    before = snapshot(store_path)
    good = write_table(tmp_path / "ok" / "usage_monthly.csv", "usage_monthly", 10)
    bad = write_table(tmp_path / "billing_monthly.csv", "billing_monthly", 10, {(9, "balance"): "-1"})
    with pytest.raises(IngestError, match="nothing was published") as exc:
        ingest([good, bad], store_path, key=KEY)
    res = exc.value.result
    assert not res.published and res.bad_rows == 1
    assert (res.read, res.loaded, res.rejected) == (20, 0, 20)
    assert snapshot(store_path) == before


def test_quarantine_loads_good_rows_and_records_bad_ones(tmp_path: Path, store_path: Path) -> None:
    f = write_table(
        tmp_path / "usage_monthly.csv",
        "usage_monthly",
        10,
        {(2, "data_mb"): "-3", (2, "sms_count"): "x", (7, "month"): "13"},
    )
    result = ingest([f], store_path, on_error="quarantine", key=KEY)
    assert (result.read, result.loaded, result.rejected) == (10, 8, 2)
    assert result.error_count == 3
    with Store.open(store_path) as store:
        assert store.table_counts()["usage_monthly"] == 8
        rejects = store.rejects(result.batch_id)
        assert [(r["line"], r["column_name"], r["value"]) for r in rejects] == [
            (4, "data_mb", "-3"),
            (4, "sms_count", "x"),
            (9, "month", "13"),
        ]
        assert {r["table_name"] for r in rejects} == {"usage_monthly"} and rejects[0]["file"] == str(f)


def test_ingesting_the_same_file_twice_does_not_duplicate_rows(tmp_path: Path, store_path: Path) -> None:
    f = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 25)
    first = ingest([f], store_path, key=KEY)
    second = ingest([f], store_path, key=KEY)
    assert first.loaded == second.loaded == second.read == 25
    with Store.open(store_path) as store:
        assert store.table_counts()["usage_monthly"] == 25
        assert len(store.batches()) == 3


def test_a_later_batch_replaces_rows_with_the_same_key(tmp_path: Path, store_path: Path) -> None:
    f = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 5)
    ingest([f], store_path, key=KEY)
    g = write_table(tmp_path / "again" / "usage_monthly.csv", "usage_monthly", 5, {(1, "sms_count"): "99"})
    ingest([g], store_path, key=KEY)
    with Store.open(store_path) as store:
        rows = store.connection.execute(
            "SELECT subscriber_id, sms_count FROM usage_monthly ORDER BY 1"
        ).fetchall()
    assert len(rows) == 5 and rows[1] == ("SUB000001", 99)


def test_line_numbers_count_blank_and_unparsable_lines(tmp_path: Path, store_path: Path) -> None:
    f = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 8, {(6, "data_mb"): "-1"})
    lines = f.read_text().splitlines()
    # header=1, rows 0..7 on lines 2..9; insert a blank line after line 3 and a short line after line 5
    lines.insert(3, "")
    lines.insert(5, "SUB000009,2024-02")
    f.write_text("\n".join(lines) + "\n")
    result = ingest([f], store_path, on_error="quarantine", key=KEY)
    assert (result.read, result.loaded, result.rejected) == (9, 7, 2)
    got = [(e.line, e.column) for e in result.errors]
    assert got == [(6, None), (10, "data_mb")]
    assert "fewer fields than the header" in result.errors[0].reason


def test_progress_reports_every_file(tmp_path: Path, store_path: Path) -> None:
    f = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 5)
    calls: list[tuple[str, float, float | None]] = []
    ingest(
        [f], store_path, key=KEY, progress=lambda task, done, total=None: calls.append((task, done, total))
    )
    assert (str(f), 4, 4) in calls and ("publish", 1, 1) in calls


def test_cli_json_output(
    tmp_path: Path, store_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    key_file = tmp_path / "hmac.key"
    key_file.write_bytes(KEY + b"\n")
    f = write_table(tmp_path / "usage_monthly.csv", "usage_monthly", 6, {(1, "active_days"): "40"})
    args = ["ingest", str(f), "--store", str(store_path), "--key-file", str(key_file), "--json"]
    assert main(args) == 1  # fail mode: nothing published, exit 1
    out = json.loads(capsys.readouterr().out)
    assert out["published"] is False and out["read"] == 6 and out["loaded"] == 0 and out["rejected"] == 6
    assert main([*args, "--on-error", "quarantine"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"read", "loaded", "rejected", "tables", "errors", "batch_id"} <= set(out)
    assert (out["read"], out["loaded"], out["rejected"]) == (6, 5, 1)
    assert out["tables"] == {"usage_monthly": {"read": 6, "loaded": 5, "rejected": 1, "replaced": 0}}
    assert out["errors"][0]["message"] == f"{f}:3:active_days: value '40' is above the maximum 31"


def test_cli_errors_are_one_red_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "usage.csv"
    f.write_text("a\n1\n")
    assert main(["ingest", str(f), "--store", str(tmp_path / "s.duckdb")]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "usage.csv" in err


def test_invalid_options_are_refused(tmp_path: Path) -> None:
    write_csv_dataset(tmp_path / "in", {"region": 2})
    with pytest.raises(ChurnRadarError, match="on_error"):
        ingest([tmp_path / "in"], tmp_path / "s.duckdb", on_error="ignore")
    with pytest.raises(ChurnRadarError, match="encoding 'klingon'"):
        ingest([tmp_path / "in"], tmp_path / "s.duckdb", encoding="klingon")
    with pytest.raises(ChurnRadarError, match="no such file"):
        ingest([tmp_path / "missing.csv"], tmp_path / "s.duckdb")


def test_a_parquet_column_of_another_type_refuses_the_file(tmp_path: Path, store_path: Path) -> None:
    import duckdb

    csv = write_table(tmp_path / "u.csv", "usage_monthly", 3)
    pq = tmp_path / "usage_monthly.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (DATE '2024-01-01' AS sms_count) FROM read_csv('{csv}')) TO '{pq}' (FORMAT parquet)"
    )
    con.close()
    with pytest.raises(SchemaError) as exc:
        ingest([pq], store_path, key=KEY)
    assert str(exc.value) == (
        f"{pq}: column 'sms_count' is DATE in the file; column sms_count holds int values, so expected "
        "an integer or a whole number or text"
    )


def test_duplicate_keys_are_found_across_files_and_tables_of_one_batch(tmp_path: Path) -> None:
    """The cheap pre-check of duplicate keys (sorted key hashes) finds every duplicate the exact
    check finds: one repeated key per table, in another file of the same table."""
    folder = tmp_path / "in"
    write_csv_dataset(folder, {**parent_sizes(10), "usage_monthly": 20})
    extra = {}
    for name in ("customer", "usage_monthly"):
        lines = (folder / f"{name}.csv").read_text().splitlines(keepends=True)
        extra[name] = lines[4]
        (folder / f"{name}_more.csv").write_text(lines[0] + lines[4])
    result = ingest([folder], tmp_path / "s.duckdb", on_error="quarantine", key=KEY)
    dups = sorted((Path(e.file).name, e.line) for e in result.errors if "duplicates the key" in e.reason)
    assert dups == [("customer_more.csv", 2), ("usage_monthly_more.csv", 2)]
    assert result.loaded + result.rejected == result.read
