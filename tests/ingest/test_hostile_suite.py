"""The hostile suite of ingest (marked ``hostile``; run in CI): hundreds of corrupted files and
SIGKILLs during ingest of raw identifiers.

Every corrupted file is ingested twice into a copy of a store holding the parent tables:

- ``fail`` mode: either the batch is clean and published, or it is refused with a
  :class:`ChurnRadarError` and the store file is byte-identical to before;
- ``quarantine`` mode: either refused (byte-identical store), or published with
  ``loaded + rejected == read`` per file, and ``read`` equal to the data lines the file holds.

No other exception may escape. The corruptions are seeded, so a failure names a reproducible case.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from tests.ingest._data import csv_text, dataset, files_holding, parent_sizes, write_csv_dataset

from churnradar.errors import ChurnRadarError
from churnradar.ingest import ingest

pytestmark = pytest.mark.hostile

KEY = b"hostile-suite-key-0123456789abcdef"
SIZES = parent_sizes(20)
USAGE_ROWS = 300  # 15 months of the 20 subscribers, 2024-01 … 2025-03


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    data: bytes
    #: data lines the file holds, when they can be counted from its text (None: a quote or a
    #: compression damage makes the count depend on the reader)
    lines: int | None


def _usage() -> tuple[list[str], list[list[str]]]:
    return dataset({**SIZES, "usage_monthly": USAGE_ROWS})["usage_monthly"]


def _text(header: list[str], body: list[list[str]]) -> str:
    return csv_text(header, body)


def _count(data: bytes) -> int:
    """Non-blank lines after the header."""
    lines = data.split(b"\n")
    return sum(1 for x in lines[1:] if x.strip(b"\r"))


POISON_CELLS = [
    (
        "month",
        [
            "2025-02-01 (BC)",
            "-2024-01",
            "9999-01",
            "12024-01",
            "2024/01",
            "2024-01-05 10:00",
            "0000-00",
            "2024-13",
        ],
    ),
    ("sms_count", ["0x10", "0b101", "1_000", "1,000", "１２", "1e999", "-1", "9" * 40, "nan", "NULL", " "]),
    ("data_mb", ["inf", "-inf", "1_000.5", "0x1p3", "1e400", "١٢", "--1", "1..2"]),
    ("imei", ["NULL", "abc", "0", "1" * 300, "８６００００００００００００１", "86000000000000X"]),
    (
        "subscriber_id",
        ["", " ", "U" * 200, "13912345678", "'; DROP TABLE usage_monthly; --", '=HYPERLINK("x")'],
    ),
    ("active_days", ["32", "-1", "1.5", "true", "1e-1"]),
]


def poison_cases(rng: random.Random) -> list[Case]:
    header, body = _usage()
    out = []
    for column, values in POISON_CELLS:
        j = header.index(column)
        for v in values:
            for _ in range(2):
                rows = [list(r) for r in body]
                i = rng.randrange(len(rows))
                rows[i][j] = v
                data = _text(header, rows).encode()
                out.append(
                    Case(f"poison-{column}-{v[:12]!r}-row{i}", "usage_monthly.csv", data, _count(data))
                )
    return out


def garbage_cases(rng: random.Random) -> list[Case]:
    header, body = _usage()
    base = _text(header, body).encode().split(b"\n")
    out = []
    for k in range(70):
        lines = list(base)
        n = 1 + k % 3
        for _ in range(n):
            pos = rng.randrange(1, len(lines) - 1)
            kind = k % 5
            if kind == 0:
                junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120))).replace(b"\n", b"")
            elif kind == 1:
                junk = b"\x00" * rng.randrange(1, 50)
            elif kind == 2:
                junk = bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randrange(2, 60)))  # not UTF-8
            elif kind == 3:
                junk = lines[pos] + b"\x1b[31m\x07"  # terminal escapes in a good line
            else:
                junk = b",".join(
                    bytes(rng.randrange(32, 127) for _ in range(5)) for _ in range(rng.randrange(1, 20))
                )
            lines.insert(pos, junk)
        data = b"\n".join(lines)
        has_quote = b'"' in data.split(b"\n", 1)[1]
        out.append(Case(f"garbage-{k}", "usage_monthly.csv", data, None if has_quote else _count(data)))
    return out


def structure_cases(rng: random.Random) -> list[Case]:
    header, body = _usage()
    text = _text(header, body)
    lines = text.split("\n")
    out = []
    for k in range(40):
        ls = list(lines)
        i = rng.randrange(1, len(ls) - 1)
        kind = k % 8
        if kind == 0:
            ls[i] = ls[i].replace(",", "", 1)  # a field fewer
        elif kind == 1:
            ls[i] = ls[i] + ",extra"  # a field more
        elif kind == 2:
            ls[i] = '"' + ls[i]  # an unterminated quote
        elif kind == 3:
            ls.insert(i, "")  # a blank line
        elif kind == 4:
            ls[i] = ls[i] + "\r"  # CRLF on one line only
        elif kind == 5:
            ls = ls[: i + 1]
            ls[-1] = ls[-1][: max(1, len(ls[-1]) // 2)]  # the file cut in the middle of a line
        elif kind == 6:
            ls[i] = ls[i].replace(",", ";")  # another delimiter on one line
        else:
            ls[i] = ls[i] + "," * 500  # many empty fields
        data = "\n".join(ls).encode()
        out.append(
            Case(f"structure-{kind}-{k}", "usage_monthly.csv", data, None if kind == 2 else _count(data))
        )
    return out


def encoding_cases(rng: random.Random) -> list[Case]:
    header, body = dataset(SIZES)["region"]
    text = _text(header, body)
    out = []
    variants: list[tuple[str, bytes]] = [
        ("utf8", text.encode()),
        ("utf8-bom", codecs.BOM_UTF8 + text.encode()),
        ("gbk", text.encode("gbk")),
        ("gbk-bom", codecs.BOM_UTF8 + text.encode("gbk")),
        ("gb18030", text.encode("gb18030")),
        ("utf16", text.encode("utf-16")),
        ("utf16-be-bom", codecs.BOM_UTF16_BE + text.encode("utf-16-be")),
        ("utf16-le-nobom", text.encode("utf-16-le")),
        ("utf32", text.encode("utf-32")),
        ("big5", text.encode("big5", errors="replace")),
        ("latin1", text.encode("utf-8").decode("latin-1").encode("latin-1")),
        ("crlf", text.replace("\n", "\r\n").encode()),
        ("cr-only", text.replace("\n", "\r").encode()),
    ]
    for name, data in variants:
        out.append(Case(f"encoding-{name}", "region.csv", data, None))
    # mixed encodings, line by line
    lines = text.split("\n")
    for k in range(27):
        enc = ("gbk", "utf-8", "utf-16-le")
        picks = [enc[rng.randrange(2 if k % 3 else 3)] for _ in lines]
        data = b"\n".join(line.encode(e) for line, e in zip(lines, picks, strict=True))
        out.append(Case(f"encoding-mixed-{k}", "region.csv", data, None))
    return out


def gzip_cases(rng: random.Random) -> list[Case]:
    header, body = _usage()
    raw = _text(header, body).encode()
    whole = gzip.compress(raw)
    out = [Case("gzip-whole", "usage_monthly.csv.gz", whole, _count(raw))]
    for _k in range(20):
        cut = rng.randrange(10, len(whole) - 1)
        out.append(Case(f"gzip-cut-{cut}", "usage_monthly.csv.gz", whole[:cut], None))
    for _k in range(20):
        b = bytearray(whole)
        pos = rng.randrange(10, len(b) - 8)
        b[pos] ^= 1 << rng.randrange(8)
        out.append(Case(f"gzip-flip-{pos}", "usage_monthly.csv.gz", bytes(b), None))
    lines = raw.split(b"\n")
    for _k in range(8):  # a stream ended cleanly at a line boundary, but without its end marker
        n = rng.randrange(2, len(lines) - 1)
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        out.append(
            Case(
                f"gzip-noend-{n}",
                "usage_monthly.csv.gz",
                c.compress(b"\n".join(lines[:n]) + b"\n") + c.flush(zlib.Z_SYNC_FLUSH),
                None,
            )
        )
    out += [
        Case("gzip-plain-text", "usage_monthly.csv.gz", raw, None),
        Case("gzip-trailing-garbage", "usage_monthly.csv.gz", whole + b"garbage", None),
        Case("gzip-trailing-zeros", "usage_monthly.csv.gz", whole + b"\0" * 64, _count(raw)),
        Case(
            "gzip-two-members",
            "usage_monthly.csv.gz",
            gzip.compress(raw[: len(raw) // 2]) + gzip.compress(raw[len(raw) // 2 :]),
            _count(raw),
        ),
        Case("gzip-empty", "usage_monthly.csv.gz", b"", None),
        Case("gzip-header-only", "usage_monthly.csv.gz", whole[:10], None),
    ]
    return out


PARQUET_TYPES = [
    ("sms_count", "BOOLEAN", "sms_count > 1"),
    ("sms_count", "DATE", "DATE '2024-01-01'"),
    ("sms_count", "VARCHAR", "CASE WHEN random() < 0.1 THEN '0x10' ELSE CAST(sms_count AS VARCHAR) END"),
    ("sms_count", "DOUBLE", "sms_count + 0.5"),
    ("sms_count", "HUGEINT", "CAST(sms_count AS HUGEINT) * 100000000000000000000"),
    ("data_mb", "VARCHAR", "'1_000.5'"),
    ("data_mb", "BOOLEAN", "true"),
    ("month", "TIMESTAMP", "CAST(month || '-01' AS TIMESTAMP) + INTERVAL 3 HOUR"),
    ("month", "VARCHAR", "'2024/01/01'"),
    ("month", "INTEGER", "202401"),
    ("month", "DATE", "DATE '9999-01-01'"),
    ("month", "DATE", "DATE '0001-01-01' - INTERVAL 1000 YEAR"),
    ("subscriber_id", "INTEGER", "42"),
    ("subscriber_id", "VARCHAR", "repeat('x', 10000000)"),
    ("subscriber_id", "BLOB", "CAST('abc' AS BLOB)"),
    ("subscriber_id", "DOUBLE", "1.5"),
    ("imei", "BIGINT", "86000000000000"),
    ("imei", "VARCHAR", "'NULL'"),
    ("imei", "DOUBLE", "8.6e14"),
    ("active_days", "VARCHAR", "'abc'"),
    ("active_days", "BIGINT", "9223372036854775807"),
    ("voice_out_min", "DOUBLE", "'nan'::DOUBLE"),
    ("voice_out_min", "DECIMAL(18,3)", "CAST(voice_out_min AS DECIMAL(18,3))"),
    ("voice_out_min", "FLOAT", "CAST('inf' AS FLOAT)"),
    ("second_sim_operator", "INTEGER", "7"),
    ("second_sim_operator", "LIST", "[1, 2]"),
    ("second_sim_operator", "STRUCT", "{'a': 1}"),
    ("month", "VARCHAR", "'2024-01-01 00:00:00'"),
    ("sms_count", "UBIGINT", "CAST(18446744073709551615 AS UBIGINT)"),
    ("data_mb", "INTEGER", "CAST(data_mb AS INTEGER)"),
]


def parquet_cases(tmp: Path) -> list[Case]:
    header, body = _usage()
    src = tmp / "usage_src.csv"
    src.write_text(_text(header, body))
    out = []
    con = duckdb.connect()
    try:
        for k, (column, typ, expr) in enumerate(PARQUET_TYPES):
            dst = tmp / f"pq{k}.parquet"
            con.execute(f"SELECT setseed(0.{k + 1})")
            con.execute(
                f"COPY (SELECT * REPLACE ({expr} AS {column}) FROM read_csv('{src}', header=true, "
                f"types={{'imei': 'VARCHAR', 'second_sim_operator': 'VARCHAR', 'month': 'VARCHAR'}})) TO '{dst}' (FORMAT parquet)"
            )
            out.append(
                Case(f"parquet-{column}-{typ}-{k}", "usage_monthly.parquet", dst.read_bytes(), USAGE_ROWS)
            )
        # a damaged Parquet file
        data = (tmp / "pq0.parquet").read_bytes()
        out.append(Case("parquet-cut", "usage_monthly.parquet", data[: len(data) // 2], None))
        out.append(
            Case(
                "parquet-flip",
                "usage_monthly.parquet",
                data[:100] + bytes([data[100] ^ 0xFF]) + data[101:],
                None,
            )
        )
    finally:
        con.close()
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def parent_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    write_csv_dataset(root / "parents", SIZES)
    ingest([root / "parents"], root / "parents.duckdb", key=KEY)
    return root / "parents.duckdb"


CASE_MAKERS: list[Callable[[random.Random], list[Case]]] = [
    poison_cases,
    garbage_cases,
    structure_cases,
    encoding_cases,
    gzip_cases,
]


def all_cases(tmp: Path) -> list[Case]:
    rng = random.Random(20261206)
    cases = [c for make in CASE_MAKERS for c in make(rng)]
    return cases + parquet_cases(tmp)


def _ingest_checked(case: Case, file: Path, store: Path, on_error: str) -> str:
    before = _sha(store)
    try:
        result = ingest([file], store, key=KEY, on_error=on_error)
    except ChurnRadarError as exc:
        assert _sha(store) == before, f"{case.name}: the store changed although the batch was refused ({exc})"
        assert str(exc).strip(), case.name
        return "refused"
    assert result.published, case.name
    for rep in result.files:
        assert rep.loaded + rep.rejected == rep.read, (case.name, rep)
    assert result.loaded + result.rejected == result.read, case.name
    if case.lines is not None:
        assert result.read == case.lines, (case.name, result.read, case.lines)
    return "loaded" if result.rejected == 0 else "quarantined"


def test_corrupted_files_load_cleanly_or_are_refused_whole(parent_store: Path, tmp_path: Path) -> None:
    cases = all_cases(tmp_path)
    assert len(cases) >= 300, len(cases)
    outcomes: dict[str, int] = {}
    for k, case in enumerate(cases):
        folder = tmp_path / f"c{k}"
        folder.mkdir()
        file = folder / case.filename
        file.write_bytes(case.data)
        for mode in ("fail", "quarantine"):
            store = folder / f"{mode}.duckdb"
            shutil.copyfile(parent_store, store)
            try:
                outcome = _ingest_checked(case, file, store, mode)
            except ChurnRadarError:
                raise
            except AssertionError:
                raise
            except Exception as exc:  # anything else is a crash
                raise AssertionError(f"{case.name} ({mode}): {type(exc).__name__}: {exc}") from exc
            if mode == "fail":
                assert outcome in ("loaded", "refused"), (case.name, outcome)
            outcomes[f"{mode}:{outcome}"] = outcomes.get(f"{mode}:{outcome}", 0) + 1
        shutil.rmtree(folder)
    # the corruptions do corrupt: most batches are refused in fail mode, many load in part
    assert outcomes.get("fail:refused", 0) > len(cases) // 2, outcomes
    assert outcomes.get("quarantine:quarantined", 0) > 50, outcomes


# -- SIGKILL with raw identifiers ---------------------------------------------------------------

KILLS = 24
SCRIPT = """
import sys
from churnradar.ingest import ingest
ingest([sys.argv[2]], sys.argv[1], key=bytes.fromhex({key!r}), on_error="quarantine")
"""


def _gbk_inputs(folder: Path, subscribers: int) -> set[bytes]:
    """GBK files of customers and subscriptions with raw ID-card and phone numbers (a Chinese
    character in one row makes them GBK, so ingest transcodes them); returns the raw values."""
    sizes = {**parent_sizes(subscribers), "usage_monthly": subscribers * 2}
    data = dataset(sizes)
    raw: set[bytes] = set()
    folder.mkdir(parents=True)
    for name, (header, body) in data.items():
        for col in ("certificate_no", "msisdn", "imei"):
            if col in header:
                raw |= {r[header.index(col)].encode() for r in body}
        if name in ("customer", "subscription", "usage_monthly"):
            col = {"customer": "gender", "subscription": "brand", "usage_monthly": "second_sim_operator"}[
                name
            ]
            body[0][header.index(col)] = "男"  # GBK bytes c4 d0: not valid UTF-8
        (folder / f"{name}.csv").write_text(csv_text(header, body), encoding="gbk")
    return raw


def test_killed_ingests_leave_no_raw_identifier_under_tmpdir(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    raw = _gbk_inputs(inputs, 20_000)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    script = SCRIPT.format(key=KEY.hex())
    rng = random.Random(7)
    # how long a whole run takes here, to spread the kills over it
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "probe.duckdb"), str(inputs)], env=env, check=True
    )
    whole = time.monotonic() - t0
    killed_during = 0
    trial = 0
    while killed_during < KILLS and trial < 3 * KILLS:  # kills that land after the run ended don't count
        store = tmp_path / f"k{trial}.duckdb"
        proc = subprocess.Popen([sys.executable, "-c", script, str(store), str(inputs)], env=env)
        time.sleep(rng.uniform(0.3, max(0.5, whole * 0.9)))
        if proc.poll() is None:
            killed_during += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        leaks = files_holding(tmpdir, raw)
        assert not leaks, f"kill {trial}: {leaks}"
        trial += 1
    assert killed_during >= 20, killed_during
    # the next ingest removes the working folders the killed ones left
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "after.duckdb"), str(inputs)], env=env, check=True
    )
    assert [p.name for p in tmpdir.iterdir()] == []
