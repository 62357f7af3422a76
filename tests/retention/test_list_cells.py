"""Contact lists (CSV and XLSX) write every text cell as text: a region or segment name that starts
like a formula is never run by a spreadsheet, and numbers stay numbers."""

from __future__ import annotations

import csv

import pandas as pd
from tests.reports.test_safe_cells import HYPERLINK, formulas_in
from tests.retention.test_campaign_records import OFFERS, consent_store

from churnradar.retention.campaigns import create_campaign
from churnradar.retention.contacts import export_lists


def test_contact_lists_never_hold_formulas(ops, tmp_path):
    members = pd.DataFrame(
        {
            "subscriber_id": [f"U{i:05d}" for i in range(60)],
            "segment": ["=1+1", "@SUM(1)", "-risky"] * 20,
            "region": [HYPERLINK] * 60,
        }
    )
    store = consent_store(tmp_path / "a.duckdb", members["subscriber_id"])
    res = create_campaign(ops, members, OFFERS, name="t", as_of="2024-06", store_path=store, seed=3)
    out = export_lists(ops, store, res.campaign_id, tmp_path / "lists")
    csvs = [f for f in out["files"] if f.endswith(".csv")]
    xlsxs = [f for f in out["files"] if f.endswith(".xlsx")]
    assert csvs and xlsxs and out["listed"] > 0
    for f in out["files"]:  # the region's text never leaves the output folder or names a path
        assert str(tmp_path / "lists") in f and '"' not in f.rsplit("/", 1)[-1]
    for f in csvs:
        with open(f, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and {r["region"] for r in rows} == {"'" + HYPERLINK}
        assert {r["segment"] for r in rows} <= {"'=1+1", "'@SUM(1)", "'-risky"}
        assert all(not r["cost"].startswith("'") and float(r["cost"]) > 0 for r in rows)
    for f in xlsxs:
        assert formulas_in(f) == []
        df = pd.read_excel(f)
        assert set(df["region"]) == {HYPERLINK} and df["cost"].dtype.kind in "if"
