"""Render reports as one XLSX workbook with native Excel charts (xlsxwriter).

Each section becomes a sheet: the tidy table at the top-left, the chart's data block beside it and
a native chart (line, column, stacked column, scatter) drawn from that block; heat maps become a
colour-scaled matrix with a column chart of its row totals.

Every cell is written through :mod:`churnradar.reports.safe_cells`: text is a string cell, never a
formula, whatever a package, county, grid or channel name starts with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from churnradar.i18n import t
from churnradar.reports.model import Chart, Report
from churnradar.reports.safe_cells import WORKBOOK_OPTIONS, cell_value, chart_text, write_cell

MAX_ROWS = 100_000

_v = cell_value


def _sheet_name(title: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\']", " ", title)[:28].strip() or "sheet"
    base, k = name, 2
    while name.lower() in used:
        name = f"{base[:25]}~{k}"
        k += 1
    used.add(name.lower())
    return name


def _col_name(lang: str, c: str) -> str:
    s = t(f"col.{c}", lang)
    return c if s == f"col.{c}" else s


def _write_table(ws, df: pd.DataFrame, row: int, col: int, lang: str, fmts: dict[str, Any]) -> int:
    cols = [c for c in df.columns if not str(c).startswith("_")]
    for j, c in enumerate(cols):
        write_cell(ws, row, col + j, _col_name(lang, str(c)), fmts["head"])
        pct = str(c).startswith(("rate", "share")) or str(c).endswith(("_rate", "_share", "_lo", "_hi"))
        ws.set_column(col + j, col + j, max(10, min(28, len(str(c)) + 2)), fmts["pct"] if pct else None)
    data = df[cols].head(MAX_ROWS)
    for i, rec in enumerate(data.itertuples(index=False), start=1):
        for j, v in enumerate(rec):
            write_cell(ws, row + i, col + j, v)
    return row + len(data) + 1


def _chart_block(ws, wb, ch: Chart, row: int, col: int, lang: str, fmts: dict[str, Any], sheet: str):
    """Write the chart's data block at (row, col) and insert a native chart; returns the chart."""
    df = ch.data
    if ch.kind == "heatmap":
        wide = df.pivot_table(index=ch.y, columns=ch.x, values=ch.value, aggfunc="first")
        write_cell(ws, row, col, f"{ch.y} \\ {ch.x}", fmts["head"])
        for j, c in enumerate(wide.columns, start=1):
            write_cell(ws, row, col + j, str(c), fmts["head"])
        for i, (idx, r) in enumerate(wide.iterrows(), start=1):
            write_cell(ws, row + i, col, str(idx))
            for j, v in enumerate(r, start=1):
                write_cell(ws, row + i, col + j, v)
        nr, nc = len(wide), len(wide.columns)
        if nr and nc:
            ws.conditional_format(row + 1, col + 1, row + nr, col + nc, {"type": "3_color_scale"})
        # a native chart of the row means beside the matrix
        means = wide.mean(axis=1)
        mcol = col + nc + 2
        write_cell(ws, row, mcol, _col_name(lang, "mean"), fmts["head"])
        for i, v in enumerate(means, start=1):
            write_cell(ws, row + i, mcol, v)
        chart = wb.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": chart_text(ch.title),
                "categories": [sheet, row + 1, col, row + nr, col],
                "values": [sheet, row + 1, mcol, row + nr, mcol],
            }
        )
        return chart, row + nr + 2
    if ch.kind == "scatter":
        ycol = ch.series[0]
        cols = [ch.label or ch.x, ch.x, ycol]
        for j, c in enumerate(cols):
            write_cell(ws, row, col + j, _col_name(lang, c), fmts["head"])
        for i, (_, r) in enumerate(df.iterrows(), start=1):
            for j, c in enumerate(cols):
                write_cell(ws, row + i, col + j, r[c])
        n = len(df)
        chart = wb.add_chart({"type": "scatter"})
        chart.add_series(
            {
                "name": chart_text(ch.title),
                "categories": [sheet, row + 1, col + 1, row + n, col + 1],
                "values": [sheet, row + 1, col + 2, row + n, col + 2],
                "marker": {"type": "circle", "size": 8},
                "data_labels": {
                    "custom": [{"value": chart_text(v)} for v in df[ch.label or ch.x]],
                    "position": "right",
                },
            }
        )
        chart.set_x_axis({"name": chart_text(ch.series_names.get(ch.x, ch.x))})
        chart.set_y_axis({"name": chart_text(ch.series_names.get(ycol, ycol))})
        return chart, row + n + 2
    cols = [ch.x, *ch.series]
    write_cell(ws, row, col, _col_name(lang, ch.x), fmts["head"])
    for j, c in enumerate(ch.series, start=1):
        write_cell(ws, row, col + j, ch.series_names.get(c, _col_name(lang, c)), fmts["head"])
    for i, (_, r) in enumerate(df.iterrows(), start=1):
        write_cell(ws, row + i, col, str(_v(r[ch.x])))
        for j, c in enumerate(ch.series, start=1):
            write_cell(ws, row + i, col + j, r[c])
    n = len(df)
    kind = {
        "line": ("line", None),
        "step": ("line", None),
        "bar": ("column", None),
        "stacked_bar": ("column", "stacked"),
    }[ch.kind]
    chart = wb.add_chart({"type": kind[0], **({"subtype": kind[1]} if kind[1] else {})})
    for j, _c in enumerate(ch.series, start=1):
        chart.add_series(
            {
                "name": [sheet, row, col + j],
                "categories": [sheet, row + 1, col, row + n, col],
                "values": [sheet, row + 1, col + j, row + n, col + j],
            }
        )
    if ch.fmt == "pct":
        chart.set_y_axis({"num_format": "0.0%"})
    return chart, row + n + 2


