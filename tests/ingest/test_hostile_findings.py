"""One test per finding of the hostile review of ingest: truncated and fake gzip, poison values,
raw identifiers outside the boundary, binary garbage, phantom keys and misread encodings."""

from __future__ import annotations

import codecs
import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import duckdb
import pytest
from tests.ingest._data import csv_text, dataset, files_holding, parent_sizes
from tests.ingest.conftest import KEY, snapshot

from churnradar.cli import main
from churnradar.errors import IngestError, SchemaError
from churnradar.ingest import ingest
from churnradar.store import Store

SIZES = parent_sizes(20)


def usage_text(n: int = 400) -> str:
    """``n`` usage rows of the 20 subscribers of the store's parents (``n / 20`` months from 2024-01)."""
    header, body = dataset({**SIZES, "usage_monthly": n})["usage_monthly"]
    return csv_text(header, body)


def table_file(
    path: Path, table: str, n: int, edits: dict[tuple[int, str], str], encoding: str = "utf-8"
) -> Path:
    header, body = dataset({**SIZES, table: n})[table]
    for (i, col), text in edits.items():
        body[i][header.index(col)] = text
    path.write_text(csv_text(header, body), encoding=encoding)
    return path


# -- 2. compressed input is read to its end or refused ------------------------------------------


def test_a_gzip_file_truncated_at_a_line_boundary_is_refused_and_nothing_loads(
    tmp_path: Path, store_path: Path
) -> None:
    text = usage_text()
    lines = text.splitlines(keepends=True)
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    cut = c.compress("".join(lines[:401]).encode()) + c.flush(zlib.Z_SYNC_FLUSH)  # no end marker
    f = tmp_path / "usage_monthly.csv.gz"
    f.write_bytes(cut)
    before = snapshot(store_path)
    with pytest.raises(SchemaError) as exc:
        ingest([f], store_path, key=KEY)
    assert str(exc.value).startswith(f"{f}: the gzip data end at byte {len(cut):,}")
    assert "truncated" in str(exc.value)
    assert snapshot(store_path) == before


def test_a_gzip_file_cut_mid_stream_is_refused_with_its_size(tmp_path: Path, store_path: Path) -> None:
    data = gzip.compress(usage_text(600).encode())
    f = tmp_path / "usage_monthly.csv.gz"
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(SchemaError, match=r"truncated"):
        ingest([f], store_path, key=KEY)


