"""`churnradar metrics`: the catalogue, one month as JSON or a table, and its refusals."""

from __future__ import annotations

import json

from churnradar.cli import main
from churnradar.metrics import CATALOGUE


def test_list_prints_the_whole_catalogue_with_its_definitions(capsys):
    assert main(["metrics", "--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == list(CATALOGUE)
    assert all(r["definition_zh"] and r["definition_en"] for r in rows)


def test_month_as_json_and_as_a_table(small_operator, capsys):
    store = str(small_operator.store)
    assert main(["metrics", "--store", store, "--month", "2024-06", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["month"] == "2024-06" and got["region"] is None
    assert set(got["metrics"]) == set(CATALOGUE)
    m = got["metrics"]["offnet_rate"]
    assert m["value"] == got["metrics"]["deregistrations"]["value"] / got["metrics"]["lines_start"]["value"]
    assert m["unit"] == "ratio" and "上月末在网数" in m["definition_zh"]
    assert main(["metrics", "--store", store, "--month", "2024-06"]) == 0
    assert "离网率" in capsys.readouterr().out


def test_missing_store_month_or_unknown_region_is_one_error_line(small_operator, capsys):
    assert main(["metrics", "--month", "2024-06"]) == 1
    assert "--store" in capsys.readouterr().err
    assert (
        main(["metrics", "--store", str(small_operator.store), "--month", "2024-06", "--region", "XX"]) == 1
    )
    assert "not a county or grid" in capsys.readouterr().err
