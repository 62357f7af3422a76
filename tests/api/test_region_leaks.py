"""Nothing a regional manager downloads holds another region's id or name: every GET route of the app
(enumerated, never listed by hand), every report in every format, forecasts and CSV exports.

The scan looks for the other counties' ids and names (zh-CN and en) and their grids' ids and names
in the raw bytes of each answer; a workbook is unzipped and every XML part (sheets, shared strings,
charts) is scanned. The one legitimate exception is an acquisition channel: a subscriber of the
manager's county may have been signed up by another county's shop, whose name ("<county> social
agent") labels that subscriber's own figures; those channel labels are removed before scanning.
"""

from __future__ import annotations

import io
import zipfile

import duckdb
import pytest
from tests.api._routes import all_calls, fill, query_choices

from churnradar.reports import report_names

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the reports read the analytical store only; on PostgreSQL the route sweep (scopes read from the
#: operational store) is kept, the report-by-report sweeps would repeat the SQLite ones
POSTGRES_KEEP = ("test_every_get_route_holds_only_own_region", "test_scan_finds_a_planted_name")


def _region_facts(store, own_county: str) -> tuple[set[str], set[str]]:
    """(strings of every other region, channel labels of the own county's subscribers)."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        other = set()
        for row in con.execute(
            "SELECT county_id, county_name, county_name_en, grid_id, grid_name FROM region WHERE county_id <> ?",
            [own_county],
        ).fetchall():
            other |= {x for x in row if x}
        allowed = set()
        for row in con.execute(
            """SELECT DISTINCT ch.channel_name, ch.channel_name_en FROM subscription s
               JOIN region r USING (grid_id) JOIN channel ch USING (channel_id) WHERE r.county_id = ?""",
            [own_county],
        ).fetchall():
            allowed |= {x for x in row if x}
    finally:
        con.close()
    return other, allowed


def readable(body: bytes, content_type: str) -> str:
    """The text of an answer; a workbook's XML parts joined (shared strings, sheets, charts)."""
    if content_type.startswith(XLSX) or body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith((".xml", ".rels")))
    return body.decode("utf-8-sig", errors="replace")


def leaks(text: str, other: set[str], allowed: set[str]) -> set[str]:
    for label in sorted(allowed, key=len, reverse=True):
        text = text.replace(label, "")
    return {s for s in other if s in text}


@pytest.fixture(scope="module")
def facts(api):
    return _region_facts(api.world.store, api.world.county_a)


def _own_values(api, name: str = "churn") -> dict[str, str]:
    w = api.world
    a = w.county_a
    return {
        "subscriber_id": w.subs[a][0],
        "campaign_id": w.ops_campaign[a],
        "contact_id": w.ops_contacts[a][1],
        "county": a,
        "code": "en",
        "name": name,
    }


def _report_call(api):
    return next(c for c in all_calls(api.app) if c.template == "/api/reports/{name}" and c.method == "GET")


def _check_reports(api, facts, name, variants) -> None:
    other, allowed = facts
    w = api.world
    call = _report_call(api)
    formats = query_choices(api.app, call, "format")
    listed = next(r for r in api.client("analyst").get("/api/reports").json() if r["name"] == name)
    assert set(listed["formats"]) == set(formats) and {"html", "xlsx"} <= set(formats)
    c = api.client("rm_a")
    for fmt in formats:
        for params in variants(fmt, w.county_a):
            r = c.get(fill(call.template, {"name": name}), params=params)
            assert r.status_code == 200, (params, r.text[:300])
            assert w.county_a in r.headers["content-disposition"]
            found = leaks(readable(r.content, r.headers["content-type"]), other, allowed)
            assert not found, f"{name} {params}: holds {sorted(found)[:8]}"


@pytest.mark.parametrize("name", report_names())
def test_every_report_in_every_format_holds_only_own_region(api, facts, name):
    """rm_a's download of each report in each format the route offers names only their county
    (html without a county, the others with their county in English)."""

    def variants(fmt, county):
        return [{"format": fmt}] if fmt == "html" else [{"format": fmt, "county": county, "lang": "en"}]

    _check_reports(api, facts, name, variants)


@pytest.mark.hostile
@pytest.mark.parametrize("name", report_names())
def test_every_report_format_language_and_county_holds_only_own_region(api, facts, name):
    call = _report_call(api)
    langs = query_choices(api.app, call, "lang")
    assert {"zh", "en"} <= set(langs)

    def variants(fmt, county):
        return [{"format": fmt, "lang": lang, **c} for lang in langs for c in ({}, {"county": county})]

    _check_reports(api, facts, name, variants)


def test_every_get_route_holds_only_own_region(api, facts):
    """Every GET route of the app (API and pages) for rm_a, with their own objects and county."""
    other, allowed = facts
    w = api.world
    checked = 0
    for client_kind in ("token", "session"):
        c = api.client("rm_a") if client_kind == "token" else api.login("rm_a")
        for call in all_calls(api.app):
            if call.method != "GET" or call.template in ("/login", "/lang/{code}", "/api/reports/{name}"):
                continue
            params = {"county": w.county_a, "region": w.county_a}
            r = c.get(fill(call.template, _own_values(api)), params=params, follow_redirects=False)
            assert r.status_code < 500, f"{call}: {r.status_code}"
            found = leaks(readable(r.content, r.headers.get("content-type", "")), other, allowed)
            assert not found, f"{client_kind} {call} -> {r.status_code} holds {sorted(found)[:8]}"
            checked += 1
    assert checked >= 30


def test_forecast_summary_names_only_own_region(api, facts):
    other, allowed = facts
    r = api.client("rm_a").get("/api/forecast", params={"months": 3})
    assert r.status_code == 200
    assert not leaks(r.text, other, allowed)


def test_scan_finds_a_planted_name(api, facts):
    """The scan itself works: another county's id in a workbook's shared strings is found."""
    other, allowed = facts
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/sharedStrings.xml", f"<sst><si><t>{api.world.county_b}</t></si></sst>")
    assert leaks(readable(buf.getvalue(), XLSX), other, allowed) == {api.world.county_b}