def test_a_corrupt_gzip_file_is_refused_with_the_byte_offset(tmp_path: Path, store_path: Path) -> None:
    data = bytearray(gzip.compress(usage_text(600).encode()))
    for i in range(len(data) // 2, len(data) // 2 + 40):
        data[i] ^= 0xFF
    f = tmp_path / "usage_monthly.csv.gz"
    f.write_bytes(bytes(data))
    with pytest.raises(SchemaError) as exc:
        ingest([f], store_path, key=KEY)
    msg = str(exc.value)
    assert msg.startswith(f"{f}: corrupt gzip data after compressed byte ") or "truncated" in msg, msg


def test_a_plain_file_named_gz_is_refused_naming_the_file(tmp_path: Path, store_path: Path) -> None:
    f = tmp_path / "usage_monthly.csv.gz"
    f.write_text(usage_text(10))
    with pytest.raises(SchemaError) as exc:
        ingest([f], store_path, key=KEY)
    assert str(exc.value).startswith(f"{f}: not a gzip file (it begins with bytes 73 75 62 73)")


def test_a_complete_multi_member_gzip_file_loads_every_row(tmp_path: Path, store_path: Path) -> None:
    text = usage_text(600)
    head, rest = text.split("\n", 1)
    lines = rest.splitlines(keepends=True)
    f = tmp_path / "usage_monthly.csv.gz"
    f.write_bytes(
        gzip.compress((head + "\n" + "".join(lines[:300])).encode())
        + gzip.compress("".join(lines[300:]).encode())
    )
    result = ingest([f], store_path, key=KEY)
    assert (result.read, result.loaded) == (600, 600)


# -- 4. poison values are rejected with their reason --------------------------------------------

POISON = [
    ("subscription", "activation_date", "2025-02-01 (BC)", "is not a date"),
    ("subscription", "activation_date", "-2024-01-05", "is not a date"),
    ("subscription", "activation_date", "9999-01-01", "is outside the plausible range 1980-01-01"),
    ("subscription", "activation_date", "12024-01-01", "is not a date"),
    ("subscription", "activation_date", "294247-01-01", "is not a date"),
    ("subscription", "activation_date", "2024/01/05", "is not a date; expected YYYY-MM-DD"),
    ("subscription", "activation_date", "2024-01-05 10:00:00", "is not a date; expected YYYY-MM-DD"),
    ("subscription", "activation_date", "1899-12-31", "is outside the plausible range"),
    ("status_event", "event_time", "2025-02-01 10:00:00 (BC)", "is not a timestamp"),
    ("status_event", "event_time", "294247-01-01 00:00:00", "is not a timestamp"),
    ("status_event", "event_time", "2024/01/05 10:00:00", "is not a timestamp"),
    ("usage_monthly", "month", "9999-01", "is outside the plausible range"),
    ("usage_monthly", "month", "2024/01/01", "is not a month"),
    ("usage_monthly", "sms_count", "0x10", "is not an integer"),
    ("usage_monthly", "sms_count", "0b101", "is not an integer"),
    ("usage_monthly", "sms_count", "1_000", "is not an integer"),
    ("usage_monthly", "data_mb", "1_000.5", "is not a number"),
    ("subscription", "msisdn", "NULL", "is not a phone number"),
    ("subscription", "msisdn", "abc", "is not a phone number"),
    ("subscription", "msisdn", "0", "is not a phone number"),
    ("subscription", "msisdn", "1" * 300, "is not a phone number"),
    ("subscription", "msisdn", "１３８００１３８０００", "is not a phone number"),
    ("customer", "certificate_no", "110101199003071234", "is not a certificate number"),  # bad check
    ("usage_monthly", "imei", "86000000000000000001", "is not an IMEI"),
    ("region", "grid_name", "x" * 1001, "is longer than 1,000 characters"),
    ("package", "package_id", "P" * 65, "is longer than 64 characters"),
]


@pytest.mark.parametrize(("table", "column", "value", "reason"), POISON)
def test_a_poison_value_is_rejected_with_its_reason(
    tmp_path: Path, table: str, column: str, value: str, reason: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, (header, body) in dataset({**SIZES, table: SIZES.get(table, 3)}).items():
        if name == table:
            body[1][header.index(column)] = value
        (folder / f"{name}.csv").write_text(csv_text(header, body))
    with pytest.raises(IngestError) as exc:
        ingest([folder], tmp_path / "s.duckdb", key=KEY)
    errors = [e for e in exc.value.result.errors if e.column == column]  # type: ignore[attr-defined]
    assert errors and errors[0].line == 3, exc.value
    assert errors[0].reason.startswith(reason) or reason in errors[0].reason, errors[0]


def test_poison_numbers_are_rejected_on_both_csv_readings(tmp_path: Path, store_path: Path) -> None:
    """``1_000`` passes DuckDB's CSV number parser: the file is then read as text, which refuses it."""
    f = table_file(tmp_path / "usage_monthly.csv", "usage_monthly", 50, {(10, "voice_out_min"): "1_000"})
    result = ingest([f], store_path, key=KEY, on_error="quarantine")
    assert (result.read, result.loaded, result.rejected) == (50, 49, 1)
    assert result.errors[0].line == 12 and result.errors[0].reason == "is not a number"


def test_a_parquet_boolean_in_an_integer_column_refuses_the_file(tmp_path: Path, store_path: Path) -> None:
    src = table_file(tmp_path / "u.csv", "usage_monthly", 3, {})
    pq = tmp_path / "usage_monthly.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (sms_count > 1 AS sms_count) FROM read_csv('{src}')) TO '{pq}' (FORMAT parquet)"
    )
    con.close()
    with pytest.raises(
        SchemaError, match=r"column 'sms_count' is BOOLEAN in the file; column sms_count holds int"
    ):
        ingest([pq], store_path, key=KEY)


def test_a_ten_megabyte_string_through_parquet_is_rejected(tmp_path: Path, store_path: Path) -> None:
    src = table_file(tmp_path / "r.csv", "region", 2, {})
    pq = tmp_path / "region.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE ('NEW' || grid_id AS grid_id, CASE WHEN grid_id LIKE '%1' THEN repeat('x', 10000000) "
        f"ELSE grid_name END AS grid_name) FROM read_csv('{src}', all_varchar=true)) TO '{pq}' (FORMAT parquet)"
    )
    con.close()
    result = ingest([pq], store_path, key=KEY, on_error="quarantine")
    assert (result.loaded, result.rejected) == (1, 1)
    assert result.errors[0].reason == "is longer than 1,000 characters"
    assert len(result.errors[0].value or "") <= 100


