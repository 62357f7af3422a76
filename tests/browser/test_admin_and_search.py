"""Administration and subscriber search in the browser (issue 18): an administrator creates a regional
manager and an API token; the manager logs in and sees only their regions; a search by phone number
finds a subscriber of their regions and answers another region's number as an unknown one, the
number never in a URL. The administration pages read in one language (as ``test_language`` checks
the other pages)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from tests.browser.test_language import (
    _HAN,
    _READ_TEXT,
    EN_ALLOWED,
    ZH_ALLOWED,
    _catalogue_glosses,
    _data_words,
    _latin_words,
)
from tests.conftest import TEST_KEY

from churnradar.ingest.pseudonymise import KEY_ENV, KEY_FILE_ENV

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def operator_key(monkeypatch):
    """The key the test operator was ingested with (the server runs in this process)."""
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, TEST_KEY)


@pytest.fixture(scope="module")
def phones(live_server, small_operator) -> dict[str, dict[str, str]]:
    """county -> {subscriber id: raw phone number} from the operator's raw files."""
    import duckdb

    w = live_server["world"]
    path = small_operator.data_dir / "subscription.parquet"
    raw = dict(duckdb.sql(f"SELECT subscriber_id, msisdn FROM '{path}'").fetchall())
    return {c: {s: raw[s] for s in w.subs[c][:3]} for c in (w.county_a, w.county_b)}


def test_admin_creates_a_manager_who_sees_only_their_regions_and_finds_a_subscriber_by_phone(
    page, login, live_server, console_errors, phones, operator_key
):
    server, w = live_server, live_server["world"]
    url = server["url"]
    name = f"mgr_{uuid.uuid4().hex[:6]}"
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))

    # the administrator adds a regional manager of county A through the form
    login("browser_admin")
    page.click("#nav-admin")
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    form = page.locator("#add-user")
    form.locator("input[name=username]").fill(name)
    form.locator("input[name=password]").fill(server["password"])
    form.locator("select[name=role]").select_option("regional_manager")
    form.locator("select[name=regions]").select_option([w.county_a])
    page.click("#add-user-submit")
    expect(page).to_have_url(re.compile(rf"/admin/users/{name}\?done=created$"))
    expect(page.locator("#admin-done")).to_be_visible()
    expect(page.locator("#user-facts .tag")).to_have_count(1)

    # ... and an API token for them, shown once
    page.goto(url + "/admin/tokens")
    page.locator("#create-token select[name=username]").select_option(name)
    page.locator("#create-token input[name=label]").fill("夜间导出")
    page.click("#create-token-submit")
    token = page.locator("#new-token-value").inner_text().strip()
    assert re.fullmatch(r"cr_[0-9a-f]{12}_[A-Za-z0-9_\-]{16,64}", token)
    page.goto(url + "/admin/tokens")
    expect(page.locator("#token-table")).to_contain_text(token.split("_")[1])
    assert token not in page.content()
    me = page.request.get(url + "/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["username"] == name and me["counties"] == [w.county_a]

    # the manager logs in: only county A, no administration
    page.locator("header form[action='/logout'] button").click()
    expect(page).to_have_url(re.compile(r"/login"))  # the sign-out lands before the next sign-in
    login(name)
    expect(page.locator("#nav-admin")).to_have_count(0)
    grids = {r["county_id"] for r in page.request.get(url + "/api/regions").json()}
    assert grids == {w.county_a}
    page.goto(url + "/risk")
    offered = set(page.locator("main select option").evaluate_all("os => os.map(o => o.value)"))
    assert w.county_a in offered and w.county_b not in offered
    assert page.goto(url + f"/subscribers/{w.subs[w.county_b][0]}").status == 404
    assert page.goto(url + "/admin/users").status == 403

    # a phone number of county A leads to the subscriber's page
    sid, number = next(iter(phones[w.county_a].items()))
    page.goto(url + "/search")
    box = page.locator("header form.search input[name=q]")
    box.fill(number)
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"/subscribers/{sid}$"))
    expect(page.locator("#sub-id")).to_be_visible()

    # county B's number reads exactly as a number nobody has
    answers = []
    for q in (next(iter(phones[w.county_b].values())), "19900000000"):
        page.goto(url + "/search")
        page.locator("header form.search input[name=q]").fill(q)
        page.locator("header form.search button").click()
        expect(page.locator("#search-problem")).to_be_visible()
        answers.append(page.locator("main").inner_text())
    assert answers[0] == answers[1] and "没有找到" in answers[0]

    searched = [number, *phones[w.county_b].values()]
    assert not [u for u in requested if any(n in u for n in searched)]
    assert [e for e in console_errors if "404" not in e and "403" not in e] == []


