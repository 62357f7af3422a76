"""Every HTML report renders in headless Chromium with data in each chart and no console errors;
the HTML needs no network; the XLSX workbook opens with openpyxl and carries native charts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from churnradar.reports import report_names

ALL = [*report_names(), "diagnosis"]


def _without_vendor_script(text: str) -> str:
    # the inlined ECharts bundle carries XML namespace URIs and licence links; nothing is fetched
    return re.sub(r"<script>.*?</script>", "", text, count=1, flags=re.S)


@pytest.mark.parametrize("name", ALL)
def test_html_report_renders_every_chart_with_data_and_no_console_error(
    name, html_reports, page, tmp_path_factory
):
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(html_reports[name].as_uri())
    page.wait_for_function("window.__churnradarCharts !== undefined")
    charts = page.evaluate("window.__churnradarCharts")
    assert charts, f"{name}: no charts"
    empty = [cid for cid, c in charts.items() if c["points"] <= 0 or c["series"] <= 0]
    assert not empty, f"{name}: charts without data: {empty}"
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('.chart canvas')).filter(c => c.width > 0 && c.height > 0).length"
    )
    assert drawn >= len(charts)
    assert not errors, errors
    assert all(u.startswith("file://") for u in requests), requests
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("name", ALL)
def test_html_report_contains_no_external_urls(name, html_reports):
    text = html_reports[name].read_text(encoding="utf-8")
    assert "echarts" in text  # the bundle is inlined
    rest = _without_vendor_script(text)
    assert not re.search(r"https?://|//cdn|src=\"http|href=\"http", rest), name
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", rest), name


def test_xlsx_workbook_opens_with_openpyxl_and_has_native_charts(built_reports, tmp_path):
    from openpyxl import load_workbook

    from churnradar.reports.xlsx import render_xlsx

    path = render_xlsx([built_reports[n] for n in ("churn", "anomaly", "revenue")], tmp_path / "r.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "目录"
    charted = [ws.title for ws in wb.worksheets if ws._charts]
    assert len(charted) >= 8
    ws = wb["流失·离网率"]
    assert ws["A1"].value == "离网率"
    assert ws._charts[0].series  # the chart references data
    assert any(isinstance(c.value, float) for row in ws.iter_rows(min_row=5, max_row=8) for c in row)


def test_english_report_uses_the_english_catalogue(ctx, html_reports, tmp_path):
    from dataclasses import replace

    from churnradar.reports import build_report
    from churnradar.reports.html import render_html

    path = render_html(build_report(replace(ctx, lang="en"), "kpi"), tmp_path / "kpi.html")
    text = Path(path).read_text(encoding="utf-8")
    assert '<html lang="en">' in text and "Department KPI sheet" in text and "Key-account dept." in text
    zh = html_reports["kpi"].read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in zh and "部门考核指标" in zh and "Department KPI" not in zh


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")


def _without_glosses(text: str) -> str:
    """``text`` less the Chinese terms given in parentheses after their English (``Customer retention
    (客保率)``): the one place Chinese may appear in English output, for readers who know the term."""
    return re.sub(
        r"\([^()]*\)", lambda m: "" if not re.search(r"[a-z]{2,}", m.group(0)) else m.group(0), text
    )


def test_english_kpi_report_and_workbook_hold_no_chinese(ctx, tmp_path):
    """The English department KPI report, as HTML and as a workbook, has no Chinese heading, label,
    unit or note (issue 18, item 9): Chinese appears only as a term's gloss in parentheses after its
    English."""
    from dataclasses import replace

    from openpyxl import load_workbook

    from churnradar.reports import build_report
    from churnradar.reports.html import render_html
    from churnradar.reports.xlsx import render_xlsx

    rep = build_report(replace(ctx, lang="en"), "kpi")
    text = _without_vendor_script(Path(render_html(rep, tmp_path / "kpi.html")).read_text(encoding="utf-8"))
    assert '<html lang="en">' in text
    found = sorted(set(CJK.findall(_without_glosses(text))))
    assert not found, found[:20]
    wb = load_workbook(render_xlsx([rep], tmp_path / "kpi.xlsx"))
    cells = [
        (ws.title, c.coordinate, c.value)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and CJK.search(_without_glosses(c.value))
    ]
    titles = [ws.title for ws in wb.worksheets if CJK.search(_without_glosses(ws.title))]
    assert not titles and not cells, (titles, cells[:20])
