"""Segment and value-tier filters of the risk list are drop-downs with names in the page's language,
whose codes filter the list (issue 18, item 6)."""

from __future__ import annotations

import html
import re

#: reads the analytical store only: run on SQLite alone (login and the operational store are
#: covered on PostgreSQL by test_access, test_security, test_outcomes and the others)
OPS_STORE = False


def _options(page: str, name: str) -> list[tuple[str, str]]:
    m = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    assert m, name
    return [
        (html.unescape(v), html.unescape(label).strip())
        for v, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', m.group(1))
        if v
    ]


def test_segment_and_value_filters_are_named_choices_that_filter(api):
    c = api.login("analyst")
    page = c.get("/risk").text
    segments, tiers = _options(page, "segment"), _options(page, "value")
    assert len(segments) >= 9 and len(tiers) == 3
    for _, label in segments + tiers:
        assert not label.isascii(), label  # zh names, not codes like high×very_high
    api_client = api.client("analyst")
    hits = 0
    for code, _ in segments:
        items = api_client.get("/api/risk", params={"segment": code, "page_size": 50}).json()["items"]
        assert all(i["segment"] == code for i in items)
        hits += bool(items)
    assert hits >= 3  # the choices are the codes the scores carry
    for code, _ in tiers:
        items = api_client.get("/api/risk", params={"value": code, "page_size": 50}).json()["items"]
        assert items and {i["value_tier"] for i in items} == {code}


def test_english_page_names_the_choices_in_english(api):
    c = api.login("analyst")
    c.get("/lang/en", params={"next": "/risk"})
    page = c.get("/risk").text
    labels = [label for _, label in _options(page, "segment") + _options(page, "value")]
    assert labels and all(" " in label and "_" not in label for label in labels)
    assert all(re.search(r"[\u4e00-\u9fff]", label) is None for label in labels)
