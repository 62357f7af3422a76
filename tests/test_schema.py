"""The canonical data model is consistent and its generated docs are current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from churnradar.cli import main
from churnradar.errors import UnknownTableError
from churnradar.schema import TABLES, TRUTH_TABLES, get_table
from churnradar.schema.docs import schema_markdown

ROOT = Path(__file__).resolve().parents[1]

DESIGN_TABLES = {
    "region",
    "package",
    "channel",
    "competitor",
    "customer",
    "subscription",
    "status_event",
    "usage_monthly",
    "recharge",  # optional: recharge days (a prepaid operator's recharge log)
    "billing_monthly",
    "interaction",
    "call_edge",
    "network_quality",
    "promotion",
    "campaign",
    "offer",
    "contact",
    "outcome",
    "survey_response",
    "consent",
}


def test_every_design_table_is_defined():
    assert set(TABLES) == DESIGN_TABLES


def test_docs_schema_md_is_current():
    committed = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert committed == schema_markdown(), (
        "docs/schema.md is stale: run `churnradar schema --markdown > docs/schema.md`"
    )


@pytest.mark.parametrize("table", [*TABLES.values(), *TRUTH_TABLES.values()], ids=lambda t: t.name)
def test_every_column_has_bilingual_meaning(table):
    assert table.en and table.zh
    for col in table.columns:
        assert col.en.strip() and col.zh.strip(), f"{table.name}.{col.name} lacks a meaning"


def test_references_point_to_earlier_tables_keys():
    order = list(TABLES)
    for name, table in TABLES.items():
        for col in table.columns:
            if col.references:
                parent, pcol = col.references.split(".")
                assert parent in TABLES, f"{name}.{col.name} references unknown table {parent}"
                assert order.index(parent) <= order.index(name), f"{parent} must load before {name}"
                assert TABLES[parent].key == (pcol,), f"{col.references} is not the key of {parent}"


def test_pii_columns_are_hashed_names_with_raw_input_names():
    pii = [(t.name, c) for t in TABLES.values() for c in t.columns if c.pii]
    assert {c.pii for _, c in pii} == {"msisdn", "certificate", "imei"}
    for _, c in pii:
        assert c.name.endswith("_hash") and c.raw_name and not c.raw_name.endswith("_hash")


def test_unknown_table_error_names_valid_tables():
    with pytest.raises(UnknownTableError, match="expected one of region, package"):
        get_table("subscriber")


def test_cli_schema_json_and_unknown_table(capsys):
    assert main(["schema", "consent", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["consent"]["key"] == ["subscriber_id", "channel"]
    assert main(["schema", "nope"]) == 1
    assert "unknown table 'nope'" in capsys.readouterr().err
