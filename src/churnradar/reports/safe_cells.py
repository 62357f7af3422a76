"""Cells the product writes to spreadsheets and CSV files: text is always text, never a formula.

A name in the data (a package, county, grid or channel name, a note) that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return would be run as a formula by Excel, LibreOffice or WPS
when the file is opened — ``=HYPERLINK("http://x", "y")`` or worse (CSV/formula injection, see
OWASP's "CSV Injection"). Every writer of the product goes through this module:

* **CSV**: such a text cell is written with a leading single quote (``'=HYPERLINK(...)``), which
  spreadsheet programs show as text. Numbers (``-3.2``) are left alone: only text cells change.
* **XLSX** (xlsxwriter): workbooks are opened with :data:`WORKBOOK_OPTIONS`
  (``strings_to_formulas`` off) and cells written by :func:`write_cell`, which writes text with
  ``write_string`` — stored as a string cell, shown exactly as it is, never evaluated. Texts that
  xlsxwriter itself would read as a reference outside cells (chart titles, axis and series names,
  custom data labels) go through :func:`chart_text`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

#: First characters that make a spreadsheet program read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: xlsxwriter options of every workbook the product writes: strings stay strings.
WORKBOOK_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    "nan_inf_to_errors": True,
}


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet program read ``text`` as a formula?"""
    return text.startswith(FORMULA_STARTS)


def csv_text(value: Any) -> Any:
    """A value as a CSV cell: text that could run as a formula gets a leading ``'``; other values
    (numbers, negative ones included; dates; missing values) are returned unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and text column names) are safe for CSV."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].map(csv_text, na_action="ignore")
    out.columns = [csv_text(c) if isinstance(c, str) else c for c in out.columns]
    return out


def csv_rows(rows: Iterable[Mapping[str, Any]], fieldnames: list[str], *, bom: bool = True) -> str:
    """Rows of dicts as CSV text (header first), every text cell made safe by :func:`csv_text`."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([csv_text(f) for f in fieldnames])
    for r in rows:
        w.writerow([csv_text(r.get(f)) for f in fieldnames])
    return ("\ufeff" if bom else "") + buf.getvalue()


#: what xlsxwriter takes for a cell reference in a chart text (it then writes it as a formula)
_CHART_REFERENCE = re.compile(r"^=?[^!]+!\$?[A-Z]+\$?\d+")


def chart_text(text: Any) -> str:
    """A chart title, axis or series name or data label, kept as literal text.

    xlsxwriter writes such a text as a formula (``<c:f>``) when it looks like a cell reference
    (``Sheet!A1``, ``=cmd|'/C calc'!A0``); a zero-width space after each ``!`` keeps it literal
    and shows the same. Other texts, ``=`` at the start included, are already literal in charts.
    """
    s = "" if text is None else str(text)
    return s.replace("!", "!\u200b") if _CHART_REFERENCE.match(s) else s


def cell_value(v: Any) -> Any:
    """A Python or NumPy value as a plain cell value (NaN and infinities become empty)."""
    if v is None:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, np.floating | float):
        return float(v) if math.isfinite(float(v)) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, Decimal):
        return float(v) if v.is_finite() else None
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if v is pd.NaT or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return None
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


def write_cell(ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """Write one cell with xlsxwriter: numbers as numbers, booleans as booleans, empty as blank and
    everything else as a string cell (``write_string``), so no text is ever a formula."""
    v = cell_value(value)
    if v is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(v, bool):
        ws.write_boolean(row, col, v, fmt)
    elif isinstance(v, int | float):
        ws.write_number(row, col, v, fmt)
    else:
        ws.write_string(row, col, str(v), fmt)


def write_xlsx_table(path: Any, df: pd.DataFrame, sheet: str = "Sheet1", lang: str = "zh") -> None:
    """``df`` as a one-sheet workbook (header row, then one row per record), written safely and the
    way Excel users expect: frozen header, autofilter, a number format on every numeric column
    (rates as %, money in 元, counts with thousands separators) and fitted column widths."""
    import xlsxwriter

    from churnradar.reports.xlsx import NUMBER_FORMATS, YUAN_FORMATS, number_kind

    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    try:
        ws = wb.add_worksheet(sheet)
        head = wb.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
        cols = [str(c) for c in df.columns]
        for j, c in enumerate(df.columns):
            write_cell(ws, 0, j, str(c), head)
            s = df[c]
            fmt = None
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                kind = number_kind(str(c), s, cols)
                num = YUAN_FORMATS.get(lang, YUAN_FORMATS["en"]) if kind == "yuan" else NUMBER_FORMATS[kind]
                fmt = wb.add_format({"num_format": num})
            width = max([len(str(c)) * 2, *(len(str(v)) for v in s.head(500))], default=8)
            ws.set_column(j, j, min(max(width + 2, 8), 48), fmt)
        for i, rec in enumerate(df.itertuples(index=False), start=1):
            for j, v in enumerate(rec):
                write_cell(ws, i, j, v)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(df), 1), max(len(cols) - 1, 0))
    finally:
        wb.close()
