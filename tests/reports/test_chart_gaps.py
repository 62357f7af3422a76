"""Report charts draw suppressed cells and not-yet-final months as gaps, never as 0 (issue 18, item 4).

A suppressed cell (too few lines to show) has no rate in its table; a provisional month (churn
dated by last activity is not final for three months) has a rate that is still growing. In the
HTML report's ECharts options both are ``null`` (a gap), and the native charts of the workbook read
blank cells (shown as gaps).
"""

from __future__ import annotations

import json
import re
import zipfile

import openpyxl
from openpyxl.utils import range_boundaries

from churnradar.reports.html import chart_option, provisional_months
from churnradar.reports.xlsx import render_xlsx


def _series_by_name(option: dict) -> dict[str, list]:
    return {s["name"]: s["data"] for s in option["series"]}


def test_suppressed_cells_are_null_in_the_chart_not_zero(built_reports):
    checked = 0
    for key in ("group", "package", "channel"):
        sec = built_reports["churn"].section(key)
        opt = chart_option(sec.chart, "zh")
        months = opt["xAxis"]["data"]
        series = _series_by_name(opt)
        tab = sec.table
        for _, r in tab[tab["suppressed"] & tab["rate"].isna()].iterrows():
            if r["label"] in series and r["month"] in months:
                assert series[r["label"]][months.index(r["month"])] is None, (key, r["label"], r["month"])
                checked += 1
    assert checked > 0  # the operator has suppressed cells in these charts


def test_unfinished_months_are_null_and_shaded(built_reports):
    rep = built_reports["churn"]
    sec = rep.section("rate")
    unfinished = provisional_months(sec)
    assert unfinished and all(m > rep.meta["complete_through"] for m in unfinished)
    # the table still has (growing) rates for those months ...
    tab = sec.table.set_index("month")
    assert tab.loc[unfinished, "rate"].notna().all()
    # ... the chart does not draw them
    opt = chart_option(sec.chart, "zh", unfinished)
    months = opt["xAxis"]["data"]
    for s in opt["series"]:
        drawn = dict(zip(months, s["data"], strict=True))
        assert all(drawn[m] is None for m in unfinished), s["name"]
        assert any(v is not None for m, v in drawn.items() if m not in unfinished)
    area = opt["series"][0]["markArea"]["data"][0]
    assert (area[0]["xAxis"], area[1]["xAxis"]) == (unfinished[0], unfinished[-1])


def test_html_report_embeds_no_zero_for_unfinished_or_suppressed_months(built_reports, html_reports):
    rep = built_reports["churn"]
    unfinished = provisional_months(rep.section("group"))
    html = html_reports["churn"].read_text(encoding="utf-8")
    charts = json.loads(re.search(r"var charts = (\[.*?\]);\n", html, re.S).group(1).replace("<\\/", "</"))
    by_title = {c["title"]: c["option"] for c in charts}
    opt = by_title[rep.section("group").chart.title]
    months = opt["xAxis"]["data"]
    for s in opt["series"]:
        assert all(s["data"][months.index(m)] is None for m in unfinished), s["name"]


def test_workbook_chart_blocks_leave_unfinished_and_suppressed_cells_blank(built_reports, tmp_path):
    rep = built_reports["churn"]
    path = render_xlsx([rep], tmp_path / "churn.xlsx")
    ws = openpyxl.load_workbook(path)["流失·按客户群"]
    sec = rep.section("group")
    unfinished = set(provisional_months(sec))
    # the chart block: a caption then a header row whose first cell is 月份, right of the table
    cells = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row if c.value is not None}
    table_end = range_boundaries(ws.auto_filter.ref)[2]
    head = next((r, c) for (r, c), v in sorted(cells.items()) if v == "月份" and c > table_end)
    r0, c0 = head
    names = [cells.get((r0, c0 + j)) for j in range(1, 10) if cells.get((r0, c0 + j))]
    blanks = zeros = 0
    r = r0 + 1
    while (r, c0) in cells:
        month = cells[(r, c0)]
        for j, _name in enumerate(names, start=1):
            v = cells.get((r, c0 + j))
            if month in unfinished:
                assert v is None, (month, _name, v)
                blanks += 1
            zeros += v == 0
        r += 1
    assert blanks >= len(names) * len(unfinished) > 0
    # any 0 left is a real 0 in the table (0 churners), never a suppressed cell
    tab = sec.table
    real_zeros = int(((tab["rate"] == 0) & ~tab["month"].isin(unfinished)).sum())
    assert zeros <= real_zeros
    assert ws._charts
    with zipfile.ZipFile(path) as z:
        xml = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    # blanks are gaps (xlsxwriter leaves out "gap", the default) and rows hidden by a filter are drawn
    assert xml and not [x for x in xml if re.search(r'dispBlanksAs val="(zero|span)"', x)]
    assert not [x for x in xml if '<c:plotVisOnly val="1"/>' in x]
