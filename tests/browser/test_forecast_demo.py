"""The forecast page on a 12-month operator (the demo's default, issue 18): a forecast is drawn, it
says the models are non-seasonal, and its regions read as names (全部区域 / All regions, counties by
name), never ``ALL`` or a county code."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from churnradar.forecast import model_note

#: one worker: the second language reads the forecast the first computed (cached per scope)
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.xdist_group("forecast_demo"),
]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_forecast_of_a_12_month_operator_is_drawn_and_names_its_model(
    page, login, live_server, console_errors, lang
):
    login("browser_admin", lang)
    page.goto(live_server["url"] + "/forecast")
    expect(page.locator("#forecast-model-note")).to_have_text(model_note(lang))
    expect(page.locator("#forecast-chart canvas")).to_have_count(1)
    option = page.evaluate("() => JSON.parse(document.querySelector('#forecast-chart').dataset.chart)")
    names = {s["name"] for s in option["series"]}
    regions = page.request.get(live_server["url"] + "/api/regions").json()
    counties = {r["county_id"]: (r["county_name"] if lang == "zh" else r["county_name_en"]) for r in regions}
    assert names == {"全部区域" if lang == "zh" else "All regions", *counties.values()}
    assert not names & ({"ALL"} | set(counties))
    # the forecast months have values (dashed lines), after the actual months
    ahead = [s for s in option["series"] if s.get("lineStyle", {}).get("type") == "dashed"]
    assert ahead and all(sum(v is not None for v in s["data"]) >= 6 for s in ahead)
    rows = page.locator("#forecast-table tbody tr")
    expect(rows).to_have_count(6 * len(names))
    first = rows.first.locator("td")
    assert first.nth(0).inner_text() in names and first.nth(1).inner_text() not in {"AutoETS", "AutoARIMA"}
    assert console_errors == []
