"""The workbook of `churnradar report all --format xlsx` is one an Excel user accepts, in both languages.

Read back with openpyxl: every numeric cell of every sheet has a number format (rates as %, money in
元/¥, counts with thousands separators), every sheet has a frozen header row and an autofilter over
its table, sheet names are whole (≤ 31 characters, no ``~``), headers of a table are unique, names
come before codes, units are words and print setup is there.
"""

from __future__ import annotations

import re

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from churnradar.cli import main
from churnradar.i18n import t

HEADER_ROW = 4  # 1-based row of every sheet's table header


@pytest.fixture(scope="module", params=["zh", "en"])
def workbook(request, report_operator, tmp_path_factory):
    lang = request.param
    out = tmp_path_factory.mktemp(f"xlsx_{lang}")
    code = main(
        [
            "report",
            "all",
            "--store",
            str(report_operator.store),
            "--format",
            "xlsx",
            "--out",
            str(out),
            "--lang",
            lang,
            "--json",
        ]
    )
    assert code == 0
    files = [p for p in out.iterdir() if p.suffix == ".xlsx"]
    assert len(files) == 1
    return lang, openpyxl.load_workbook(files[0])


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _table(ws) -> tuple[list[str], list[list]]:
    """Header and rows of the sheet's filtered table."""
    min_col, min_row, max_col, max_row = range_boundaries(ws.auto_filter.ref)
    rows = list(ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col))
    return [c.value for c in rows[0]], rows[1:]


def test_every_numeric_cell_of_every_sheet_has_a_number_format(workbook):
    _, wb = workbook
    unformatted = []
    numbers = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if _is_number(c.value):
                    numbers += 1
                    if c.number_format == "General":
                        unformatted.append(f"{ws.title}!{c.coordinate}={c.value}")
    assert numbers > 10_000  # the check ran over real tables
    assert not unformatted, unformatted[:20]


def test_every_sheet_has_a_frozen_header_and_an_autofilter_on_it(workbook):
    _, wb = workbook
    assert len(wb.worksheets) > 30
    for ws in wb.worksheets:
        assert ws.freeze_panes is not None, ws.title
        assert ws.freeze_panes.startswith("A") and int(ws.freeze_panes[1:]) == HEADER_ROW + 1, ws.title
        assert ws.auto_filter.ref, ws.title
        min_col, min_row, max_col, _ = range_boundaries(ws.auto_filter.ref)
        assert (min_col, min_row) == (1, HEADER_ROW), ws.title
        header = [ws.cell(HEADER_ROW, j).value for j in range(1, max_col + 1)]
        assert all(isinstance(h, str) and h.strip() for h in header), (ws.title, header)


def test_sheet_names_are_whole_short_and_distinct(workbook):
    lang, wb = workbook
    names = wb.sheetnames
    assert all(len(n) <= 31 and "~" not in n for n in names), names
    assert len({n.lower() for n in names}) == len(names)
    # the same section title in three reports gets three meaningful names, not "~2", "~3"
    group = t("sec.group", lang)
    assert sum(1 for n in names if n.endswith(group) or n.endswith("By group")) >= 3, names


def test_sheet_names_are_not_cut_mid_word(workbook):
    """A long name loses whole words (en) or takes the section's short name (zh); it never ends in
    half a word, whatever the section: each name is read back against the contents sheet, which
    lists every sheet with its report and section title."""
    from churnradar.reports.xlsx import REPORT_SHORT, SECTION_SHORT, _clean_sheet_text

    lang, wb = workbook
    toc = wb.worksheets[0]
    rows = [
        [c.value for c in r]
        for r in toc.iter_rows(min_row=HEADER_ROW + 1, max_col=4)
        if r[3].value is not None
    ]
    assert len(rows) == len(wb.worksheets) - 2  # every section sheet is listed (not contents, findings)
    shorts = set(SECTION_SHORT[lang].values())
    for _report, _month, section, name in rows:
        assert name in wb.sheetnames and len(name) <= 31, name
        base = re.sub(r" \(\d+\)$", "", name)  # a repeated name's counter
        title = _clean_sheet_text(section)
        wholes = shorts | {title, _clean_sheet_text(section.split(" · ")[0])}
        if lang == "zh":
            rest = base.split("·", 1)[1] if base.split("·", 1)[0] in REPORT_SHORT["zh"].values() else base
            assert rest in wholes, (name, section)
        else:
            vocab = {
                w for x in wholes | set(REPORT_SHORT["en"].values()) for w in x.replace("·", " ").split()
            }
            words = base.replace("·", " ").split()
            assert words and all(w in vocab for w in words), (
                name,
                section,
                [w for w in words if w not in vocab],
            )


def test_headers_of_a_table_are_unique_and_names_come_before_codes(workbook):
    lang, wb = workbook
    for ws in wb.worksheets:
        header, _ = _table(ws)
        assert len(header) == len(set(header)), (ws.title, header)
    header, rows = _table(wb[_sheet_with(wb, t("col.package_id", lang), t("col.rate", lang))])
    name, code = t("col.package_id", lang), "PK"
    j_name = header.index(name)
    j_code = header.index(f"{name}编码" if lang == "zh" else f"{name} code")
    assert j_name < j_code
    assert all(str(r[j_code].value).startswith(code) for r in rows)
    assert not any(str(r[j_name].value).startswith(code) for r in rows)


