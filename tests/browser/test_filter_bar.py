"""One filter bar on every analytical page (issue 18), in Chromium: choosing filters puts them in the
URL, Back returns to the whole styled page with its filters, the language toggle keeps them, the
export of the risk list has the rows on screen (status included), ended lines show only when asked,
and the month choice gives the overview the figures ``churnradar metrics`` prints for that month."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests._serving import serving
from tests.api._ended import END_KINDS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _full_page(page, form: str = ".filter-bar") -> None:
    """The whole styled page (navigation, stylesheet, filter bar), not a bare htmx fragment."""
    expect(page.locator("header.top nav")).to_be_visible()
    expect(page.locator("link[rel=stylesheet]")).to_have_count(1)
    expect(page.locator(form)).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") != "inline"


def _second_option(page, name: str) -> str:
    """The value of the first real choice (after 全部) of a drop-down of the bar."""
    return page.locator(f".filter-bar select[name={name}] option:not([value=''])").first.get_attribute(
        "value"
    )


def test_choosing_filters_on_each_page_updates_the_url(page, analyst_page, live_server, console_errors):
    w = live_server["world"]
    for path, name, value in [
        ("/", "county", w.county_a),
        ("/regions", "county", w.county_a),
        ("/reasons", "county", w.county_a),
        ("/packages", "county", w.county_a),
        ("/risk", "county", w.county_a),
    ]:
        page.goto(live_server["url"] + path)
        _full_page(page)
        page.select_option(f".filter-bar select[name={name}]", value)
        page.locator(".filter-bar button[type=submit]").click()
        expect(page).to_have_url(re.compile(rf"{re.escape(path)}\?(.*&)?{name}={value}"))
        expect(page.locator(f".filter-bar select[name={name}]")).to_have_value(value)
        assert not re.search(r"=(&|$)", page.url), page.url  # filters left at 全部 stay out of the URL
        if path != "/risk":  # a whole new page: the breadcrumbs name the county
            expect(page.locator("#crumbs [aria-current=page]")).not_to_be_empty()
    # a second filter on top of the first: both stay in the URL
    page.goto(live_server["url"] + f"/packages?county={w.county_a}")
    brand = _second_option(page, "brand")
    page.select_option(".filter-bar select[name=brand]", brand)
    page.locator(".filter-bar button[type=submit]").click()
    expect(page).to_have_url(
        re.compile(rf"county={w.county_a}.*brand={brand}|brand={brand}.*county={w.county_a}")
    )
    assert console_errors == []


def test_choosing_a_county_narrows_the_grid_list(page, analyst_page, live_server, console_errors):
    w = live_server["world"]
    page.goto(live_server["url"] + "/risk")
    grids = page.locator(".filter-bar select[name=grid] option[data-county]")
    assert grids.count() > len({grids.nth(i).get_attribute("data-county") for i in range(grids.count())}) > 1
    page.select_option(".filter-bar select[name=county]", w.county_a)
    shown = page.eval_on_selector_all(
        ".filter-bar select[name=grid] option[data-county]",
        "os => os.filter(o => !o.hidden).map(o => o.dataset.county)",
    )
    assert shown and set(shown) == {w.county_a}
    page.select_option(".filter-bar select[name=grid]", w.grid_a)
    page.click("#risk-apply")
    expect(page).to_have_url(re.compile(rf"grid={w.grid_a}"))
    grids_listed = page.locator("#risk-table tbody tr td:nth-child(3) small").all_inner_texts()
    assert grids_listed and set(grids_listed) == {w.grid_a}
    assert console_errors == []


def test_back_after_a_filter_keeps_the_full_styled_page(page, analyst_page, live_server, console_errors):
    w = live_server["world"]
    page.goto(live_server["url"] + "/")
    page.select_option(".filter-bar select[name=county]", w.county_a)
    page.locator(".filter-bar button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"county={w.county_a}"))
    page.click("header.top nav a[href='/risk']")
    expect(page.locator("#risk-table")).to_be_visible()
    page.select_option("select[name=status]", "all")
    page.click("#risk-apply")  # htmx swaps the results and pushes the URL
    expect(page).to_have_url(re.compile(r"/risk\?.*status=all"))
    page.click("header.top nav a[href='/packages']")
    expect(page.locator("#package-table")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/risk\?.*status=all"))
    _full_page(page, "#risk-filters")
    expect(page.locator("select[name=status]")).to_have_value("all")
    page.go_back()
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/\?(.*&)?county={w.county_a}"))
    _full_page(page)
    expect(page.locator(".filter-bar select[name=county]")).to_have_value(w.county_a)
    assert console_errors == []


def test_the_language_toggle_keeps_the_filters(page, analyst_page, live_server, console_errors):
    w = live_server["world"]
    page.goto(live_server["url"] + "/packages")
    brand = _second_option(page, "brand")
    page.select_option(".filter-bar select[name=county]", w.county_a)
    page.select_option(".filter-bar select[name=brand]", brand)
    page.locator(".filter-bar button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"brand={brand}"))
    rows_zh = page.locator("#package-table tbody tr").count()
    page.click("#lang-toggle")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(rf"/packages\?.*county={w.county_a}"))
    expect(page.locator(".filter-bar select[name=brand]")).to_have_value(brand)
    expect(page.locator(".filter-bar select[name=county]")).to_have_value(w.county_a)
    assert page.locator("#package-table tbody tr").count() == rows_zh
    label = page.locator(".filter-bar select[name=brand] option:checked").inner_text()
    assert label and re.search(r"[\u4e00-\u9fff]", label) is None  # the brand's English name
    page.click("#lang-toggle")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(re.compile(rf"brand={brand}"))
    assert console_errors == []


def _metrics_cli(store: Path, month: str) -> dict:
    exe = Path(sys.executable).with_name("churnradar")
    out = subprocess.run(
        [str(exe), "metrics", "--store", str(store), "--month", month, "--json"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return {k: v["value"] for k, v in json.loads(out.stdout)["metrics"].items()}


def test_the_month_choice_gives_the_overview_that_months_metrics(
    page, analyst_page, live_server, console_errors
):
    server = live_server
    page.goto(server["url"] + "/")
    months = page.locator(".filter-bar select[name=month] option").evaluate_all("os => os.map(o => o.value)")
    assert len(months) >= 6
    expect(page.locator(".filter-bar select[name=month]")).to_have_value(months[0])  # the latest
    assert page.locator("#data-month").inner_text() == months[0]
    chosen = months[4]
    page.select_option(".filter-bar select[name=month]", chosen)
    page.locator(".filter-bar button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"month={chosen}"))
    want = _metrics_cli(server["world"].store, chosen)
    latest = _metrics_cli(server["world"].store, months[0])
    assert want["lines_end"] != latest["lines_end"]
    expect(page.locator("#kpi-subscribers > b")).to_have_text(f"{want['lines_end']:,.0f}")
    expect(page.locator("#kpi-churned_last_month > b")).to_have_text(f"{want['deregistrations']:,.0f}")
    expect(page.locator("#kpi-churn_rate_last_month > b")).to_have_text(f"{want['offnet_rate'] * 100:.2f}%")
    assert console_errors == []


# -- a store in which some scored lines have left: the status control and the export -------------
@pytest.fixture(scope="module")
def leavers_server(api_world, tmp_path_factory):
    """The app on a copy of the store where some scored lines of county A left in the last month."""
    from tests.api._ended import store_with_leavers
    from tests.api.conftest import PASSWORD

    from churnradar.api import auth, create_app

    folder = tmp_path_factory.mktemp("leavers_browser")
    path, leavers = store_with_leavers(api_world.store, folder, api_world.county_a)
    app = create_app(path, f"sqlite:///{folder / 'ops.sqlite'}")
    auth.add_user(app.state.engine, "leavers_analyst", PASSWORD, "analyst", actor="test")
    with serving(app) as base:
        yield {"url": base, "password": PASSWORD, "leavers": leavers, "world": api_world}
    app.state.data.close()


def _sign_in(page, server) -> None:
    page.goto(server["url"] + "/login")
    page.fill("input[name=username]", "leavers_analyst")
    page.fill("input[name=password]", server["password"])
    page.click("button[type=submit]")
    expect(page.locator("header.top")).to_be_visible()


def _export_rows(page) -> list[dict]:
    with page.expect_download() as dl:
        page.click("#risk-export-csv")
    return list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8-sig"))))


def test_status_control_shows_ended_lines_only_when_asked(page, leavers_server, console_errors):
    server = leavers_server
    _sign_in(page, server)
    page.goto(server["url"] + f"/risk?county={server['world'].county_a}&size=200")
    expect(page.locator("select[name=status]")).to_have_value("active")
    ids = page.locator("#risk-table a.sub-link").all_inner_texts()
    assert ids and not set(ids) & set(server["leavers"])
    assert set(page.locator("#risk-table td.line-status").all_inner_texts()) <= {"在网", "单停", "双停"}
    active = int(page.locator("#risk-total").get_attribute("data-total"))

    page.select_option("select[name=status]", "ended")
    page.click("#risk-apply")
    expect(page).to_have_url(re.compile(r"status=ended"))
    expect(page.locator("#risk-table td.line-status", has_text="在网")).to_have_count(0)
    expect(page.locator("#risk-table td.line-status", has_text="销户").first).to_be_visible()
    total = int(page.locator("#risk-total").get_attribute("data-total"))
    ids = page.locator("#risk-table a.sub-link").all_inner_texts()
    # the copy's leavers, and lines the simulator pre-deregistered on the arrears path
    assert set(server["leavers"]) <= set(ids) and len(ids) == total
    assert set(page.locator("#risk-table td.line-status").all_inner_texts()) == {
        "销户",
        "携号转网（携出）",
        "预销户",
    }
    rows = _export_rows(page)
    assert sorted(r["subscriber_id"] for r in rows) == sorted(ids)
    assert {r["status"] for r in rows} == set(END_KINDS)

    page.select_option("select[name=status]", "all")
    page.click("#risk-apply")
    expect(page).to_have_url(re.compile(r"status=all"))
    expect(page.locator("#risk-total")).to_have_attribute("data-total", str(active + total))
    assert [e for e in console_errors if not e.startswith("requestfailed: ") or "/export.csv" not in e] == []


def test_export_rows_equal_the_total_on_screen_with_every_filter(page, leavers_server, console_errors):
    server = leavers_server
    _sign_in(page, server)
    page.goto(server["url"] + "/risk")
    page.select_option("select[name=county]", server["world"].county_a)
    page.select_option("select[name=status]", "all")
    page.select_option("select[name=brand]", _second_option(page, "brand"))
    page.click("#risk-apply")
    expect(page).to_have_url(re.compile(r"status=all.*brand=|brand=.*status=all"))
    page.locator("#risk-table th[data-key=health] a").click()  # sorted by a header: in the URL too
    expect(page).to_have_url(re.compile(r"sort=-health"))
    total = int(page.locator("#risk-total").get_attribute("data-total"))
    href = page.locator("#risk-export-csv").get_attribute("href")
    for part in ("status=all", f"county={server['world'].county_a}", "brand=", "sort=-health"):
        assert part in href, (part, href)
    rows = _export_rows(page)
    assert len(rows) == total > 0
    on_screen = page.locator("#risk-table a.sub-link").all_inner_texts()
    assert [r["subscriber_id"] for r in rows[: len(on_screen)]] == on_screen
    assert [e for e in console_errors if not e.startswith("requestfailed: ") or "/export.csv" not in e] == []


def test_a_sorted_table_keeps_its_order_in_the_url_and_its_total_last(
    page, analyst_page, live_server, console_errors
):
    page.goto(live_server["url"] + "/packages")
    page.click("#package-table th[data-key=rate]")
    expect(page).to_have_url(re.compile(r"/packages\?sort=-rate$"))
    names = page.locator("#package-table tbody tr td:first-child a").all_inner_texts()
    rates = [
        t.replace("%", "") for t in page.locator("#package-table tbody tr td:nth-child(4)").all_inner_texts()
    ]
    numbers = [float(r) for r in rates if r]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) > 1
    page.reload()
    expect(page.locator("#package-table th[data-key=rate]")).to_have_attribute("aria-sort", "descending")
    assert page.locator("#package-table tbody tr td:first-child a").all_inner_texts() == names
    total = page.locator("#package-table tfoot tr.total td").first.inner_text()
    rows = page.locator("#package-table tbody tr td:nth-child(2)").all_inner_texts()
    assert int(total.replace(",", "")) == sum(int(r.replace(",", "")) for r in rows)
    assert console_errors == []


def test_a_click_on_a_month_of_the_trend_shows_that_month(page, analyst_page, live_server, console_errors):
    page.goto(live_server["url"] + "/")
    expect(page.locator("#trend-chart canvas")).to_have_count(1)
    point = page.evaluate(
        """() => {
        const el = document.getElementById('trend-chart');
        const chart = echarts.getInstanceByDom(el);
        const o = chart.getOption();
        const i = o.xAxis[0].data.length - 5;
        const total = o.series[0].data[i] + o.series[1].data[i];
        const [x, y] = chart.convertToPixel({seriesIndex: 1}, [i, total]);
        const r = el.getBoundingClientRect();
        return {x: r.left + x, y: r.top + y + 3, month: o.xAxis[0].data[i]};
    }"""
    )
    page.mouse.click(point["x"], point["y"])
    expect(page).to_have_url(re.compile(rf"/\?month={point['month']}$"))
    expect(page.locator(".filter-bar select[name=month]")).to_have_value(point["month"])
    assert console_errors == []
