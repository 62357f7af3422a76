"""The model page (issue 18): the current model as cards and charts, in zh-CN and English, on a
desktop and a phone.

The shared browser store is scored once, in its newest month, and never monitored; a copy of it
here also holds an earlier score batch whose outcome window has closed (the newest batch's rows
dated four months earlier: an input for the page, whose outcomes the labels decide) and the
monitoring rows the cycle writes (the monitor's own writer), so every chart has something to draw.
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from playwright.sync_api import expect
from tests._serving import serving
from tests.browser.test_language import _HAN, _READ_TEXT, ZH_ALLOWED, _latin_words

#: one worker serves the module's copy of the store (its first page computes the outcomes)
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.xdist_group("model_page")]

CHARTS = ("model-roc", "model-gain", "model-calibration", "model-importance", "model-drift", "model-outcomes")
PASSWORD = "model-page-password-1"
#: months of the copy's monitoring; the second has no row for the first feature (a gap)
MONITOR_MONTHS = (date(2024, 10, 1), date(2024, 11, 1), date(2024, 12, 1))

#: the chart options of the page: id -> ECharts option
_OPTIONS = """() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map(
    el => [el.id, {option: JSON.parse(el.getAttribute('data-chart')), drawn: el.dataset.drawn === '1',
                   canvas: !!el.querySelector('canvas')}]))"""


@pytest.fixture(scope="module")
def monitored_server(api_world, tmp_path_factory):
    """The app on a copy of the browser store with an earlier, settled score batch and monitoring."""
    import duckdb

    from churnradar.api import auth, create_app
    from churnradar.cycle.monitor import MonitorResult, write_monitor
    from churnradar.periods import add_months

    root = tmp_path_factory.mktemp("model_page")
    store = root / "store.duckdb"
    shutil.copy(api_world.store, store)
    con = duckdb.connect(str(store))
    try:
        newest, model_id = con.execute(
            "SELECT as_of, any_value(model_id) FROM score GROUP BY 1 ORDER BY 1 DESC"
        ).fetchone()
        earlier = add_months(newest, -4)
        con.execute(
            "INSERT INTO score SELECT * REPLACE (CAST(? AS DATE) AS as_of) FROM score WHERE as_of = ?",
            [earlier, newest],
        )
        trained = con.execute("SELECT as_of FROM model WHERE model_id = ?", [model_id]).fetchone()[0]
    finally:
        con.close()
    features = ("tenure_months", "arpu_1m", "active_days_1m")
    for i, month in enumerate(MONITOR_MONTHS):
        res = MonitorResult(month, model_id, trained)
        res.features = {
            f: 0.02 * (k + 1) * (i + 1) for k, f in enumerate(features) if not (i == 1 and k == 0)
        }
        res.score_psi = 0.01 * (i + 1)
        write_monitor(store, res)
    app = create_app(store, f"sqlite:///{root / 'ops.sqlite'}")
    auth.add_user(app.state.engine, "model_analyst", PASSWORD, "analyst")
    with serving(app) as base:
        yield {"url": base, "earlier": earlier.strftime("%Y-%m"), "features": features}


def _open_model_page(page, server, lang: str):
    page.goto(server["url"] + "/login")
    page.fill("input[name=username]", "model_analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header.top")).to_be_visible()
    page.goto(server["url"] + f"/lang/{lang}?next=/model")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
    expect(page.locator("#model-card")).to_be_visible()
    for chart in CHARTS:
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)
    return page.evaluate(_OPTIONS)


def _numbers(values) -> list[float]:
    out = []
    for v in values:
        v = v[-1] if isinstance(v, list) else v
        if isinstance(v, int | float):
            out.append(v)
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_model_page_draws_every_chart_with_values(page, monitored_server, console_errors, lang):
    charts = _open_model_page(page, monitored_server, lang)
    for chart in CHARTS:
        got = charts[chart]
        assert got["drawn"] and got["canvas"], chart
        series = got["option"]["series"]
        assert series and all(_numbers(s["data"]) for s in series), (chart, series)
    # the importance chart names its 20 features in the page's language
    names = charts["model-importance"]["option"]["yAxis"]["data"]
    assert len(names) == 20
    assert all(_HAN.search(n) for n in names) if lang == "zh" else not any(_HAN.search(n) for n in names)
    # drift: the score and each monitored feature by month; a month without a feature's PSI is a gap
    drift = charts["model-drift"]["option"]
    assert drift["xAxis"]["data"] == [m.strftime("%Y-%m") for m in MONITOR_MONTHS]
    assert drift["series"][0]["data"] == pytest.approx([0.01, 0.02, 0.03])
    gaps = [s for s in drift["series"][1:] if s["data"][1] is None]
    assert len(gaps) == 1 and _numbers(gaps[0]["data"]) == pytest.approx([0.02, 0.06])
    # realised outcomes: the earlier batch, one bar series per risk level, rates in percent
    outcomes = charts["model-outcomes"]["option"]
    assert outcomes["xAxis"]["data"] == [monitored_server["earlier"]]
    assert len(outcomes["series"]) == 4
    rows = page.locator("#outcomes-table tbody tr")
    expect(rows).to_have_count(5)  # four levels and the month's total
    assert console_errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_model_page_fits_a_phone(page, monitored_server, lang):
    page.set_viewport_size({"width": 390, "height": 844})
    _open_model_page(page, monitored_server, lang)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for chart in CHARTS:
        assert page.locator(f"#{chart}").bounding_box()["width"] <= 390


def test_model_page_fits_a_desktop(page, monitored_server):
    page.set_viewport_size({"width": 1440, "height": 900})
    _open_model_page(page, monitored_server, "zh")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440


def test_model_page_reads_in_one_language(page, monitored_server):
    _open_model_page(page, monitored_server, "zh")
    words = _latin_words(page.evaluate(_READ_TEXT)) - ZH_ALLOWED - {"model_analyst"}  # the user's name
    assert not words, f"English words on the zh-CN model page: {sorted(words)}"
    page.goto(monitored_server["url"] + "/lang/en?next=/model")
    expect(page.locator("#model-card")).to_be_visible()
    han = set(_HAN.findall(page.evaluate(_READ_TEXT))) - {"中文"}
    assert not han, f"Chinese on the English model page: {sorted(han)}"


def test_trained_model_shows_its_validation_charts(analyst_page, live_server, console_errors):
    """The shared store's model, trained this session: its curve points are in the registry, so the
    ROC, gain and calibration charts draw; without monitoring or a settled month the page says why."""
    page = analyst_page
    page.goto(live_server["url"] + "/model")
    for chart in ("model-roc", "model-gain", "model-calibration", "model-importance"):
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)
    charts = page.evaluate(_OPTIONS)
    roc = charts["model-roc"]["option"]["series"][0]["data"]
    assert roc[0] == [0, 0] and roc[-1] == [100, 100] and len(roc) > 10
    assert _numbers(charts["model-calibration"]["option"]["series"][0]["data"])
    expect(page.locator("#no-drift")).to_be_visible()
    expect(page.locator("#no-outcomes")).to_be_visible()
    assert page.locator("#model-metrics tbody tr").count() >= 1  # held-out AUC per step
    assert console_errors == []
