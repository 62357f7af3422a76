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


#: the kinds of chart drawn over a category axis (months, tenures, labels)
AXIS_KINDS = ("line", "bar", "stacked_bar", "step")


def _charts_over_months(built_reports):
    """(report, section, chart) of every chart of every report drawn over months."""
    for name, rep in built_reports.items():
        for sec in rep.sections:
            for ch in sec.all_charts():
                if ch.kind in AXIS_KINDS and ch.x == "month":
                    yield name, sec, ch


def test_every_chart_over_months_draws_unfinished_months_as_gaps(built_reports):
    """Not only the churn report's rate: every chart over months of every report (the 大客户 line of
    the group charts, the county lines, the KPI report's group rates) leaves its not-final months
    blank."""
    checked = set()
    for name, sec, ch in _charts_over_months(built_reports):
        unfinished = provisional_months(sec)
        if not unfinished:
            continue
        opt = chart_option(ch, "zh", unfinished)
        months = [m[:7] for m in opt["xAxis"]["data"]]
        for s in opt["series"]:
            for m, v in zip(months, s["data"], strict=True):
                if m in unfinished:
                    assert v is None, (name, sec.key, s["name"], m, v)
        checked.add((name, sec.key))
    assert {("churn", "group"), ("geography", "county"), ("kpi", "group_rates")} <= checked, checked


def test_every_suppressed_or_missing_cell_of_a_chart_over_months_is_a_gap(built_reports):
    """Where a section's table has no rate for a series' month (a suppressed cell, too few lines),
    its chart has no point there: never 0, in any report."""
    checked: dict[tuple[str, str], int] = {}
    for name, sec, ch in _charts_over_months(built_reports):
        tab = sec.table
        if not {"label", "month", "rate"} <= set(tab.columns):
            continue
        opt = chart_option(ch, "zh", provisional_months(sec))
        months = [m[:7] for m in opt["xAxis"]["data"]]
        series = _series_by_name(opt)
        missing = tab[tab["rate"].isna()]
        for _, r in missing.iterrows():
            month = str(r["month"])[:7]
            if r["label"] in series and month in months:
                assert series[r["label"]][months.index(month)] is None, (name, sec.key, r["label"], month)
                checked[(name, sec.key)] = checked.get((name, sec.key), 0) + 1
    # the small groups (大客户 among them) have suppressed months in the churn and KPI reports
    assert checked.get(("churn", "group"), 0) > 0 and checked.get(("kpi", "group_rates"), 0) > 0, checked
    key_accounts = built_reports["churn"].section("group").table
    gaps = key_accounts[(key_accounts["label"] == "大客户") & key_accounts["rate"].isna()]
    assert len(gaps) > 0  # the 大客户 line really has gaps to draw


def test_heat_map_legends_span_their_values_and_never_read_0_to_0():
    """A heat map whose cells are all one value, or all missing, still has a legend with two
    different ends (ECharts would print "0 — 0" and colour nothing)."""
    import numpy as np
    import pandas as pd

    from churnradar.reports.model import Chart

    def heat(values):
        df = pd.DataFrame({"tenure": [1, 2, 10], "cohort": ["2024-01"] * 3, "rate": values})
        return chart_option(Chart("heatmap", "t", df, "tenure", y="cohort", value="rate", fmt="pct"), "zh")

    spread = heat([0.01, 0.03, 0.02])["visualMap"]
    assert (spread["min"], spread["max"]) == (0.01, 0.03)
    for values in ([0.0, 0.0, 0.0], [0.02, 0.02, 0.02], [np.nan, np.nan, np.nan]):
        vm = heat(values)["visualMap"]
        assert vm["max"] > vm["min"], (values, vm)
        assert vm["min"] <= min((v for v in values if v == v), default=vm["min"]) <= vm["max"]
    assert heat([np.nan] * 3)["visualMap"]["show"] is False  # nothing to colour: no legend
    assert heat([1, 2, 10])["xAxis"]["data"] == ["1", "2", "10"]  # tenures in numeric order


def test_report_heat_maps_have_a_legend_with_two_ends(built_reports):
    found = 0
    for rep in built_reports.values():
        for sec in rep.sections:
            for ch in sec.all_charts():
                if ch.kind == "heatmap":
                    vm = chart_option(ch, "zh")["visualMap"]
                    assert vm["max"] > vm["min"], (rep.name, sec.key, vm)
                    found += 1
    assert found >= 3


def test_every_workbook_chart_block_leaves_unfinished_months_blank(built_reports, tmp_path):
    """The workbook's chart blocks (the cells its native charts read) of every section with
    not-final months are blank in those months, whatever the report."""
    reports = [built_reports[n] for n in ("churn", "geography", "kpi")]
    wb = openpyxl.load_workbook(render_xlsx(reports, tmp_path / "three.xlsx"))
    sheets = {}
    for rep in reports:
        for sec in rep.sections:
            if provisional_months(sec) and any(
                ch.kind in AXIS_KINDS and ch.x == "month" for ch in sec.all_charts()
            ):
                sheets[sec.title] = set(provisional_months(sec))
    checked = 0
    for ws in wb.worksheets:
        title = ws.cell(1, 1).value
        if title not in sheets or not ws.auto_filter.ref:
            continue
        unfinished = sheets[title]
        table_end = range_boundaries(ws.auto_filter.ref)[2]
        cells = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row if c.value is not None}
        heads = [(r, c) for (r, c), v in sorted(cells.items()) if v == "月份" and c > table_end]
        assert heads, ws.title
        for r0, c0 in heads:
            width = 0
            while (r0, c0 + width + 1) in cells:
                width += 1
            r = r0 + 1
            while (r, c0) in cells:
                if str(cells[(r, c0)])[:7] in unfinished:
                    assert all((r, c0 + j) not in cells for j in range(1, width + 1)), (ws.title, r)
                    checked += 1
                r += 1
    assert checked >= 3 * len(sheets) > 0, (checked, sheets)


def test_chromium_draws_unfinished_and_suppressed_months_as_gaps(built_reports, html_reports, page):
    """In the report as Chromium draws it, the live ECharts series of the customer-group chart hold
    no value (null, a gap: lines are not joined across it) at the unfinished months and at the
    suppressed cells, never 0."""
    rep = built_reports["churn"]
    sec = rep.section("group")
    unfinished = provisional_months(sec)
    page.goto(html_reports["churn"].as_uri())
    page.wait_for_function("window.__churnradarCharts !== undefined")
    drawn = page.evaluate(
        """(title) => {
            const head = Array.from(document.querySelectorAll('.chart-title')).find(e => e.textContent === title);
            const opt = echarts.getInstanceByDom(head.nextElementSibling).getOption();
            return {months: opt.xAxis[0].data,
                    series: opt.series.map(s => ({name: s.name, data: s.data, connect: !!s.connectNulls}))};
        }""",
        sec.chart.title,
    )
    months = drawn["months"]
    assert unfinished and set(unfinished) <= set(months)
    tab = sec.table
    hidden = {(r["label"], r["month"]) for _, r in tab[tab["suppressed"] & tab["rate"].isna()].iterrows()}
    gaps = 0
    for s in drawn["series"]:
        assert not s["connect"], s["name"]
        for m, v in zip(months, s["data"], strict=True):
            if m in unfinished or (s["name"], m) in hidden:
                assert v is None, (s["name"], m, v)
                gaps += 1
    assert gaps >= len(unfinished) * len(drawn["series"]) > 0
