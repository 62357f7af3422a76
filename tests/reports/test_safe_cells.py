"""Names that look like formulas stay text in every workbook and CSV file the product writes."""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile

import duckdb
import pandas as pd
import pytest

HYPERLINK = '=HYPERLINK("http://x.example/","y")'
#: dimension name columns and the formula-like text written into them
POISON = {
    ("package", "package_name"): HYPERLINK,
    ("package", "package_name_en"): "=cmd|' /C calc'!A0",
    ("region", "county_name"): "=1+1",
    ("region", "county_name_en"): "+1+1",
    ("region", "grid_name"): "@SUM(1,1)",
    ("channel", "channel_name"): "-1+1",
    ("channel", "channel_name_en"): HYPERLINK,
    ("competitor", "competitor_name"): "\t=1+1",
    ("competitor", "competitor_name_en"): "\r=1+1",
}


def poison_store(src, dst) -> None:
    """A copy of ``src`` whose dimension names all start like formulas (the code is kept after it)."""
    shutil.copy(src, dst)
    con = duckdb.connect(str(dst))
    try:
        key = {
            "package": "package_id",
            "region": "grid_id",
            "channel": "channel_id",
            "competitor": "competitor_id",
        }
        for (table, col), text in POISON.items():
            con.execute(f"UPDATE {table} SET {col} = ? || {key[table]}", [text])
    finally:
        con.close()


def formulas_in(path) -> list[str]:
    """Cells of a workbook that hold a formula (openpyxl's data type 'f'), and chart texts that
    xlsxwriter turned into formulas (a ``<c:f>`` that is not a reference to a cell range)."""
    from openpyxl import load_workbook

    found = []
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            found += [f"{ws.title}!{c.coordinate}: {c.value}" for c in row if c.data_type == "f"]
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("xl/charts/"):
                xml = z.read(n).decode()
                found += [f"{n}: {f}" for f in re.findall(r"<c:f>(.*?)</c:f>", xml) if not RANGE.match(f)]
    return found


#: what a chart's ``<c:f>`` holds when it only points at the chart's data block
RANGE = re.compile(r"^(?:'(?:[^']|'')+'|[^'!()=]+)!\$[A-Z]+\$\d+(?::\$[A-Z]+\$\d+)?$")


def texts_in(path) -> set[str]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return {
        c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)
    }


@pytest.fixture(scope="module")
def poisoned(small_operator, tmp_path_factory):
    store = tmp_path_factory.mktemp("poisoned") / "store.duckdb"
    poison_store(small_operator.store, store)
    return store


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_workbook_holds_no_formula_and_keeps_the_names(poisoned, tmp_path, lang):
    from churnradar.reports import write_reports

    [path] = write_reports(poisoned, "all", fmt="xlsx", out=tmp_path, lang=lang)
    assert formulas_in(path) == []
    texts = texts_in(path)
    # the names are shown as they are (text cells), not dropped or quoted
    sfx = "" if lang == "zh" else "_en"
    for key in (("package", "package_name" + sfx), ("region", "county_name" + sfx), ("region", "grid_name")):
        assert any(t.startswith(POISON[key]) for t in texts), key


def test_csv_text_prefixes_only_formula_like_text():
    from churnradar.reports.safe_cells import csv_frame, csv_rows, csv_text, is_formula_like

    for s in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", HYPERLINK):
        assert is_formula_like(s) and csv_text(s) == "'" + s
    for v in (-3.2, -1, 0, 2.5, None, "plain", "a=b", "", "YC01"):
        assert csv_text(v) == v
    df = pd.DataFrame({"name": ["=1+1", "ok", None], "delta": [-3.2, 1.0, -0.5], "n": [-1, 2, 3]})
    out = csv_frame(df)
    assert out["name"].tolist()[:2] == ["'=1+1", "ok"] and out["name"].isna().iloc[2]
    assert out["delta"].tolist() == [-3.2, 1.0, -0.5] and out["n"].tolist() == [-1, 2, 3]
    text = csv_rows([{"a": "-x", "b": -2.5}], ["a", "b"], bom=False)
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["'-x", "-2.5"]]


def test_xlsx_table_writes_text_as_strings_and_numbers_as_numbers(tmp_path):
    from openpyxl import load_workbook

    from churnradar.reports.safe_cells import write_xlsx_table

    path = tmp_path / "t.xlsx"
    write_xlsx_table(path, pd.DataFrame({"name": [HYPERLINK, "=1+1"], "delta": [-3.2, 4.0]}), "t")
    ws = load_workbook(path)["t"]
    assert [c.data_type for c in ws[2]] == ["s", "n"] and ws["A2"].value == HYPERLINK
    assert ws["B2"].value == -3.2
    assert formulas_in(path) == []


def test_chart_texts_are_never_references(tmp_path):
    import xlsxwriter

    from churnradar.reports.safe_cells import chart_text

    dde = "=cmd|' /C calc'!A0"
    assert chart_text(dde) != dde and chart_text(dde).replace("\u200b", "") == dde
    assert chart_text(HYPERLINK) == HYPERLINK and chart_text(None) == ""
    path = tmp_path / "c.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("s")
    ws.write_column(0, 0, [1, 2])
    ch = wb.add_chart({"type": "scatter"})
    ch.add_series(
        {
            "name": chart_text("Sheet1!A1"),
            "categories": ["s", 0, 0, 1, 0],
            "values": ["s", 0, 0, 1, 0],
            "data_labels": {"custom": [{"value": chart_text(dde)}, {"value": chart_text(HYPERLINK)}]},
        }
    )
    ch.set_title({"name": chart_text(dde)})
    ws.insert_chart("C2", ch)
    wb.close()
    assert formulas_in(path) == []
