"""Dashboard charts draw a month or region without a rate as a gap (``null``), never as 0%."""

from __future__ import annotations

import html
import json
import re

#: reads the analytical store only: run on SQLite alone (login and the operational store are
#: covered on PostgreSQL by test_access, test_security, test_outcomes and the others)
OPS_STORE = False


def _chart(page_html: str, element_id: str) -> dict:
    m = re.search(rf'id="{element_id}" data-chart="([^"]*)"', page_html)
    assert m, element_id
    return json.loads(html.unescape(m.group(1)))


def test_overview_trend_leaves_a_month_without_rate_as_a_gap(api, monkeypatch):
    data = api.app.state.data
    real = data.overview

    def overview_with_a_missing_rate(scope, *args, **kw):  # the page's filters passed through
        ov = real(scope, *args, **kw)
        monthly = [dict(m) for m in ov["monthly"]]
        monthly[-1]["churn_rate"] = None  # e.g. a month whose base is suppressed or not final
        return {**ov, "monthly": monthly}

    monkeypatch.setattr(data, "overview", overview_with_a_missing_rate)
    c = api.login("analyst")
    opt = _chart(c.get("/").text, "trend-chart")
    line = next(s for s in opt["series"] if s["type"] == "line")
    assert line["data"][-1] is None
    assert any(isinstance(v, float | int) and v > 0 for v in line["data"][:-1])


def test_region_chart_leaves_a_region_without_rate_as_a_gap(api, monkeypatch):
    data = api.app.state.data
    real = data.drill

    def drill_with_a_missing_rate(scope, county=None, *args, **kw):  # the page's month passed through
        d = real(scope, county, *args, **kw)
        rows = [dict(r) for r in d["rows"]]
        rows[0]["churn_rate_12m"] = None
        return {**d, "rows": rows}

    monkeypatch.setattr(data, "drill", drill_with_a_missing_rate)
    c = api.login("analyst")
    page = c.get("/regions").text
    m = re.search(r'data-chart="([^"]*)"', page)
    opt = json.loads(html.unescape(m.group(1)))
    bars = opt["series"][0]["data"]
    assert bars[0] is None and any(v for v in bars[1:])