def _sheet_with(wb, *headers: str) -> str:
    for ws in wb.worksheets:
        header, _ = _table(ws)
        if all(h in header for h in headers):
            return ws.title
    raise AssertionError(f"no sheet has headers {headers}")


def test_rates_are_percent_money_is_yuan_counts_have_separators(workbook):
    lang, wb = workbook
    checked = {"rate": 0, "revenue": 0, "count": 0}
    for ws in wb.worksheets:
        header, rows = _table(ws)
        for j, h in enumerate(header):
            cells = [r[j] for r in rows if _is_number(r[j].value)]
            if not cells:
                continue
            if h == t("col.rate", lang):
                assert all("%" in c.number_format for c in cells), ws.title
                checked["rate"] += 1
            elif h == t("col.revenue", lang):
                assert all(("元" in c.number_format or "¥" in c.number_format) for c in cells), ws.title
                assert all("#,##0" in c.number_format for c in cells), ws.title
                checked["revenue"] += 1
            elif h == t("col.churners", lang):
                assert all(c.number_format == "#,##0" for c in cells), ws.title
                checked["count"] += 1
    assert all(n >= 3 for n in checked.values()), checked


def test_units_are_words_and_no_sheet_points_to_the_repository_docs(workbook):
    lang, wb = workbook
    texts = [
        c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)
    ]
    assert not [s for s in texts if re.search(r"docs/|\.md\b", s)]
    unit_values = set()
    for ws in wb.worksheets:
        header, rows = _table(ws)
        if t("col.unit", lang) in header:
            j = header.index(t("col.unit", lang))
            unit_values |= {r[j].value for r in rows}
    assert unit_values, "no sheet with a unit column"
    assert not unit_values & {"pct", "score"}, unit_values  # codes, not words
    if lang == "zh":
        assert not [u for u in unit_values if u and u.isascii()], unit_values
    assert {"TRUE", "FALSE"}.isdisjoint(texts)
    assert not [s for s in texts if s in ("True", "False")]


def test_kpi_values_take_the_format_of_their_unit(workbook):
    lang, wb = workbook
    header, rows = _table(wb[_sheet_with(wb, t("col.unit", lang), t("col.kpi", lang))])
    j_val, j_unit = header.index(t("col.value", lang)), header.index(t("col.unit", lang))
    seen = set()
    for r in rows:
        if not _is_number(r[j_val].value):
            continue
        unit, fmt = r[j_unit].value, r[j_val].number_format
        seen.add(unit)
        if unit in ("百分比", "percent"):
            assert "%" in fmt
        elif unit in ("元", "yuan"):
            assert "元" in fmt or "¥" in fmt
        else:
            assert "%" not in fmt
    assert len(seen) >= 3, seen


def test_print_setup_fits_one_page_wide_with_the_header_repeated(workbook):
    _, wb = workbook
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        # fit to 1 page wide (1 is the file format's default, so it may be left out) by any height
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.print_title_rows.replace("$", "") == f"{HEADER_ROW}:{HEADER_ROW}", ws.title


def test_retention_rates_and_intervals_are_percentages_beside_each_other(workbook):
    """收保率 and 客保率 read as percentages, and an interval sits right after its rate in the same
    format: the stock sheet's 客保率 bounds and the KPI sheet's bounds of every percentage row."""
    from churnradar.reports.xlsx import _col_name

    lang, wb = workbook
    stock = wb[_sheet_with(wb, _col_name(lang, "revenue_retention"), _col_name(lang, "customer_retention"))]
    header, rows = _table(stock)
    j = header.index(_col_name(lang, "customer_retention"))
    assert header[j + 1] == _col_name(lang, "customer_retention_lo")
    assert header[j + 2] == _col_name(lang, "customer_retention_hi")
    for col in (header.index(_col_name(lang, "revenue_retention")), j, j + 1, j + 2):
        cells = [r[col] for r in rows if _is_number(r[col].value)]
        assert cells and all("%" in c.number_format for c in cells), (header[col], cells[0].number_format)
    header, rows = _table(wb[_sheet_with(wb, _col_name(lang, "unit"), _col_name(lang, "kpi"))])
    j_val, j_unit = header.index(_col_name(lang, "value")), header.index(_col_name(lang, "unit"))
    assert header[j_val + 1 : j_val + 3] == [_col_name(lang, "value_lo"), _col_name(lang, "value_hi")]
    bounded = 0
    for r in rows:
        if r[j_unit].value in ("百分比", "percent") and _is_number(r[j_val + 1].value):
            assert "%" in r[j_val + 1].number_format and "%" in r[j_val + 2].number_format, r[j_val].value
            assert r[j_val + 1].value <= r[j_val].value <= r[j_val + 2].value
            bounded += 1
    assert bounded >= 3
