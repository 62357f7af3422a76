"""The report, diagnose and forecast commands: files written, one-line errors."""

from __future__ import annotations

import json

from churnradar.cli import main


def test_report_command_writes_an_xlsx_workbook(report_operator, tmp_path, capsys):
    code = main(
        [
            "report",
            "kpi",
            "--store",
            str(report_operator.store),
            "--as-of",
            "2025-03",
            "--format",
            "xlsx",
            "--out",
            str(tmp_path),
            "--lang",
            "en",
            "--json",
        ]
    )
    assert code == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert files == [str(tmp_path / "kpi-2025-03.xlsx")]


def test_diagnose_command_writes_one_report_for_one_county(report_operator, tmp_path, capsys):
    code = main(
        [
            "diagnose",
            "--store",
            str(report_operator.store),
            "--month",
            "2025-02",
            "--region",
            "南湾开发区",
            "--out",
            str(tmp_path),
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["file"].endswith("diagnosis-2025-02-YC06.html")
    assert out["findings"]


def test_unknown_report_name_is_one_line_error_naming_the_choices(report_operator, tmp_path, capsys):
    code = main(["report", "churnz", "--store", str(report_operator.store), "--out", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) <= 2 and "churnz" in err and "anomaly" in err


def test_bad_language_is_rejected(report_operator, tmp_path, capsys):
    code = main(
        ["report", "kpi", "--store", str(report_operator.store), "--out", str(tmp_path), "--lang", "fr"]
    )
    assert code == 1
    assert "zh-CN, en" in capsys.readouterr().err