def render_xlsx(reports: list[Report], path: Path | str) -> Path:
    """Write ``reports`` into one workbook at ``path``: a contents sheet, then one sheet per section."""
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    fmts = {
        "head": wb.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1}),
        "pct": wb.add_format({"num_format": "0.00%"}),
        "title": wb.add_format({"bold": True, "font_size": 14}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
    }
    used: set[str] = set()
    lang = reports[0].lang if reports else "zh"
    toc = wb.add_worksheet(_sheet_name(t("common.contents", lang), used))
    toc.set_column(0, 0, 40)
    toc.set_column(1, 1, 60)
    write_cell(toc, 0, 0, "churnradar", fmts["title"])
    r = 2
    for rep in reports:
        write_cell(toc, r, 0, f"{rep.title} · {rep.as_of.strftime('%Y-%m')}", fmts["head"])
        r += 1
        for f in rep.findings:
            write_cell(toc, r, 1, f, fmts["wrap"])
            r += 1
        for s in rep.sections:
            name = _sheet_name(s.title, used)
            toc.write_url(r, 1, f"internal:'{name}'!A1", string=s.title)
            r += 1
            ws = wb.add_worksheet(name)
            write_cell(ws, 0, 0, s.title, fmts["title"])
            if s.note:
                write_cell(ws, 1, 0, s.note)
            end = _write_table(ws, s.table, 3, 0, lang, fmts)
            ncols = len([c for c in s.table.columns if not str(c).startswith("_")])
            brow = 3
            for ch in s.all_charts():
                chart, next_row = _chart_block(ws, wb, ch, brow, ncols + 2, lang, fmts, name)
                chart.set_title({"name": chart_text(ch.title)})
                chart.set_size({"width": 760, "height": 360})
                ws.insert_chart(
                    max(end, next_row) + 1 if False else brow, ncols + 2 + _block_width(ch) + 1, chart
                )
                brow = max(next_row, brow + 20) + 1
            r += 0
        r += 1
    wb.close()
    return path


def _block_width(ch: Chart) -> int:
    if ch.kind == "heatmap":
        return int(ch.data[ch.x].nunique()) + 3
    if ch.kind == "scatter":
        return 3
    return 1 + len(ch.series)
