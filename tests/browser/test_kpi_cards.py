"""The overview's KPI cards and county ranking in a browser (issue 18): each card shows its figure,
环比 and 同比 with an arrow and values equal to ``churnradar metrics`` of those months; with the
operator's targets file loaded a card shows its target and 完成率 (and the 完成率's 口径 on hover),
a card without a target shows none; a county of the ranking opens its grids; a regional manager
ranks their own county only. The pages with targets read in one language only."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests._serving import serving
from tests.browser.test_language import (
    _HAN,
    _READ_TEXT,
    ZH_ALLOWED,
    _catalogue_glosses,
    _data_words,
    _latin_words,
)

from churnradar.api.routes.kpis import kpi_change, kpi_value
from churnradar.metrics import CATALOGUE, store_metrics
from churnradar.metrics.targets import read_targets
from churnradar.periods import add_months, format_month, parse_month
from churnradar.views.kpis import CARDS, change

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ANALYST, MANAGER = "kpi_analyst", "kpi_rm"


@pytest.fixture(scope="module")
def kpi_server(api_world, tmp_path_factory):
    """The app with an operator's targets file (the company's churn rate for the data's year, revenue
    of the last month, county A's churn rate), served by uvicorn in a thread."""
    from tests.api import conftest as api_fixtures

    from churnradar.api import auth, create_app

    root = tmp_path_factory.mktemp("kpi_server")
    app = create_app(api_world.store, f"sqlite:///{root / 'ops.sqlite'}")
    last = app.state.data.store.data_months()[1]
    month = format_month(last)
    targets = root / "targets.csv"
    targets.write_text(
        "kpi,period,region,target,direction\n"
        f"offnet_rate,{month[:4]},operator,1.5%,\n"
        f"revenue,{month},operator,100000,\n"
        f"offnet_rate,{month},{api_world.county_a},2%,lower\n",
        encoding="utf-8",
    )
    app.state.targets = read_targets(targets, counties={c for _, c in app.state.data.region_rows()})
    auth.add_user(app.state.engine, ANALYST, api_fixtures.PASSWORD, "analyst")
    auth.add_user(app.state.engine, MANAGER, api_fixtures.PASSWORD, "regional_manager", [api_world.county_a])
    with serving(app) as url:
        yield {
            "url": url,
            "world": api_world,
            "password": api_fixtures.PASSWORD,
            "month": month,
            "targets": app.state.targets,
        }


@pytest.fixture(scope="module")
def year_server(tmp_path_factory):
    """The app on 14 months of data (2023-09 … 2024-10, the monitoring tests' operator, built once
    and cached), so a month has the same month of the year before."""
    import shutil

    from tests.api import conftest as api_fixtures
    from tests.conftest import build_operator
    from tests.cycle.test_drift_and_champion import LAUNCH, SIM

    from churnradar.api import auth, create_app

    root = tmp_path_factory.mktemp("kpi_year")
    op = build_operator(root / "op", **SIM, config=LAUNCH)
    store = root / "store.duckdb"
    shutil.copy(op.store, store)
    app = create_app(store, f"sqlite:///{root / 'ops.sqlite'}")
    auth.add_user(app.state.engine, ANALYST, api_fixtures.PASSWORD, "analyst")
    with serving(app) as url:
        yield {"url": url, "store": store, "password": api_fixtures.PASSWORD}


