"""One filter bar on every analytical page (issue 18): the filters a page shows are those it
honours, their choices respect the reader's regions, a region outside them is a 404, the month
gives the metrics layer's figures of that month, and the risk list's new filters (customer group,
brand, channel, county → grid, status) narrow the list and its export alike."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
from datetime import timedelta

import duckdb
import openpyxl
import pytest
from tests.api._ended import END_KINDS, IN_SERVICE_STATES

from churnradar.metrics import store_metrics
from churnradar.views.overview import CARD_METRICS

#: reads the analytical store only: run on SQLite alone (login and the operational store are
#: covered on PostgreSQL by test_access, test_security, test_outcomes and the others)
OPS_STORE = False


def _selects(page: str) -> dict[str, list[tuple[str, str]]]:
    """Every drop-down of the filter bar: name -> [(value, label)] (the empty "all" left out)."""
    bar = re.search(r'<form id="[^"]+" class="filters filter-bar".*?</form>', page, re.S)
    assert bar, "no filter bar"
    out = {}
    for name, body in re.findall(r'<select name="(\w+)">(.*?)</select>', bar.group(0), re.S):
        out[name] = [
            (html.unescape(v), html.unescape(label).strip())
            for v, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', body)
            if v
        ]
    return out


def _query(store, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def analyst(api):
    return api.login("analyst")


@pytest.fixture(scope="module")
def leavers_app(api_world, tmp_path_factory):
    """(client of an analyst, the leavers' ids) on a copy of the store where some scored lines of
    county A have left in the last month of data."""
    from fastapi.testclient import TestClient
    from tests.api._ended import store_with_leavers
    from tests.api.conftest import PASSWORD

    from churnradar.api import auth, create_app

    folder = tmp_path_factory.mktemp("leavers")
    path, leavers = store_with_leavers(api_world.store, folder, api_world.county_a)
    app = create_app(path, f"sqlite:///{folder / 'ops.sqlite'}")
    auth.add_user(app.state.engine, "leavers_analyst", PASSWORD, "analyst", actor="test")
    token = auth.create_token(app.state.engine, "leavers_analyst", "tests", actor="test")
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {token}"
    yield client, leavers
    app.state.data.close()


@pytest.fixture(scope="module")
def months(api) -> list[str]:
    rows = _query(api.world.store, "SELECT DISTINCT strftime(month, '%Y-%m') FROM usage_monthly ORDER BY 1")
    return [r[0] for r in rows]


def test_each_page_shows_only_the_filters_it_honours(analyst):
    shown = {
        path: set(_selects(analyst.get(path).text))
        for path in ("/", "/regions", "/reasons", "/packages", "/risk")
    }
    assert shown["/"] == {"month", "county", "grid"}
    assert shown["/regions"] == {"month", "county"}
    assert shown["/reasons"] == {"county", "grid", "customer_group", "brand", "package", "channel"}
    assert shown["/packages"] == {"month", "county", "grid", "brand"}
    assert shown["/risk"] >= {"county", "grid", "customer_group", "brand", "package", "channel", "segment",
                              "value", "risk", "status", "size"}  # fmt: skip
    # the month of the risk list is a score batch's: with one batch, the drop-down lists that month
    assert "month" in shown["/risk"]


def test_choices_are_names_in_the_pages_language(analyst, api):
    zh = _selects(analyst.get("/risk").text)
    for name in ("county", "customer_group", "brand", "package", "channel", "risk", "status"):
        assert zh[name], name
        for code, label in zh[name]:
            assert re.search(r"[\u4e00-\u9fff]", label), (name, code, label)  # a Chinese name, not a code
    en = _selects(analyst.get("/risk", cookies={"churnradar_lang": "en"}).text)
    for name in ("county", "customer_group", "brand", "channel", "status"):
        assert en[name] and all(not re.search(r"[\u4e00-\u9fff]", label) for _, label in en[name]), name
    assert dict(zh["status"]).keys() == {"active", "ended", "all"}


def test_regional_managers_drop_downs_list_only_their_regions(api):
    w = api.world
    page = api.login("rm_a").get("/risk").text
    bar = _selects(page)
    assert [c for c, _ in bar["county"]] == [w.county_a]
    grids_a = {r[0] for r in _query(w.store, "SELECT grid_id FROM region WHERE county_id = ?", [w.county_a])}
    assert {g for g, _ in bar["grid"]} == grids_a
    choices = api.client("rm_a").get("/api/filters", params={"page": "overview"}).json()
    assert [c["code"] for c in choices["county"]] == [w.county_a]
    assert {c["county"] for c in choices["grid"]} == {w.county_a}
    everyone = api.client("analyst").get("/api/filters", params={"page": "overview"}).json()
    assert {w.county_a, w.county_b} <= {c["code"] for c in everyone["county"]}


def test_a_region_outside_the_readers_scope_in_the_url_is_404_not_data(api):
    w = api.world
    grid_b = _query(w.store, "SELECT min(grid_id) FROM region WHERE county_id = ?", [w.county_b])[0][0]
    page, rest = api.login("rm_a"), api.client("rm_a")
    for path in ("/", "/regions", "/reasons", "/packages", "/risk"):
        r = page.get(path, params={"county": w.county_b})
        assert r.status_code == 404, path
        assert "<header" in r.text and w.county_b not in re.sub(r"<[^>]+>", "", r.text.split("<main>")[0])
    for path in ("/", "/reasons", "/packages", "/risk"):
        assert page.get(path, params={"grid": grid_b}).status_code == 404, path
    for path in (
        "/api/overview",
        "/api/churn/regions",
        "/api/churn/reasons",
        "/api/churn/packages",
        "/api/risk",
    ):
        r = rest.get(path, params={"county": w.county_b})
        assert r.status_code == 404 and "items" not in r.text and "rows" not in r.text, path
    assert rest.get("/api/risk/export.csv", params={"grid": grid_b}).status_code == 404
    # a grid of another county than the one chosen is not quietly dropped either
    analyst = api.client("analyst")
    assert analyst.get("/api/risk", params={"county": w.county_a, "grid": grid_b}).status_code == 404


def test_unknown_codes_and_months_are_refused_naming_the_choices(api, months):
    c = api.client("analyst")
    r = c.get("/api/churn/reasons", params={"brand": "platinum"})
    assert r.status_code == 400 and "platinum" in r.json()["detail"] and "premium" in r.json()["detail"]
    r = c.get("/api/overview", params={"month": "1999-01"})
    assert r.status_code == 400 and months[0] in r.json()["detail"] and months[-1] in r.json()["detail"]


def test_the_month_gives_that_months_figures_of_the_metrics_layer(api, months):
    w = api.world
    c = api.client("analyst")
    for m in (months[-1], months[-4], months[len(months) // 2]):
        ov = c.get("/api/overview", params={"month": m}).json()
        assert ov["month"][:7] == m and ov["data_month"][:7] == months[-1]
        want = store_metrics(w.store, m).values
        for card, mid in CARD_METRICS.items():
            assert ov["kpis"][card] == want[mid], (m, card)
        local = c.get("/api/overview", params={"month": m, "county": w.county_a}).json()
        want_a = store_metrics(w.store, m, region=w.county_a).values
        for card, mid in CARD_METRICS.items():
            assert local["kpis"][card] == want_a[mid], (m, card)
        assert local["kpis"]["subscribers"] < ov["kpis"]["subscribers"]
    early = c.get("/api/overview", params={"month": months[-4]}).json()
    late = c.get("/api/overview").json()
    assert early["kpis"]["subscribers"] != late["kpis"]["subscribers"]
    # the last three months' exits by the month left are not final: marked in the trend
    assert [m[:7] for m in late["provisional_months"]] == months[-3:]
    line = [row["churn_rate"] for row in late["monthly"]]
    assert all(v is not None for v in line[-3:])  # the cards' rate is dated by the month recorded: final


def test_the_overview_page_shows_the_chosen_month_and_marks_provisional_ones(analyst, months):
    page = analyst.get("/", params={"month": months[-6]}).text
    bar = _selects(page)
    assert dict(bar["month"]).keys() == set(months)
    selected = re.search(r'<option value="([^"]+)"[^>]*selected[^>]*>', page.split('name="month"')[1]).group(
        1
    )
    assert selected == months[-6]
    assert all(("暂估" in label) == (m in months[-3:]) for m, label in bar["month"])
    assert re.search(rf'id="data-month">{months[-1]}<', page)
    default = analyst.get("/").text
    assert (
        re.search(r'<option value="([^"]+)" selected', default.split('name="month"')[1]).group(1)
        == months[-1]
    )


def test_drill_window_ends_with_the_chosen_month_and_adds_up_to_its_total(api, months):
    c = api.client("analyst")
    now = c.get("/api/churn/regions").json()
    then = c.get("/api/churn/regions", params={"month": months[-4]}).json()
    assert then["month"][:7] == months[-4] and now["month"][:7] == months[-1]
    for d in (now, then):
        assert d["total"]["subscribers"] == sum(r["subscribers"] for r in d["rows"])
        assert d["total"]["churned_12m"] == sum(r["churned_12m"] for r in d["rows"])
    ov = c.get("/api/overview", params={"month": months[-4]}).json()
    assert then["total"]["subscribers"] == ov["kpis"]["subscribers"]


def test_risk_filters_on_line_attributes_keep_only_matching_lines(api):
    w = api.world
    c = api.client("analyst")
    attrs = {
        r[0]: r[1:]
        for r in _query(
            w.store,
            "SELECT s.subscriber_id, c.customer_group, s.brand, s.channel_id FROM subscription s "
            "LEFT JOIN customer c USING (customer_id)",
        )
    }
    choices = c.get("/api/filters", params={"page": "risk"}).json()
    for i, name in enumerate(("customer_group", "brand", "channel")):
        totals = 0
        for opt in choices[name]:
            got = c.get("/api/risk", params={name: opt["code"], "status": "all", "page_size": 200}).json()
            assert all(attrs[it["subscriber_id"]][i] == opt["code"] for it in got["items"]), (name, opt)
            totals += got["total"]
        everyone = c.get("/api/risk", params={"status": "all", "page_size": 1}).json()["total"]
        missing = sum(1 for a in attrs.values() if a[i] is None)
        assert everyone - missing <= totals <= everyone, name  # the choices partition the lines


def test_status_splits_the_list_and_the_default_is_active_lines(leavers_app):
    c, leavers = leavers_app
    n = {
        s: c.get("/api/risk", params={"status": s, "page_size": 200}).json()
        for s in ("active", "ended", "all")
    }
    default = c.get("/api/risk", params={"page_size": 1}).json()
    assert default["total"] == n["active"]["total"]
    assert n["active"]["total"] + n["ended"]["total"] == n["all"]["total"] and n["ended"]["total"] > 0
    # the copy's leavers, and lines the simulator pre-deregistered on the arrears path
    ended = {i["subscriber_id"]: i["status"] for i in n["ended"]["items"]}
    assert set(leavers) <= set(ended) and set(ended.values()) == set(END_KINDS)
    assert {i["status"] for i in n["active"]["items"]} <= IN_SERVICE_STATES


def test_export_has_the_total_rows_of_every_filter_shown(api, leavers_app, tmp_path):
    w = api.world
    c, _ = leavers_app
    brand = c.get("/api/filters", params={"page": "risk"}).json()["brand"][0]["code"]
    for params in (
        {"status": "ended"},
        {"status": "all", "county": w.county_a, "brand": brand},
        {"county": w.county_a, "grid": w.grid_a, "risk": "medium"},
        {"status": "ended", "sort": "subscriber"},
    ):
        listed = c.get("/api/risk", params={**params, "page_size": 200}).json()
        r = c.get("/api/risk/export.csv", params=params)
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert len(rows) == listed["total"] > 0, params
        assert [x["subscriber_id"] for x in rows[:200]] == [i["subscriber_id"] for i in listed["items"]], (
            params
        )
        x = c.get("/api/risk/export.csv", params={**params, "format": "xlsx"})
        (tmp_path / "r.xlsx").write_bytes(x.content)
        ws = openpyxl.load_workbook(tmp_path / "r.xlsx").active
        header = [cell.value for cell in ws[1]]
        ids = [row[header.index("subscriber_id")] for row in ws.iter_rows(min_row=2, values_only=True)]
        assert ids == [x["subscriber_id"] for x in rows], params


def test_the_risk_page_export_links_carry_every_filter_shown(api):
    w = api.world
    c = api.login("analyst")
    params = {"status": "all", "county": w.county_a, "grid": w.grid_a, "sort": "-health"}
    frag = c.get("/risk", params=params, headers={"HX-Request": "true"}).text
    links = [html.unescape(h) for h in re.findall(r'id="risk-export-(?:csv|xlsx)" href="([^"]+)"', frag)]
    assert len(links) == 2
    for link in links:
        for k, v in params.items():
            assert f"{k}={v}" in link, (k, link)
    total = int(re.search(r'data-total="(\d+)"', frag).group(1))
    rows = list(csv.DictReader(io.StringIO(c.get(links[0]).content.decode("utf-8-sig"))))
    assert len(rows) == total > 0


def test_older_region_links_become_county_and_grid(api):
    w = api.world
    c = api.login("analyst")
    page = c.get("/risk", params={"region": w.grid_a}).text
    bar = _selects(page)
    sel = dict(re.findall(r'<select name="(\w+)">.*?<option value="([^"]+)"[^>]*selected', page, re.S))
    assert sel["county"] == w.county_a and sel["grid"] == w.grid_a, sel
    assert bar["grid"]
    total = int(re.search(r'data-total="(\d+)"', page).group(1))
    assert total == api.client("analyst").get("/api/risk", params={"grid": w.grid_a}).json()["total"]


def test_sorting_the_risk_list_orders_every_page(api):
    c = api.client("analyst")
    asc = c.get("/api/risk", params={"sort": "subscriber", "page_size": 200}).json()
    ids = [i["subscriber_id"] for i in asc["items"]]
    assert ids == sorted(ids)
    desc = c.get("/api/risk", params={"sort": "-p", "page_size": 200}).json()
    ps = [i["p"] for i in desc["items"]]
    assert ps == sorted(ps, reverse=True)
    assert desc["items"] == c.get("/api/risk", params={"page_size": 200}).json()["items"]
    second = c.get("/api/risk", params={"sort": "subscriber", "page": 2, "page_size": 200}).json()
    if second["items"]:
        assert second["items"][0]["subscriber_id"] > ids[-1]
    assert c.get("/api/risk", params={"sort": "shoe_size"}).status_code == 400


def _reason_count(r: dict) -> int:
    return sum(x["n"] for x in r["labelled"]) + sum(x["n"] for x in r["predicted_top_reason"])


def test_reasons_by_brand_or_channel_add_up_to_all_reasons(api):
    w = api.world
    c = api.client("analyst")
    total = _reason_count(c.get("/api/churn/reasons").json())
    assert total > 0
    choices = c.get("/api/filters", params={"page": "reasons"}).json()
    for name, column in (("brand", "brand"), ("channel", "channel_id")):
        parts = [
            _reason_count(c.get("/api/churn/reasons", params={name: o["code"]}).json()) for o in choices[name]
        ]
        assert all(0 < n < total for n in parts), name
        unset = _query(w.store, f"SELECT count(*) FROM subscription WHERE {column} IS NULL")[0][0]
        assert sum(parts) == total or (unset and sum(parts) < total), name
    own = _reason_count(c.get("/api/churn/reasons", params={"county": w.county_a}).json())
    assert 0 < own < total


def test_packages_of_a_brand_and_their_total(api, months):
    c = api.client("analyst")
    brand = c.get("/api/filters", params={"page": "packages"}).json()["brand"][0]["code"]
    rows = c.get("/api/churn/packages", params={"brand": brand}).json()
    assert rows and {r["brand"] for r in rows} == {brand}
    then = c.get("/api/churn/packages", params={"month": months[-4]}).json()
    ov = c.get("/api/overview", params={"month": months[-4]}).json()
    assert sum(r["subscribers"] for r in then) == ov["kpis"]["subscribers"]
    page = api.login("analyst").get("/packages").text
    assert re.search(r'<tr class="total">.*?</tr>', page, re.S)


@pytest.fixture(scope="module")
def two_batches(api_world, tmp_path_factory):
    """(client of an analyst, newest month, earlier month, the earlier batch's ids) on a copy of the
    store with an earlier score batch: the newest batch's first 500 lines, dated a month before,
    their probabilities halved."""
    from fastapi.testclient import TestClient
    from tests.api.conftest import PASSWORD

    from churnradar.api import auth, create_app

    folder = tmp_path_factory.mktemp("two_batches")
    path = folder / "store.duckdb"
    shutil.copy(api_world.store, path)
    con = duckdb.connect(str(path))
    try:
        newest = con.execute("SELECT max(as_of) FROM score").fetchone()[0]
        cols = [r[0] for r in con.execute("DESCRIBE score").fetchall()]
        sel = ", ".join(
            "as_of - INTERVAL 1 MONTH" if c == "as_of" else (f"{c} / 2" if c.startswith("p_churn_") else c)
            for c in cols
        )
        con.execute(
            f"INSERT INTO score SELECT {sel} FROM score WHERE as_of = ? ORDER BY subscriber_id LIMIT 500",
            [newest],
        )
        earlier_ids = {
            r[0]
            for r in con.execute(
                "SELECT subscriber_id FROM score WHERE as_of = ? - INTERVAL 1 MONTH", [newest]
            ).fetchall()
        }
    finally:
        con.close()
    app = create_app(path, f"sqlite:///{folder / 'ops.sqlite'}")
    auth.add_user(app.state.engine, "batches_analyst", PASSWORD, "analyst", actor="test")
    token = auth.create_token(app.state.engine, "batches_analyst", "tests", actor="test")
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {token}"
    prev = (newest.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    yield client, newest.strftime("%Y-%m"), prev, earlier_ids
    app.state.data.close()


def test_the_risk_list_of_an_earlier_score_batch(two_batches):
    """The month drop-down lists the score batches, newest first and chosen by default; choosing the
    earlier month lists that batch (its lines, its probabilities) in the list, the page and the
    export, and a month without a batch is refused naming the scored months."""
    c, newest, earlier, ids = two_batches
    default = c.get("/api/risk", params={"status": "all", "page_size": 200}).json()
    chosen = c.get("/api/risk", params={"status": "all", "page_size": 200, "month": earlier}).json()
    assert default["model"]["as_of"][:7] == newest and chosen["model"]["as_of"][:7] == earlier
    assert chosen["total"] == len(ids) < default["total"]
    assert {i["subscriber_id"] for i in chosen["items"]} <= ids
    newest_p = {i["subscriber_id"]: i["p_churn_3m"] for i in default["items"]}
    halved = [
        (i["p_churn_3m"], newest_p[i["subscriber_id"]])
        for i in chosen["items"]
        if i["subscriber_id"] in newest_p
    ]
    assert halved and all(abs(a - b / 2) < 1e-9 for a, b in halved)  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(c.get("/api/risk/export.csv", params={"month": earlier}).text)))
    assert len(rows) == c.get("/api/risk", params={"month": earlier}).json()["total"]
    page = c.get("/risk", params={"month": earlier}).text
    months = dict(_selects(page)["month"])
    assert list(months) == [newest, earlier]
    assert re.search(rf'<option value="{earlier}" selected', page)
    assert f'id="score-month">{earlier}' in page and f'id="bar-score-month">{earlier}' in page
    # the list swapped alone (htmx) carries the bar's score month out of band
    for month in (earlier, newest):
        part = c.get("/risk", params={"month": month}, headers={"HX-Request": "true"}).text
        assert "<html" not in part
        assert f'<b id="bar-score-month" hx-swap-oob="true">{month}</b>' in part
    r = c.get("/api/risk", params={"month": "2019-01"})
    assert r.status_code == 400 and newest in r.json()["detail"] and earlier in r.json()["detail"]
