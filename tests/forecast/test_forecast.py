"""Forecast on synthetic monthly counts: model choice by backtest, intervals, scenario, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnradar.forecast import BASELINE, ForecastError, Scenario, backtest, forecast_series


def _series(months: int = 24, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-01", periods=months, freq="MS")
    rows = []
    for uid, level, slope in (("A", 300, 6.0), ("B", 120, 3.0)):
        season = 1 + 0.25 * (ds.month == 2)  # a Spring-Festival-like February peak
        mu = (level + slope * np.arange(months)) * season
        rows.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": rng.poisson(mu).astype(float)}))
    return pd.concat(rows, ignore_index=True)


def test_chosen_model_beats_seasonal_naive_on_a_trending_seasonal_series():
    res = forecast_series(_series(), months=6)
    s = res.summary()
    assert s["chosen_mape"] < s["seasonal_naive_mape"]
    assert set(res.chosen.values()) <= {"AutoETS", "AutoARIMA"}


def test_intervals_nest_and_scenario_lowers_by_coverage_times_effect():
    scenario = Scenario(coverage=0.5, effect=0.2)
    res = forecast_series(_series(), months=4, scenario=scenario)
    f = res.forecast
    assert len(f) == 8
    assert (
        (f.lo_95 <= f.lo_80) & (f.lo_80 <= f.forecast) & (f.forecast <= f.hi_80) & (f.hi_80 <= f.hi_95)
    ).all()
    assert np.allclose(f.scenario_forecast, f.forecast * 0.9)


def test_backtest_reports_every_model_per_series():
    bt = backtest(_series(), horizon=3, n_windows=2)
    assert set(bt["model"]) == {"AutoETS", "AutoARIMA", BASELINE}
    assert set(bt["unique_id"]) == {"A", "B"} and (bt["mape"] >= 0).all()


def test_history_too_short_even_without_a_season_is_rejected_with_what_is_needed():
    with pytest.raises(ForecastError, match=r"has 9 complete months; the backtest needs at least 10"):
        forecast_series(_series(months=9), months=3)


@pytest.mark.parametrize("months", [12, 14])
def test_history_shorter_than_18_months_is_forecast_without_a_season_and_says_so(months):
    """The demo's 12 months: ETS and ARIMA without a season, measured against the naive forecast
    (last month again), and the result names it in zh-CN and English."""
    res = forecast_series(_series(months=months), months=6)
    s = res.summary()
    assert s["seasonal"] is False and s["history_months"] == months
    assert res.baseline == "Naive" and set(s["backtest_mape"]) == {"AutoETS", "AutoARIMA", "Naive"}
    assert s["naive_mape"] is not None and s["seasonal_naive_mape"] is None
    f = res.forecast
    assert len(f) == 12 and f["forecast"].notna().all() and (f["forecast"] > 0).all()
    assert f["seasonal_naive"].isna().all()  # no same month last year: a gap, never 0
    assert ((f.lo_95 <= f.lo_80) & (f.lo_80 <= f.forecast) & (f.forecast <= f.hi_80)).all()
    assert res.note("zh") == "历史不足18个月，使用非季节性模型"
    assert res.note("en") == "History shorter than 18 months: non-seasonal models are used"


def test_18_months_or_more_keep_the_seasonal_models():
    res = forecast_series(_series(months=18), months=3)
    assert res.seasonal and res.note("zh") is None and res.baseline == BASELINE
    assert set(res.backtest["model"]) == {"AutoETS", "AutoARIMA", BASELINE}


def test_scenario_and_horizon_ranges_are_checked():
    with pytest.raises(ForecastError, match=r"coverage 1\.5 is out of range"):
        Scenario(coverage=1.5)
    with pytest.raises(ForecastError, match="expected 1 to 24"):
        forecast_series(_series(), months=30)