ADMIN_PAGES = [
    ("users", "/admin/users"),
    ("user", "/admin/users/browser_rm"),
    ("own_account", "/admin/users/browser_admin"),
    ("roles", "/admin/roles"),
    ("regions", "/admin/regions"),
    ("tokens", "/admin/tokens"),
    ("audit", "/admin/audit"),
    ("search", "/search"),
]


def _values(v) -> list[str]:
    """Every text an audit row's detail holds as recorded (nested values included)."""
    if isinstance(v, dict):
        return [x for item in v.values() for x in _values(item)]
    if isinstance(v, list | tuple):
        return [x for item in v for x in _values(item)]
    return [] if v is None or isinstance(v, bool) else [str(v)]


def _recorded(page, url) -> list[str]:
    """What people and programs recorded and the pages show as it is: account names, token labels,
    and the audit log's actors, targets, clients and detail values."""
    texts = [u["username"] for u in page.request.get(url + "/api/admin/users").json()]
    texts += [t["label"] for t in page.request.get(url + "/api/admin/tokens").json()]
    for r in page.request.get(url + "/api/admin/audit", params={"page_size": 100}).json()["rows"]:
        texts += [r["actor"], r["target"], r["client"], *_values(r["detail"])]
    return texts


def _admin_page_texts(page, login, server, lang: str) -> tuple[dict[str, str], list[str]]:
    url = server["url"]
    login("browser_admin", lang)
    # something in every table: a token and a search
    page.goto(url + "/admin/tokens")
    page.locator("#create-token select[name=username]").select_option("browser_rm")
    page.locator("#create-token input[name=label]").fill("测试")
    page.click("#create-token-submit")
    page.locator("header form.search input[name=q]").fill(server["world"].subs[server["world"].county_a][0])
    page.locator("header form.search input[name=q]").press("Enter")
    expect(page.locator("#sub-id")).to_be_visible()
    out = {}
    for name, path in ADMIN_PAGES:
        resp = page.goto(url + path)
        assert resp is not None and resp.status == 200, (name, resp and resp.status)
        expect(page.locator("main h1").first).to_be_visible()
        out[name] = page.evaluate(_READ_TEXT)
    return out, _recorded(page, url)


def test_admin_pages_in_zh_have_no_english_word(page, login, live_server, console_errors):
    texts, recorded = _admin_page_texts(page, login, live_server, "zh")
    allowed = ZH_ALLOWED | _data_words(page, live_server, "browser_admin")[0]
    allowed |= set().union(*(_latin_words(t) for t in recorded))
    bad = {name: sorted(_latin_words(text) - allowed) for name, text in texts.items()}
    bad = {name: words for name, words in bad.items() if words}
    assert not bad, f"English words on zh-CN administration pages: {bad}"
    assert "审计日志" in texts["audit"] and "接口令牌" in texts["tokens"]
    assert [e for e in console_errors if "404" not in e] == []


def test_admin_pages_in_en_have_no_chinese(page, login, live_server, console_errors):
    texts, recorded = _admin_page_texts(page, login, live_server, "en")
    allowed = EN_ALLOWED | _data_words(page, live_server, "browser_admin")[1] | _catalogue_glosses()
    allowed |= {run for t in recorded for run in _HAN.findall(t)}
    bad = {name: sorted(set(_HAN.findall(text)) - allowed) for name, text in texts.items()}
    bad = {name: runs for name, runs in bad.items() if runs}
    assert not bad, f"Chinese on English administration pages: {bad}"
    assert "Audit log" in texts["audit"] and "API tokens" in texts["tokens"]
    assert [e for e in console_errors if "404" not in e] == []