def test_far_dates_cannot_reach_the_store_so_labels_and_reports_run(tmp_path: Path, store_path: Path) -> None:
    f = table_file(
        tmp_path / "status_event.csv", "status_event", 5, {(0, "event_time"): "9999-12-31 00:00:00"}
    )
    result = ingest([f], store_path, key=KEY, on_error="quarantine")
    assert result.rejected == 1
    with Store.open(store_path) as st:
        latest = st.connection.execute("SELECT max(event_time) FROM status_event").fetchone()[0]
    assert latest is None or latest.year < 2100  # Python can read back every stored date


# -- 5. raw identifiers stay inside the boundary ------------------------------------------------


def test_a_phone_number_in_a_non_identifier_column_is_masked_everywhere(
    tmp_path: Path, store_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    phone, cert = "13912345678", "110101199003071233"
    f = table_file(
        tmp_path / "usage_monthly.csv",
        "usage_monthly",
        5,
        {(1, "sms_count"): phone, (2, "second_sim_operator"): cert},
    )
    monkeypatch.setenv("CHURNRADAR_HMAC_KEY", KEY.decode())
    code = main(["ingest", str(f), "--store", str(store_path), "--json", "--on-error", "quarantine"])
    out = capsys.readouterr()
    assert code == 0
    assert phone not in out.out + out.err and cert not in out.out + out.err
    values = {e["value"] for e in json.loads(out.out)["errors"]}
    assert "139****5678" in values
    with Store.open(store_path) as st:
        stored = [r[0] for r in st.connection.execute("SELECT value FROM _rejects").fetchall()]
    assert stored and not any(phone in (v or "") or cert in (v or "") for v in stored)


def test_a_phone_number_in_a_key_column_is_masked_in_foreign_key_errors(
    tmp_path: Path, store_path: Path
) -> None:
    f = table_file(tmp_path / "usage_monthly.csv", "usage_monthly", 3, {(0, "subscriber_id"): "13912345678"})
    with pytest.raises(IngestError) as exc:
        ingest([f], store_path, key=KEY)
    assert "13912345678" not in str(exc.value) and "139****5678" in str(exc.value)


def _raw_values() -> list[str]:
    """Every raw identifier the GBK test files hold."""
    out = []
    for table in ("customer", "subscription"):
        header, body = dataset(SIZES)[table]
        for col in ("certificate_no", "msisdn"):
            if col in header:
                out += [r[header.index(col)] for r in body]
    return out


def test_the_transcoded_copy_has_no_name_while_ingest_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    folder = tmp_path / "in"
    folder.mkdir()
    for name, (header, body) in dataset(SIZES).items():
        if name in ("customer", "subscription"):  # a GBK character makes the files GBK: copied
            body[0][header.index("gender" if name == "customer" else "brand")] = "女"
        (folder / f"{name}.csv").write_text(csv_text(header, body), encoding="gbk")
    seen: list[str] = []

    def progress(task: str, done: float, total: float) -> None:
        seen.extend(files_holding(tmp, {v.encode() for v in _raw_values()}))

    result = ingest([folder], tmp_path / "s.duckdb", key=KEY, progress=progress, on_error="quarantine")
    assert {f.encoding for f in result.files if f.table in ("customer", "subscription")} == {"gb18030"}
    assert seen == []
    assert list(tmp.iterdir()) == []  # the working folder is gone too


def test_the_working_folder_of_a_killed_ingest_is_removed_by_the_next(tmp_path: Path) -> None:
    from churnradar.ingest import tempfiles

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    stale = tmp_path / f"{tempfiles.PREFIX}{pid}-abc123"
    (stale / "duckdb").mkdir(parents=True)
    (stale / "duckdb" / "spill.tmp").write_text("13912345678")
    mine = tmp_path / f"{tempfiles.PREFIX}{os.getpid()}-def456"
    mine.mkdir()
    assert tempfiles.remove_stale(tmp_path) == [stale]
    assert not stale.exists() and mine.exists()


# -- 6. smaller findings ------------------------------------------------------------------------


def test_a_line_of_binary_garbage_is_one_rejected_line_in_quarantine(
    tmp_path: Path, store_path: Path
) -> None:
    lines = usage_text(400).encode().splitlines(keepends=True)
    lines.insert(5, bytes(range(256)).replace(b"\n", b"") + b"\n")  # line 6
    f = tmp_path / "usage_monthly.csv"
    f.write_bytes(b"".join(lines))
    result = ingest([f], store_path, key=KEY, on_error="quarantine")
    assert (result.read, result.loaded, result.rejected) == (401, 400, 1)
    assert result.errors[0].line == 6 and result.errors[0].reason.startswith("line holds binary data")


def test_keys_differing_by_spaces_or_case_are_one_key(tmp_path: Path) -> None:
    header, body = dataset({"region": 2})["region"]
    variant = list(body[0])
    variant[0] = " " + variant[0].lower() + " "
    f = tmp_path / "region.csv"
    f.write_text(csv_text(header, [*body, variant]))
    result = ingest([f], tmp_path / "s.duckdb", on_error="quarantine")
    assert (result.loaded, result.rejected) == (2, 1)
    assert "duplicates the key" in result.errors[0].reason
    with Store.open(tmp_path / "s.duckdb") as st:
        assert st.connection.execute("SELECT count(DISTINCT grid_id) FROM region").fetchone()[0] == 2


def test_a_foreign_key_in_another_case_finds_its_parent(tmp_path: Path, store_path: Path) -> None:
    header, body = dataset({**SIZES, "usage_monthly": 2})["usage_monthly"]
    body[0][0] = " " + body[0][0].lower()
    f = tmp_path / "usage_monthly.csv"
    f.write_text(csv_text(header, body))
    assert ingest([f], store_path, key=KEY).loaded == 2


def test_a_gbk_file_whose_bytes_are_valid_utf8_loads_its_chinese(tmp_path: Path) -> None:
    name = "隆芦"  # common characters whose GBK bytes are also valid UTF-8 ("¡«")
    assert name.encode("gbk").decode("utf-8") == "¡«"  # the premise
    edits = {(i, col): name for i in range(3) for col in ("grid_name", "county_name", "city")}
    f = table_file(tmp_path / "region.csv", "region", 3, edits, "gbk")
    ingest([f], tmp_path / "s.duckdb")
    with Store.open(tmp_path / "s.duckdb") as st:
        names = {r[0] for r in st.connection.execute("SELECT grid_name FROM region").fetchall()}
    assert name in names


def test_a_gbk_file_with_a_utf8_byte_order_mark_loads(tmp_path: Path) -> None:
    f = table_file(tmp_path / "region.csv", "region", 3, {}, "gbk")
    f.write_bytes(codecs.BOM_UTF8 + f.read_bytes())
    result = ingest([f], tmp_path / "s.duckdb")
    assert (result.read, result.loaded) == (3, 3)
    with Store.open(tmp_path / "s.duckdb") as st:
        names = {r[0] for r in st.connection.execute("SELECT county_name FROM region").fetchall()}
    assert names <= set(dataset({"region": 3})["region"][1][i][3] for i in range(3))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_file_with_its_byte_order_mark_loads(tmp_path: Path, encoding: str) -> None:
    f = table_file(tmp_path / "region.csv", "region", 3, {})
    text = f.read_text(encoding="utf-8")
    bom = {"utf-16": b"", "utf-16-be": codecs.BOM_UTF16_BE, "utf-32": b""}[encoding]
    f.write_bytes(bom + text.encode(encoding))
    result = ingest([f], tmp_path / "s.duckdb")
    assert (result.read, result.loaded) == (3, 3)


def test_a_utf16_file_without_byte_order_mark_gets_a_clear_message(tmp_path: Path) -> None:
    f = table_file(tmp_path / "region.csv", "region", 3, {})
    f.write_bytes(f.read_text().encode("utf-16-le"))
    with pytest.raises(SchemaError, match=r"region.csv:1: the header line holds binary data.*utf-16"):
        ingest([f], tmp_path / "s.duckdb")


def test_a_second_batch_says_how_many_stored_rows_it_replaced(tmp_path: Path, store_path: Path) -> None:
    header, body = dataset({**SIZES, "usage_monthly": 40})["usage_monthly"]
    first = tmp_path / "usage_monthly.csv"
    first.write_text(csv_text(header, body[:30]))
    assert ingest([first], store_path, key=KEY).replaced == 0
    second = tmp_path / "usage_monthly_again.csv"
    second.write_text(csv_text(header, body[20:]))  # 10 rows already stored, 10 new
    result = ingest([second], store_path, key=KEY)
    assert (result.loaded, result.replaced, result.tables["usage_monthly"].replaced) == (20, 10, 10)
    assert result.to_dict()["replaced"] == 10
    with Store.open(store_path) as st:
        assert st.connection.execute("SELECT count(*) FROM usage_monthly").fetchone()[0] == 40
        tables = st.connection.execute(
            "SELECT tables FROM _batch ORDER BY created_at DESC LIMIT 1"
        ).fetchone()[0]
    assert json.loads(tables)["usage_monthly"]["replaced"] == 10
