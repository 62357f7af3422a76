"""Every page reads in one language (issue 17): on a zh-CN page no English word is left (internal
codes such as ``regional_manager``, ``arrears`` or ``new_subscription`` show their Chinese names),
and on an English page no Chinese is left outside what the store holds in Chinese only.

Each page is visited as an admin (every region) and as a regional manager (one county), and its
``document.body.innerText`` is checked, with the 404 page and the login page besides."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import dashboard_pages

from churnradar.api.messages import tr

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: Latin words a zh-CN page may show: abbreviations and units of the trade, file formats, the
#: product's own name (as in commands), the language toggle's target, and the network generation
ZH_ALLOWED = {
    "ARPU", "DOU", "MOU", "NPS", "CSV", "XLSX", "ID", "MB", "GB", "KB", "TB",
    "churnradar", "train", "score", "English",
    "AUC", "ROC", "PR", "PSI", "ECE", "BSS", "HTML", "CCI", "Kaplan", "Meier",
    "G",  # 4G, 5G in the names of packages
}  # fmt: skip

#: Chinese an English page may show: the language toggle's target
EN_ALLOWED = {"中文"}


#: a run of Latin letters and digits, possibly joined by ``_`` or ``-`` (``regional_manager``)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")
#: a number with a unit or code glued to it: ``1m`` (a horizon code), ``300MB``
_NUMBER_UNIT = re.compile(r"^[0-9][0-9.,]*([A-Za-z]+)$")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")

#: what a person reads besides the body's text: tooltips, labels for screen readers, placeholders,
#: and what the charts draw on their canvas (series and category names)
_READ_TEXT = """() => {
    const parts = [document.body.innerText];
    for (const el of document.querySelectorAll("[title], [aria-label], [placeholder]")) {
        for (const a of ["title", "aria-label", "placeholder"]) {
            if (el.hasAttribute(a)) parts.push(el.getAttribute(a));
        }
    }
    const list = v => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    for (const el of document.querySelectorAll("[data-chart]")) {
        const o = JSON.parse(el.getAttribute("data-chart"));
        for (const s of list(o.series)) {
            parts.push(s.name || "");
            for (const d of list(s.data)) if (d && typeof d === "object" && d.name) parts.push(d.name);
        }
        for (const ax of [...list(o.xAxis), ...list(o.yAxis)]) {
            for (const d of list(ax.data)) if (typeof d === "string") parts.push(d);
        }
    }
    return parts.join("\\n");
}"""


def _latin_words(text: str) -> set[str]:
    """Latin words of ``text``; a token mixing letters and digits (``YC01G01``, ``OPYC01-K003``) is an
    identifier of the data and not a word, but a number's glued suffix (``3m``) is."""
    words = set()
    for token in _TOKEN.findall(text):
        unit = _NUMBER_UNIT.match(token)
        if unit:
            words.add(unit.group(1))
        elif not any(c.isdigit() for c in token):
            words.add(token)
    return words


def _data_words(page, server, user: str) -> tuple[set[str], set[str]]:
    """(Latin words, Chinese runs) of what the store holds as people typed it and the dashboard shows
    as it is in either language: campaign names, grid names (no English form) and the user's name."""
    names = [c["name"] for c in page.request.get(server["url"] + "/api/campaigns").json()]
    names += [r["grid_name"] for r in page.request.get(server["url"] + "/api/regions").json()]
    names.append(user)
    latin = set().union(*(_latin_words(n) for n in names))
    han = {run for n in names for run in _HAN.findall(n)}
    # a channel's Chinese name as the operator typed it (网上营业厅及APP, the filter bar's choice): its
    # Latin words are data
    choices = page.request.get(server["url"] + "/api/filters", params={"page": "risk", "lang": "zh"}).json()
    latin |= set().union(*(_latin_words(c["label"]) for c in choices.get("channel", [])))
    return latin, han


def _catalogue_glosses() -> set[str]:
    """Chinese terms of the trade the metrics catalogue's English names and definitions quote as a
    gloss (``BSS 销户``): a KPI card's English 口径 shows them."""
    from churnradar.metrics import CATALOGUE

    return {
        run for m in CATALOGUE.values() for text in (m.name_en, m.definition_en) for run in _HAN.findall(text)
    }


def _page_texts(page, server, user: str, lang: str, login) -> dict[str, str]:
    """name → text a person reads on every page ``user`` sees, in ``lang``."""
    w = server["world"]
    login(user, lang)
    pages = [
        *dashboard_pages(w),
        ("not_found", "/subscribers/U999999999"),
        ("other_page", "/no/such/page"),
        ("risk_filtered", "/risk?risk=high&page=2"),
    ]
    out = {}
    for name, path in pages:
        resp = page.goto(server["url"] + path)
        assert resp is not None and resp.status in (200, 404), (name, resp and resp.status)
        expect(page.locator("main h1").first).to_be_visible()
        out[name] = page.evaluate(_READ_TEXT)
        if name == "risk":  # a scored subscriber (the first of the list): probabilities per horizon
            scored = page.locator("#risk-table a.sub-link").first.get_attribute("href")
    page.goto(server["url"] + scored)
    expect(page.locator("#sub-score dl")).to_be_visible()
    out["subscriber_scored"] = page.evaluate(_READ_TEXT)
    return out


@pytest.mark.parametrize("user", ["browser_admin", "browser_rm"])
def test_zh_pages_have_no_english_word(page, login, live_server, console_errors, user):
    texts = _page_texts(page, live_server, user, "zh", login)
    assert tr("chart.ported_out", "zh") in texts["overview"]  # the chart's legend is read too
    allowed = ZH_ALLOWED | _data_words(page, live_server, user)[0]
    bad = {name: sorted(_latin_words(text) - allowed) for name, text in texts.items()}
    bad = {name: words for name, words in bad.items() if words}
    assert not bad, f"English words on zh-CN pages as {user}: {bad}"
    page.context.clear_cookies()
    page.goto(live_server["url"] + "/login")
    login_words = _latin_words(page.evaluate(_READ_TEXT)) - ZH_ALLOWED
    assert not login_words, f"English words on the zh-CN login page: {sorted(login_words)}"
    assert [e for e in console_errors if "404" not in e] == []


def test_en_pages_have_no_chinese(page, login, live_server, console_errors):
    user = "browser_admin"  # every region: the most of the store's names
    texts = _page_texts(page, live_server, user, "en", login)
    allowed = EN_ALLOWED | _data_words(page, live_server, user)[1] | _catalogue_glosses()
    bad = {name: sorted(set(_HAN.findall(text)) - allowed) for name, text in texts.items()}
    bad = {name: runs for name, runs in bad.items() if runs}
    assert not bad, f"Chinese on English pages as {user}: {bad}"
    assert [e for e in console_errors if "404" not in e] == []