def _sign_in(page, server, user: str, lang: str = "zh"):
    page.goto(server["url"] + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", server["password"])
    page.click("button[type=submit]")
    expect(page.locator("header.top")).to_be_visible()
    if lang == "en":
        page.goto(server["url"] + "/lang/en?next=/")
        expect(page.locator("html")).to_have_attribute("lang", "en")


def _arrow(v: float | None) -> str:
    return "—" if v is None else "▲" if v > 0 else "▼" if v < 0 else "＝"


@pytest.mark.parametrize("month", [None, "2024-06"])
def test_cards_show_mom_and_yoy_equal_to_the_metrics_of_those_months(page, kpi_server, console_errors, month):
    _sign_in(page, kpi_server, ANALYST)
    page.goto(kpi_server["url"] + "/" + (f"?month={month}" if month else ""))
    m = month or kpi_server["month"]
    prev = format_month(add_months(parse_month(m), -1))
    store = kpi_server["world"].store
    now, before = store_metrics(store, m), store_metrics(store, prev)
    expect(page.locator("#kpi-period")).to_contain_text(m)
    expect(page.locator("#kpi-period")).to_contain_text(prev)
    for key, mid in CARDS.items():
        card = page.locator(f"#kpi-{key}")
        unit = card.locator("b")
        v, p = now.values[mid], before.values[mid]
        u = CATALOGUE[mid].unit
        expect(unit).to_have_text(kpi_value(v, u, "zh"))
        mom = change(v, p, u)
        kind = "difference" if u in ("ratio", "pp") else "share"
        expect(card.locator("li.mom .v")).to_have_text(kpi_change(mom, kind, "zh"))
        expect(card.locator("li.mom")).to_contain_text("环比 " + _arrow(mom))
        # no month of the year before in the data: 同比 is "—", never 0
        expect(card.locator("li.yoy")).to_have_text("同比 — —")
        expect(card.locator("em.provisional")).to_have_count(1 if mid in now.provisional else 0)
    # an arrow's colour says whether the change is good: down is good for churn, bad for revenue
    rate_mom = change(now.values["offnet_rate"], before.values["offnet_rate"], "ratio")
    arrow = page.locator("#kpi-churn_rate_last_month li.mom span").first
    expect(arrow).to_have_class("good" if rate_mom < 0 else "bad")
    assert console_errors == []


def test_targets_file_shows_attainment_and_its_definition_on_hover(page, kpi_server, console_errors):
    _sign_in(page, kpi_server, ANALYST)
    page.goto(kpi_server["url"] + "/")
    store, m = kpi_server["world"].store, kpi_server["month"]
    actual = store_metrics(store, m).values
    rate = page.locator("#kpi-churn_rate_last_month li.target")
    expect(rate).to_contain_text("目标 1.50%")
    expect(rate.locator(".att")).to_have_text(f"{(1 - (actual['offnet_rate'] - 0.015) / 0.015) * 100:.1f}%")
    assert "1 −（实际 − 目标）/ 目标" in rate.get_attribute("title")
    revenue = page.locator("#kpi-revenue_last_month li.target .att")
    expect(revenue).to_have_text(f"{actual['revenue'] / 100000 * 100:.1f}%")
    # the card's info button also states the 完成率's 口径
    page.locator("#kpi-churn_rate_last_month").hover()
    expect(page.locator("#kpi-churn_rate_last_month .def")).to_contain_text("完成率（越低越好）")
    # a card without a target shows no 完成率 at all (never 0%)
    for key in ("subscribers", "churned_last_month", "arpu"):
        expect(page.locator(f"#kpi-{key} li.target")).to_have_count(0)
        expect(page.locator(f"#kpi-{key}")).not_to_contain_text("完成率")
    # narrowed to county A by the page's filters: its own figures against its own target
    w = kpi_server["world"]
    page.goto(kpi_server["url"] + f"/?county={w.county_a}")
    own = store_metrics(store, m, region=w.county_a).values
    expect(page.locator("#kpi-subscribers b")).to_have_text(kpi_value(own["lines_end"], "lines", "zh"))
    expect(page.locator("#kpi-churn_rate_last_month li.target")).to_contain_text("目标 2.00%")
    expect(page.locator("#kpi-churn_rate_last_month li.target .att")).to_have_text(
        f"{(1 - (own['offnet_rate'] - 0.02) / 0.02) * 100:.1f}%"
    )
    expect(page.locator("#kpi-revenue_last_month li.target")).to_have_count(0)
    assert console_errors == []


def test_county_ranking_drills_to_the_county_and_ranks_by_another_kpi(page, kpi_server, console_errors):
    w = kpi_server["world"]
    _sign_in(page, kpi_server, ANALYST)
    page.goto(kpi_server["url"] + "/")
    rows = page.locator("#ranking-table tbody tr")
    assert rows.count() >= 2
    expect(rows.first.locator("td").first).to_have_text("1")
    a = page.locator(f'#ranking-table tr[data-county="{w.county_a}"]')
    expect(a.locator("td").nth(5)).not_to_have_text("—")  # county A has a target: 完成率 shown
    b = page.locator(f'#ranking-table tr[data-county="{w.county_b}"]')
    expect(b.locator("td").nth(5)).to_have_text("—")
    # the county's value is its own metric
    own = store_metrics(w.store, kpi_server["month"], region=w.county_a).values["offnet_rate"]
    expect(a.locator("td").nth(2)).to_have_text(kpi_value(own, "ratio", "zh"))
    # rank by port-outs, keeping the month
    page.select_option("#county-ranking select[name=rank]", "port_outs")
    page.click("#county-ranking button[type=submit]")
    expect(page).to_have_url(f"{kpi_server['url']}/?rank=port_outs&month={kpi_server['month']}")
    expect(page.locator("#ranking-table thead")).to_contain_text("携出数")
    # a click on a county opens its grids
    name = a.locator("a").inner_text()
    a.locator("a").click()
    expect(page).to_have_url(f"{kpi_server['url']}/regions?county={w.county_a}")
    expect(page.locator("main h1")).to_contain_text(name)
    assert console_errors == []


def test_regional_manager_ranks_only_their_county_against_its_target(page, kpi_server, console_errors):
    w = kpi_server["world"]
    _sign_in(page, kpi_server, MANAGER)
    page.goto(kpi_server["url"] + "/")
    rows = page.locator("#ranking-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-county", w.county_a)
    own = store_metrics(w.store, kpi_server["month"], region=w.county_a).values
    expect(page.locator("#kpi-subscribers b")).to_have_text(kpi_value(own["lines_end"], "lines", "zh"))
    expect(page.locator("#kpi-churn_rate_last_month li.target")).to_contain_text("目标 2.00%")
    expect(page.locator("#kpi-revenue_last_month li.target")).to_have_count(0)  # the operator's, not hers
    assert console_errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overview_with_targets_reads_in_one_language(page, kpi_server, console_errors, lang):
    _sign_in(page, kpi_server, ANALYST, lang)
    page.goto(kpi_server["url"] + "/")
    expect(page.locator("#kpi-churn_rate_last_month li.target")).to_be_visible()
    text = page.evaluate(_READ_TEXT)
    if lang == "zh":
        allowed = ZH_ALLOWED | _data_words(page, kpi_server, ANALYST)[0]
        assert not sorted(_latin_words(text) - allowed)
        assert "完成率" in text and "环比" in text and "同比" in text
    else:
        allowed = {"中文"} | _data_words(page, kpi_server, ANALYST)[1] | _catalogue_glosses()
        assert not sorted(set(_HAN.findall(text)) - allowed)
        assert "Attainment" in text and "MoM" in text and "YoY" in text
    assert console_errors == []


def test_cards_show_yoy_arrows_and_values_against_the_same_month_a_year_before(
    page, year_server, console_errors
):
    _sign_in(page, year_server, ANALYST)
    page.goto(year_server["url"] + "/?month=2024-10")
    expect(page.locator("#kpi-period")).to_contain_text("2023-10")
    now, then = store_metrics(year_server["store"], "2024-10"), store_metrics(year_server["store"], "2023-10")
    shown = 0
    for key, mid in CARDS.items():
        u = CATALOGUE[mid].unit
        yoy = change(now.values[mid], then.values[mid], u)
        kind = "difference" if u in ("ratio", "pp") else "share"
        card = page.locator(f"#kpi-{key}")
        expect(card.locator("li.yoy .v")).to_have_text(kpi_change(yoy, kind, "zh"))
        expect(card.locator("li.yoy")).to_contain_text("同比 " + _arrow(yoy))
        shown += yoy is not None
    assert shown >= len(CARDS) - 2  # a count that was 0 a year before has no share to show
    # 2024-08 has no 2023-08 in the data: "—", never 0
    page.goto(year_server["url"] + "/?month=2024-08")
    expect(page.locator("#kpi-churn_rate_last_month li.yoy")).to_have_text("同比 — —")
    assert console_errors == []
