"""CSV encodings: UTF-8 with or without BOM, GBK/GB18030 exports, gzip, and mixed encodings."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from tests.ingest._data import ZH_NAMES, csv_text, dataset
from tests.ingest.conftest import KEY, snapshot

from churnradar.errors import IngestError
from churnradar.ingest import ingest
from churnradar.store import Store

N = 8


def region_text() -> str:
    header, body = dataset({"region": N})["region"]
    return csv_text(header, body)


def load(tmp_path: Path, name: str, data: bytes, **kw) -> tuple[Path, object]:
    folder = tmp_path / name
    folder.mkdir()
    f = folder / "region.csv"
    f.write_bytes(data)
    store = tmp_path / f"{name}.duckdb"
    return store, ingest([f], store, key=KEY, **kw)


def test_a_gbk_file_loads_the_same_values_as_its_utf8_version(tmp_path: Path) -> None:
    text = region_text()
    assert any(z in text for z in ZH_NAMES)
    utf8_store, r1 = load(tmp_path, "utf8", text.encode("utf-8"))
    gbk_store, r2 = load(tmp_path, "gbk", text.encode("gbk"))
    assert r1.loaded == r2.loaded == N
    assert r2.files[0].encoding == "gb18030"
    assert snapshot(gbk_store, with_batches=False) == snapshot(utf8_store, with_batches=False)
    with Store.open(gbk_store) as store:
        names = {r[0] for r in store.connection.execute("SELECT grid_name FROM region").fetchall()}
    assert names <= set(ZH_NAMES) and len(names) > 1


def test_an_explicit_encoding_is_used(tmp_path: Path) -> None:
    text = region_text()
    ref, _ = load(tmp_path, "utf8", text.encode("utf-8"))
    got, result = load(tmp_path, "gbk", text.encode("gbk"), encoding="gbk")
    assert result.files[0].encoding == "gbk"
    assert snapshot(got, with_batches=False) == snapshot(ref, with_batches=False)


@pytest.mark.parametrize("variant", ["bom", "crlf", "gzip", "gzip-gbk"])
def test_bom_crlf_and_gzip_variants_load_the_same_values(tmp_path: Path, variant: str) -> None:
    text = region_text()
    ref, _ = load(tmp_path, "ref", text.encode("utf-8"))
    folder = tmp_path / variant
    folder.mkdir()
    if variant == "bom":
        f = folder / "region.csv"
        f.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    elif variant == "crlf":
        f = folder / "region.csv"
        f.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    else:
        f = folder / "region.csv.gz"
        f.write_bytes(gzip.compress(text.encode("gbk" if variant == "gzip-gbk" else "utf-8")))
    store = tmp_path / f"{variant}.duckdb"
    assert ingest([f], store).loaded == N
    assert snapshot(store, with_batches=False) == snapshot(ref, with_batches=False)


def test_a_utf8_line_in_a_gbk_file_is_rejected_with_its_line_number(tmp_path: Path) -> None:
    lines = region_text().splitlines(keepends=True)
    data = b"".join(line.encode("utf-8" if i == 5 else "gbk") for i, line in enumerate(lines))
    _, result = load(tmp_path, "mixed", data, on_error="quarantine")
    assert (result.read, result.loaded, result.rejected) == (N, N - 1, 1)
    (err,) = result.errors
    assert err.line == 6 and "mixed encodings" in err.reason
    with pytest.raises(IngestError, match=r"region.csv:6: line is UTF-8 encoded but the file is gb18030"):
        load(tmp_path, "mixed-fail", data)


def test_a_gbk_line_in_a_utf8_file_is_rejected_with_its_line_number(tmp_path: Path) -> None:
    lines = region_text().splitlines(keepends=True)
    data = b"".join(line.encode("gbk" if i == 3 else "utf-8") for i, line in enumerate(lines))
    _, result = load(tmp_path, "mixed", data, on_error="quarantine")
    assert (result.read, result.loaded, result.rejected) == (N, N - 1, 1)
    (err,) = result.errors
    assert err.line == 4 and "not valid UTF-8" in err.reason


def test_an_undecodable_line_with_an_explicit_encoding_is_a_bad_row(tmp_path: Path) -> None:
    lines = region_text().splitlines(keepends=True)
    data = b"".join(line.encode("gbk") for line in lines[:4]) + b"G9,\xff\xfe,C1,x,y,z,urban\n"
    data += b"".join(line.encode("gbk") for line in lines[4:])
    _, result = load(tmp_path, "bad", data, encoding="gbk", on_error="quarantine")
    assert (result.read, result.loaded, result.rejected) == (N + 1, N, 1)
    assert result.errors[0].line == 5 and "not valid gbk" in result.errors[0].reason
    # lines after the dropped one keep their own numbers
    lines2 = [*lines[:6], lines[6].rsplit(",", 1)[0] + ",desert\n", *lines[7:]]
    data2 = b"".join(line.encode("gbk") for line in lines2[:4]) + b"G9,\xff\xfe,C1,x,y,z,urban\n"
    data2 += b"".join(line.encode("gbk") for line in lines2[4:])
    _, result2 = load(tmp_path, "bad2", data2, encoding="gbk", on_error="quarantine")
    assert sorted((e.line, e.column) for e in result2.errors) == [(5, None), (8, "area_type")]


def _late_chinese(n_ascii: int) -> str:
    """A region file whose first mebibyte is ASCII and whose last lines are Chinese."""
    header = "grid_id,grid_name,county_id,county_name,county_name_en,city,area_type"
    rows = [f"G{i:07d},grid {i},C1,county one,county one,city,urban" for i in range(n_ascii)]
    rows += [f"Z{i},{name},C1,一区,county one,城,rural" for i, name in enumerate(ZH_NAMES[:3])]
    return "\n".join([header, *rows]) + "\n"


def test_a_declared_gbk_file_with_ascii_data_is_read_directly_and_late_chinese_still_loads(
    tmp_path: Path,
) -> None:
    text = _late_chinese(20_000)
    assert len(text) > 1 << 20
    ref, r1 = load(tmp_path, "utf8", text.encode("utf-8"))
    got, r2 = load(tmp_path, "gbk", text.encode("gbk"), encoding="gbk")
    assert r1.loaded == r2.loaded == 20_003 and r2.rejected == 0
    assert snapshot(got, with_batches=False) == snapshot(ref, with_batches=False)
    # ASCII data throughout: read as it is, no copy
    ascii_only = "\n".join(text.splitlines()[:-3]) + "\n"
    _, r3 = load(tmp_path, "ascii", ascii_only.encode("gbk"), encoding="gbk")
    assert r3.loaded == 20_000 and r3.files[0].encoding == "gbk"
    # an undecodable line beyond the first mebibyte is still one bad row with its number
    bad = text.encode("gbk").replace("一区".encode("gbk"), b"\xff\xfe", 1)
    _, r4 = load(tmp_path, "bad", bad, encoding="gbk", on_error="quarantine")
    assert (r4.loaded, r4.rejected) == (20_002, 1)
    assert r4.errors[0].line == 20_002 and "not valid gbk" in r4.errors[0].reason
