"""Property: whatever is wrong with an input file, ingest ends in a clean load or a clear
ChurnRadarError, the counts add up (``loaded + rejected == read``, ``read`` = data lines), and in
fail mode nothing is published when any row is bad."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest._data import csv_text, dataset, parent_sizes, write_csv_dataset
from tests.ingest.conftest import KEY

from churnradar.errors import ChurnRadarError, IngestError
from churnradar.ingest import ingest
from churnradar.store import Store

N_ROWS = 10
BAD_VALUES = [
    "2024-13",
    "2024-02-30",
    "20241",
    "-3",
    "abc",
    "",
    "nan",
    "1.5",
    "gold",
    "SUB999999",
    "99999999999",
    "TRUE",
    "2024-03-15",
]
INJECT = ["移动".encode("gbk"), "移动".encode(), b"\xff\xfe", b"\x00", b"\r"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("corrupt")
    write_csv_dataset(root / "parents", parent_sizes(20))
    store = Store.open(root / "store.duckdb")
    ingest([root / "parents"], store, key=KEY)
    files = {}
    for table in ("usage_monthly", "subscription"):
        header, body = dataset({**parent_sizes(20), table: N_ROWS})[table]
        files[table] = csv_text(header, body).encode()
    yield {"root": root, "store": store, "files": files}
    store.close()


@st.composite
def corrupted(draw: st.DrawFn, files: dict[str, bytes]) -> tuple[str, bytes]:
    table = draw(st.sampled_from(sorted(files)))
    lines = files[table].split(b"\n")[:-1]
    n_ops = draw(st.integers(1, 4))
    for _ in range(n_ops):
        op = draw(
            st.sampled_from(
                [
                    "cell",
                    "cell",
                    "cell",
                    "truncate_line",
                    "drop_field",
                    "add_field",
                    "duplicate",
                    "inject",
                    "blank",
                    "quote",
                    "truncate_file",
                    "missing_header",
                    "empty",
                    "header_only",
                    "crlf",
                ]
            )
        )
        if op in (
            "cell",
            "drop_field",
            "add_field",
            "inject",
            "truncate_line",
            "duplicate",
            "blank",
            "quote",
        ) and (len(lines) < 2):
            continue
        data_idx = draw(st.integers(1, len(lines) - 1)) if len(lines) >= 2 else 0
        if op == "cell":
            cells = lines[data_idx].split(b",")
            j = draw(st.integers(0, len(cells) - 1))
            cells[j] = draw(st.sampled_from(BAD_VALUES)).encode()
            lines[data_idx] = b",".join(cells)
        elif op == "truncate_line":
            line = lines[data_idx]
            lines[data_idx] = line[: draw(st.integers(0, max(len(line) - 1, 0)))]
        elif op == "drop_field":
            cells = lines[data_idx].split(b",")
            del cells[draw(st.integers(0, len(cells) - 1))]
            lines[data_idx] = b",".join(cells)
        elif op == "add_field":
            lines[data_idx] += b",extra"
        elif op == "duplicate":
            lines.append(lines[data_idx])
        elif op == "inject":
            cells = lines[data_idx].split(b",")
            j = draw(st.integers(0, len(cells) - 1))
            cells[j] += draw(st.sampled_from(INJECT))
            lines[data_idx] = b",".join(cells)
        elif op == "blank":
            lines.insert(data_idx, b"")
        elif op == "quote":
            lines[data_idx] = b'"' + lines[data_idx]
        elif op == "truncate_file":
            blob = b"\n".join(lines)
            lines = blob[: draw(st.integers(0, len(blob)))].split(b"\n")
        elif op == "missing_header":
            lines = lines[1:]
        elif op == "empty":
            lines = []
        elif op == "header_only":
            lines = lines[:1]
        elif op == "crlf":
            lines = [line + b"\r" for line in lines]
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    return table, data


def expected_read(data: bytes) -> int | None:
    """Data lines of a file without quotes: non-blank lines after the header line."""
    if b'"' in data:
        return None  # an open quote makes the rest of the file one field: no line oracle
    lines = data.split(b"\n")
    return sum(1 for line in lines[1:] if line.rstrip(b"\r") != b"")


def contents(store: Store) -> tuple:
    con = store.connection
    return tuple(
        con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {name} t").fetchone()
        for name in ("usage_monthly", "subscription", "_rejects", "_batch")
    )


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data(), mode=st.sampled_from(["fail", "quarantine"]))
def test_corrupted_files_load_cleanly_or_fail_clearly_and_counts_add_up(base: dict, data, mode: str) -> None:
    table, blob = data.draw(corrupted(base["files"]))
    folder = base["root"] / "case"
    folder.mkdir(exist_ok=True)
    path = folder / f"{table}.csv"
    path.write_bytes(blob)
    store: Store = base["store"]
    before = contents(store)
    try:
        result = ingest([path], store, on_error=mode, key=KEY)
    except IngestError as exc:
        result = getattr(exc, "result", None)
        assert result is not None, f"IngestError without a result: {exc}"
        assert mode == "fail" and not result.published and result.bad_rows > 0
        assert result.loaded == 0 and result.rejected == result.read
        assert contents(store) == before, "fail mode published something"
    except ChurnRadarError as exc:
        assert str(path) in str(exc) or "store" in str(exc)
        assert contents(store) == before
        return
    # counts add up, in total, per table and per file
    assert result.loaded + result.rejected == result.read
    for c in [*result.tables.values(), *result.files]:
        assert c.loaded + c.rejected == c.read
    oracle = expected_read(blob)
    if oracle is not None:
        assert result.read == oracle, (result.read, oracle, blob)
    for e in result.errors:
        assert e.file == str(path) and e.line is not None and str(e).startswith(f"{path}:{e.line}")
    if result.published:
        after = contents(store)
        assert after[3][0] == before[3][0] + 1  # one more batch
        if mode == "fail":
            assert result.rejected == 0 and result.bad_rows == 0
        rows = store.connection.execute(
            "SELECT count(DISTINCT line) FROM _rejects WHERE batch_id = ?", [result.batch_id]
        ).fetchone()[0]
        if oracle is not None:
            assert rows == result.rejected
