"""The demo (README's first command) runs every stage end to end on a small operator."""

from __future__ import annotations

import json

import duckdb
from typer.testing import CliRunner


def test_demo_runs_every_stage_and_writes_reports(tmp_path):
    from churnradar.cli import app

    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--subscribers", "1500", "--months", "12", "--no-serve", "--json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    summary = json.loads(text[text.index("{") :])["summary"]
    assert summary["subscribers"] >= 1500  # the opening base plus lines opened since
    assert summary["labels"]["by_kind"]  # churn of some kind was labelled
    assert summary["features"]["rows"] > 0
    reports = summary["reports"]
    assert len(reports["files"]) == 10
    assert all((out / "reports").joinpath(p.split("/")[-1]).stat().st_size > 10_000 for p in reports["files"])
    assert (out / "reports" / reports["diagnosis"].split("/")[-1]).exists()
    con = duckdb.connect(str(out / "churnradar.duckdb"), read_only=True)
    try:
        # the label stage kept the churn events for the report run to reuse
        (versions,) = con.sql("SELECT count(DISTINCT data_version) FROM churn_event").fetchone()
        (scored,) = con.sql("SELECT count(*) FROM score").fetchone()
    finally:
        con.close()
    assert versions == 1
    assert scored > 0
