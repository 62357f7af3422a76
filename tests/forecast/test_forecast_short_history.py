"""A 12-month operator (the demo's default): the CLI and the forecast report forecast with
non-seasonal models and say so."""

from __future__ import annotations

import shutil

import pytest

from churnradar.cli import main
from churnradar.forecast import model_note


@pytest.fixture(scope="module")
def store(small_operator, tmp_path_factory):
    path = tmp_path_factory.mktemp("forecast") / "store.duckdb"
    shutil.copy(small_operator.store, path)
    return path


def test_cli_forecasts_a_12_month_store_and_names_the_models(store, capsys):
    assert main(["forecast", "--store", str(store), "--months", "3"]) == 0
    out = capsys.readouterr().out
    assert model_note("en") in out
    assert "naive" in out and "seasonal-naive" not in out
    # one row per series and month: the operator's total and each county, three months ahead
    months = [line for line in out.splitlines() if "2025-0" in line]
    assert len(months) >= 3 * 2 and all("AutoETS" in m or "AutoARIMA" in m for m in months)


def test_forecast_report_on_a_12_month_store_states_the_non_seasonal_models(store):
    from churnradar.reports import ReportContext, build_report

    with ReportContext.open(store, None, lang="zh") as ctx:
        rep = build_report(ctx, "forecast")
    assert rep.findings[0] == model_note("zh") == "历史不足18个月，使用非季节性模型"
    res = rep.data["result"]
    assert not res.seasonal and len(res.forecast) and res.forecast["forecast"].notna().all()
    assert res.note("en") == model_note("en")
    charts = [s for s in rep.sections if s.key.startswith("forecast_")]
    assert charts and all(model_note("zh") in s.note for s in charts)
