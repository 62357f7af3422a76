"""Numbers on the dashboard's pages read like a report (issue 18, item 10): months as YYYY-MM, rates
with %, amounts with thousands separators, numeric cells right-aligned (class ``n``)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: reads the analytical store only: run on SQLite alone (login and the operational store are
#: covered on PostgreSQL by test_access, test_security, test_outcomes and the others)
OPS_STORE = False

NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?%?$")


class _Table(HTMLParser):
    """Body rows of the table with ``id``: each a list of (classes, text) per cell."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.depth, self.in_body = table_id, 0, False
        self.rows: list[list[tuple[list[str], str]]] = []
        self.cell: tuple[list[str], list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            if self.depth or a.get("id") == self.table_id:
                self.depth += 1
        elif self.depth and tag == "tbody":
            self.in_body = True
        elif self.depth and self.in_body and tag == "tr":
            self.rows.append([])
        elif self.depth and self.in_body and tag == "td":
            self.cell = ((a.get("class") or "").split(), [])

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append((self.cell[0], "".join(self.cell[1]).strip()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1].append(data)


def _rows(html: str, table_id: str):
    p = _Table(table_id)
    p.feed(html)
    return p.rows


def test_score_month_is_shown_as_a_month(api):
    c = api.login("analyst")
    for path in ("/", "/risk"):
        m = re.search(r'<span id="score-month">([^<]*)</span>', c.get(path).text)
        assert m and re.fullmatch(r"\d{4}-\d{2}", m.group(1)), path


def test_subscriber_history_is_formatted_and_right_aligned(api):
    c = api.login("analyst")
    sid = api.world.subs[api.world.county_a][0]
    rows = _rows(c.get(f"/subscribers/{sid}").text, "history-table")
    assert rows
    big = 0
    for cells in rows:
        assert re.fullmatch(r"\d{4}-\d{2}", cells[0][1]), cells[0]
        for classes, text in cells[1:]:
            assert "n" in classes, (classes, text)
            assert text == "" or NUMBER.match(text), text
            big += "," in text
    assert big > 0  # some amount of 1,000 or more shows its separator


def test_risk_table_numbers_are_right_aligned_and_rates_are_percent(api):
    c = api.login("analyst")
    rows = _rows(c.get("/risk").text, "risk-table")
    assert rows
    for cells in rows:
        classes, text = cells[4]
        assert "n" in classes and re.fullmatch(r"\d{1,3}\.\d%", text), cells[4]


def test_risk_table_shows_package_names_before_codes(api):
    c = api.login("analyst")
    names = {pk["package_id"]: pk["package_name"] for pk in api.app.state.data.packages()}
    rows = _rows(c.get("/risk").text, "risk-table")
    assert rows
    for cells in rows:
        _, text = cells[3]
        code = text.split()[-1]
        assert code in names and text.startswith(names[code]), text


def test_subscriber_events_name_their_reasons_in_the_page_language(api):
    from churnradar.schema import enums as E

    c = api.login("analyst")
    w = api.world
    codes = set(E.EVENT_REASON)
    seen = 0
    for sid in w.subs[w.county_a][:40]:
        for cells in _rows(c.get(f"/subscribers/{sid}").text, "event-table"):
            reason = cells[2][1]
            assert reason not in codes, reason  # 欠费, not arrears
            seen += bool(reason)
    assert seen > 0


def test_model_metrics_are_a_table_not_raw_json(api):
    c = api.login("analyst")
    page = c.get("/model").text
    rows = _rows(page, "model-metrics")
    numbers = [text for cells in rows for classes, text in cells if "n" in classes]
    assert len(numbers) >= 3 and all(NUMBER.match(n) for n in numbers), numbers[:5]
    assert '<pre class="json" id="model-metrics">' not in page
