"""Each KPI card of the overview shows its 口径 (issue 17): the metrics catalogue's definition in the
page's language as the card's title (hover) and, through an info button, on keyboard focus, on a
click or tap (which keeps it open until a second click or Escape)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from churnradar.api.messages import tr
from churnradar.metrics import CATALOGUE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_card_shows_its_metric_definition(page, login, live_server, console_errors, lang):
    login("browser_analyst", lang)
    cards = page.request.get(live_server["url"] + "/api/overview").json()["definitions"]
    assert {"subscribers", "churned_last_month", "churn_rate_last_month"} <= set(cards)
    page.goto(live_server["url"] + "/")
    for key, meta in cards.items():
        metric = CATALOGUE[meta["metric"]]
        definition = metric.definition_zh if lang == "zh" else metric.definition_en
        card = page.locator(f"#kpi-{key}")
        expect(card).to_have_attribute("title", definition)
        tip = card.locator(".def")
        expect(tip).to_be_hidden()
        card.hover()
        expect(tip).to_be_visible()
        expect(tip).to_contain_text(definition)
        expect(tip).to_contain_text(metric.name_zh if lang == "zh" else metric.name_en)
        page.mouse.move(0, 0)
        expect(tip).to_be_hidden()
    # the score cards' 口径 come from the message catalogue
    for key in ("high_risk", "mean_risk"):
        expect(page.locator(f"#kpi-{key}")).to_have_attribute("title", tr(f"kpi.{key}.definition", lang))
    assert console_errors == []


def test_definition_opens_by_keyboard_and_by_click(page, analyst_page, live_server, console_errors):
    page.goto(live_server["url"] + "/")
    card = page.locator("#kpi-churn_rate_last_month")
    button, tip = card.locator("button.info"), card.locator(".def")
    expect(button).to_have_accessible_name(f"口径：{tr('kpi.churn_rate', 'zh')}")
    # keyboard: Tab reaches the button, focus shows the definition
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if button.evaluate("b => b === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached the card's info button")
    expect(tip).to_be_visible()
    page.keyboard.press("Tab")
    expect(tip).to_be_hidden()
    # click (a tap on a phone): stays open with the pointer elsewhere, a second click closes
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(card).to_have_class(re.compile(r"\bopen\b"))
    page.locator("main h2").hover()
    expect(tip).to_be_visible()
    page.locator("h1").click()  # a click elsewhere closes it
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(tip).to_be_hidden()
    button.click()
    expect(tip).to_be_visible()
    page.keyboard.press("Escape")  # Escape closes it, though the button keeps the focus
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(tip).to_be_hidden()
    assert console_errors == []
