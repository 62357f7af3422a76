"""The risk list's export gives the rows on screen (issue 18, item 3): the same query string as
``GET /api/risk`` returns exactly its ``total`` rows, as CSV or (``format=xlsx``) as a workbook, and
the page's export links follow the filters htmx applies."""

from __future__ import annotations

import csv
import html
import io
import re

import openpyxl

#: reads the analytical store only: run on SQLite alone (login and the operational store are
#: covered on PostgreSQL by test_access, test_security, test_outcomes and the others)
OPS_STORE = False


def _filters(api) -> list[dict]:
    return [{"risk": "medium"}, {"region": api.world.county_a, "risk": "high"}, {}]


def test_export_returns_exactly_the_filtered_total_as_csv_and_xlsx(api, tmp_path):
    c = api.client("analyst")
    for params in _filters(api):
        listed = c.get("/api/risk", params={**params, "page_size": 200}).json()
        total = listed["total"]
        r = c.get("/api/risk/export.csv", params=params)  # the same query string as the list
        assert r.status_code == 200
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert len(rows) == total, params
        assert [x["subscriber_id"] for x in rows[:200]] == [i["subscriber_id"] for i in listed["items"]]

        x = c.get("/api/risk/export.csv", params={**params, "format": "xlsx"})
        assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
        path = tmp_path / "risk.xlsx"
        path.write_bytes(x.content)
        ws = openpyxl.load_workbook(path).active
        header = [c.value for c in ws[1]]
        ids = [r[header.index("subscriber_id")] for r in ws.iter_rows(min_row=2, values_only=True)]
        assert ids == [r["subscriber_id"] for r in rows], params
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
        numeric = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, float)]
        assert not numeric or all(c.number_format != "General" for c in numeric)


def test_risk_page_export_links_carry_the_filters_of_the_fragment(api):
    c = api.login("analyst")
    frag = c.get("/risk", params={"risk": "medium"}, headers={"HX-Request": "true"}).text
    links = [html.unescape(h) for h in re.findall(r'id="risk-export-(?:csv|xlsx)" href="([^"]+)"', frag)]
    assert len(links) == 2 and all("risk=medium" in h for h in links)
    total = int(re.search(r'data-total="(\d+)"', frag).group(1))
    r = c.get(links[0])
    assert len(list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))) == total
