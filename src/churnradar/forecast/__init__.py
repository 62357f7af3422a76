"""Churn-count forecast per region and month with statsforecast.

Series: off-net churners per county (and the whole city, ``ALL``) per month, dated by the
recorded deregistration or port-out by default (complete up to the last month of data; the
capacity-planning count), or by the month the customer left (complete three months earlier).

Per series, seasonal ETS (AutoETS) and ARIMA (AutoARIMA), both with a 12-month season, are compared
by rolling-origin backtest (``n_windows`` origins, ``horizon`` months each) on MAPE; the better one
forecasts, with 80% and 95% intervals. The seasonal-naive forecast (same month last year) is the
baseline every model must beat. A history too short for a seasonal backtest (fewer than
:data:`MIN_SEASONAL_MONTHS`, e.g. the 12 months of the demo) is forecast with the same models
without a season (ETS with a damped trend allowed, ARIMA) against the naive forecast (last month
again), and the result says so (``seasonal`` false, :func:`model_note`). A :class:`Scenario` of planned retention effort lowers the forecast
by ``coverage × effect`` (share of would-be churners reached × relative churn reduction when reached;
≈11% relative reduction in a randomised trial).

>>> from churnradar.forecast import forecast_store
>>> result = forecast_store("operator.duckdb", months=6)  # doctest: +SKIP
>>> result.backtest.groupby("model").mape.mean()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnradar.errors import ChurnRadarError
from churnradar.periods import add_months

SEASON = 12
#: Months of history a seasonal backtest needs: a season plus two windows of three months.
MIN_SEASONAL_MONTHS = SEASON + 3 * 2
#: Months the shortest fit of a non-seasonal model is given in the backtest (ETS fits no fewer).
MIN_FIT_MONTHS = 7
MODELS = ("AutoETS", "AutoARIMA")
#: The forecast report's columns per month, after the actual count.
FORECAST_COLUMNS = ("forecast", "lo_80", "hi_80", "lo_95", "hi_95", "seasonal_naive", "scenario_forecast")
BASELINE = "SeasonalNaive"
#: The baseline of a non-seasonal forecast: the last month again.
SHORT_BASELINE = "Naive"
LEVELS = (80, 95)
ALL = "ALL"


class ForecastError(ChurnRadarError):
    """The history is too short or a parameter is out of range."""


@dataclass(frozen=True)
class Scenario:
    """Planned retention effort: ``coverage`` of would-be churners reached, ``effect`` relative reduction."""

    name: str = "retention"
    coverage: float = 0.3
    effect: float = 0.11

    def __post_init__(self) -> None:
        for k in ("coverage", "effect"):
            v = getattr(self, k)
            if not 0 <= v <= 1:
                raise ForecastError(f"scenario {k} {v} is out of range; expected between 0 and 1")

    @property
    def multiplier(self) -> float:
        return 1 - self.coverage * self.effect


@dataclass
class ForecastResult:
    """History, backtest, chosen model per series and the forecast with intervals."""

    history: pd.DataFrame
    backtest: pd.DataFrame
    chosen: dict[str, str]
    forecast: pd.DataFrame
    scenario: Scenario | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: False when the history was too short for a season (:data:`MIN_SEASONAL_MONTHS`)
    seasonal: bool = True

    @property
    def baseline(self) -> str:
        """The baseline the models were measured against: ``SeasonalNaive`` or ``Naive``."""
        return BASELINE if self.seasonal else SHORT_BASELINE

    def note(self, lang: str = "en") -> str | None:
        """What a reader must know about the models (a short history), in ``lang``; None otherwise."""
        return None if self.seasonal else model_note(lang)

    def summary(self) -> dict[str, Any]:
        bt = self.backtest
        mape = bt.groupby("model")["mape"].mean().to_dict() if len(bt) else {}
        chosen_mape = (
            float(
                np.mean(
                    [bt[(bt.unique_id == u) & (bt.model == m)]["mape"].mean() for u, m in self.chosen.items()]
                )
            )
            if len(bt)
            else None
        )
        return {
            "series": len(self.chosen),
            "horizon": int(self.forecast["ds"].nunique()) if len(self.forecast) else 0,
            "backtest_mape": {k: round(float(v), 4) for k, v in mape.items()},
            "chosen_mape": None if chosen_mape is None else round(chosen_mape, 4),
            "seasonal_naive_mape": _rounded(mape.get(BASELINE)),
            "naive_mape": _rounded(mape.get(SHORT_BASELINE)),
            "seasonal": self.seasonal,
            "history_months": int(self.history.groupby("unique_id").size().min()) if len(self.history) else 0,
            "chosen": self.chosen,
            **self.meta,
        }


def _rounded(v: Any) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 4)


def model_note(lang: str = "en") -> str:
    """The note of a forecast made without a season (a history shorter than
    :data:`MIN_SEASONAL_MONTHS`), in ``lang``."""
    from churnradar.i18n import t

    return t("forecast.nonseasonal", lang, months=MIN_SEASONAL_MONTHS)


def churn_series(ctx, dating: str = "recorded") -> pd.DataFrame:
    """Monthly off-net churners per county and in total: ``unique_id``, ``ds`` (month start), ``y``.

    ``dating="recorded"`` counts by the recorded deregistration / port-out month (complete up to the
    last month of data); ``"left"`` by the month customers left (complete three months earlier).
    """
    import ibis

    ch = ctx.churn()
    if dating == "recorded":
        col = "recorded_month" if ctx.dating == "left" else "churn_month"
        first, last = ctx.first_data_month, min(ctx.last_data_month, ctx.as_of)
    else:
        col = "churn_month" if ctx.dating == "left" else None
        if col is None:
            raise ForecastError("dating 'left' needs a context dated by the month customers left")
        first, last = add_months(ctx.first_data_month, 1), min(ctx.complete_through, ctx.as_of)
    ch = ch.filter(ch[col].between(ibis.literal(first), ibis.literal(last)))
    df = ctx.run(ch.group_by(["county_id", ch[col].name("month")]).agg(y=ch.count()))
    months = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS")
    counties = sorted(ctx.counties)  # the report's scope: every county, one, or a caller's
    full = pd.MultiIndex.from_product([counties, months], names=["unique_id", "ds"]).to_frame(index=False)
    df = df.rename(columns={"county_id": "unique_id", "month": "ds"})
    df["ds"] = pd.to_datetime(df["ds"])
    df = full.merge(df, on=["unique_id", "ds"], how="left").fillna({"y": 0})
    tot = df.groupby("ds", as_index=False)["y"].sum().assign(unique_id=ALL)
    out = pd.concat([tot, df], ignore_index=True)[["unique_id", "ds", "y"]]
    out["y"] = out["y"].astype(float)
    return out


def _models(seasonal: bool = True):
    """AutoETS, AutoARIMA and the baseline: with a 12-month season, or none (ETS then chooses
    among error and trend forms, a damped trend included, with no seasonal component)."""
    from statsforecast.models import AutoARIMA, AutoETS, Naive, SeasonalNaive

    if not seasonal:
        return [AutoETS(season_length=1, model="ZZN"), AutoARIMA(season_length=1), Naive()]
    return [
        AutoETS(season_length=SEASON, model="ZZZ"),
        AutoARIMA(season_length=SEASON),
        SeasonalNaive(season_length=SEASON),
    ]


def is_seasonal(series: pd.DataFrame, horizon: int = 3, n_windows: int = 2) -> bool:
    """Whether ``series`` is long enough for the seasonal backtest (a season plus the windows)."""
    n = series.groupby("unique_id").size().min()
    return bool(n >= SEASON + horizon * n_windows)


def _mape(y: np.ndarray, f: np.ndarray) -> float:
    m = y > 0
    return float(np.mean(np.abs(y[m] - f[m]) / y[m])) if m.any() else np.nan


def backtest(
    series: pd.DataFrame, horizon: int = 3, n_windows: int = 2, seasonal: bool = True
) -> pd.DataFrame:
    """Rolling-origin backtest: MAPE per series and model (AutoETS, AutoARIMA and the baseline,
    SeasonalNaive, or Naive when ``seasonal`` is false)."""
    from statsforecast import StatsForecast

    n = series.groupby("unique_id").size().min()
    need = (SEASON if seasonal else MIN_FIT_MONTHS) + horizon * n_windows
    if n < need:
        kind = f"{SEASON}-month season" if seasonal else f"{MIN_FIT_MONTHS} months to fit"
        raise ForecastError(
            f"the churn history has {n} complete months; the backtest needs at least "
            f"{need} ({kind} + {n_windows} windows of {horizon})"
        )
    baseline = BASELINE if seasonal else SHORT_BASELINE
    sf = StatsForecast(models=_models(seasonal), freq="MS", n_jobs=1)
    with warnings.catch_warnings():  # AutoETS divides by zero residual dof on short candidate fits
        warnings.simplefilter("ignore", RuntimeWarning)
        cv = sf.cross_validation(df=series, h=horizon, n_windows=n_windows, step_size=horizon)
    rows = []
    for (uid, cutoff), g in cv.groupby(["unique_id", "cutoff"]):
        for m in (*MODELS, baseline):
            rows.append(
                {
                    "unique_id": uid,
                    "cutoff": cutoff,
                    "model": m,
                    "mape": _mape(g["y"].to_numpy(), g[m].to_numpy()),
                }
            )
    bt = pd.DataFrame(rows)
    return bt.groupby(["unique_id", "model"], as_index=False)["mape"].mean()


def forecast_series(
    series: pd.DataFrame,
    months: int = 6,
    horizon: int = 3,
    n_windows: int = 2,
    scenario: Scenario | None = None,
) -> ForecastResult:
    """Backtest, choose a model per series, and forecast ``months`` ahead with 80/95% intervals.

    A history shorter than :data:`MIN_SEASONAL_MONTHS` is forecast without a season (the result's
    ``seasonal`` is false and its :meth:`ForecastResult.note` says so)."""
    from statsforecast import StatsForecast

    if not 1 <= int(months) <= 24:
        raise ForecastError(f"--months {months} is out of range; expected 1 to 24")
    seasonal = is_seasonal(series, horizon, n_windows)
    if not seasonal:  # as many windows as the short history holds after the shortest fit
        n = int(series.groupby("unique_id").size().min())
        n_windows = max(1, min(n_windows, (n - MIN_FIT_MONTHS) // horizon))
    bt = backtest(series, horizon, n_windows, seasonal)
    chosen = {}
    for uid, g in bt[bt["model"].isin(MODELS)].groupby("unique_id"):
        g = g.dropna(subset=["mape"])
        chosen[uid] = g.sort_values("mape").iloc[0]["model"] if len(g) else MODELS[0]
    sf = StatsForecast(models=_models(seasonal), freq="MS", n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fc = sf.forecast(df=series, h=int(months), level=list(LEVELS))
    rows = []
    for uid, g in fc.groupby("unique_id"):
        m = chosen[uid]
        part = pd.DataFrame(
            {
                "unique_id": uid,
                "ds": g["ds"].to_numpy(),
                "model": m,
                "forecast": np.maximum(g[m].to_numpy(), 0),
                "lo_80": np.maximum(g[f"{m}-lo-80"].to_numpy(), 0),
                "hi_80": g[f"{m}-hi-80"].to_numpy(),
                "lo_95": np.maximum(g[f"{m}-lo-95"].to_numpy(), 0),
                "hi_95": g[f"{m}-hi-95"].to_numpy(),
                # the same month last year; a gap when the history is too short for a season
                "seasonal_naive": g[BASELINE].to_numpy() if seasonal else np.full(len(g), np.nan),
            }
        )
        rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    if scenario is not None:
        out["scenario_forecast"] = out["forecast"] * scenario.multiplier
    res = ForecastResult(series, bt, chosen, out, scenario, seasonal=seasonal)
    res.meta["backtest_windows"] = n_windows
    return res


def forecast_context(
    ctx,
    months: int = 6,
    scenario: Scenario | None = None,
    horizon: int = 3,
    n_windows: int = 2,
    dating: str = "recorded",
) -> ForecastResult:
    """Forecast on an open :class:`~churnradar.reports.context.ReportContext` (its cached events)."""
    os.environ.setdefault("NIXTLA_ID_AS_COL", "1")
    from churnradar.reports import missing_inputs

    missing = missing_inputs(ctx, "forecast")
    if missing:
        raise ForecastError(
            f"no churn to forecast: the store has no {', '.join(missing)}; forecasts count off-net churn "
            "(deregistration and port-out)"
        )
    series = churn_series(ctx, dating)
    res = forecast_series(series, months, horizon, n_windows, scenario)
    last = series["ds"].max()
    res.meta.update(dating=dating, last_month=pd.Timestamp(last).strftime("%Y-%m"))
    return res


def forecast_store(
    store: Path | str,
    months: int = 6,
    *,
    as_of: str | date | None = None,
    dating: str = "recorded",
    scenario: Scenario | None = None,
    backend: str = "duckdb",
    region: str | None = None,
    grids: frozenset[str] | None = None,
) -> ForecastResult:
    """Forecast churn counts per county on ``store`` (see the module docstring).

    ``region`` (a county) and ``grids`` (a caller's grids) limit the series to that scope: its
    counties, and ``ALL`` is the scope's total.
    """
    from churnradar.reports.context import DATINGS, ReportContext

    if dating not in DATINGS:
        raise ForecastError(f"dating {dating!r} is not known; expected one of {', '.join(DATINGS)}")
    with ReportContext.open(
        store, as_of, window=120, dating="left", backend=backend, region=region, grids=grids
    ) as ctx:
        return forecast_context(ctx, months, scenario, dating=dating)


def report_forecast(ctx):
    """The forecast report: history + forecast with intervals per region, backtest table."""
    from churnradar.i18n import t
    from churnradar.reports.churn import label_of
    from churnradar.reports.model import Chart, Report, Section

    lang = ctx.lang
    try:
        res = forecast_context(ctx, 6, Scenario(), dating="recorded")
    except ForecastError as exc:  # too short a history: show it and say what is needed
        hist = churn_series(ctx, "recorded")
        w = hist.pivot_table(index="ds", columns="unique_id", values="y").reset_index()
        w["month"] = pd.to_datetime(w.pop("ds")).dt.strftime("%Y-%m")
        cols = [c for c in w.columns if c != "month"]
        sec = Section(
            "history",
            t("report.forecast.title", lang),
            w,
            Chart("line", t("chart.forecast", lang), w, "month", cols),
            str(exc),
        )
        return Report("forecast", t("report.forecast.title", lang), ctx.as_of, lang, [sec], {}, [str(exc)])

    def name(u):
        return t("col.total", lang) if u == ALL else label_of(ctx, "county_id", u)

    short = res.note(lang)  # the models had no season to learn from: say so beside every chart
    note = (
        t("note.forecast", lang)
        if not short
        else f"{short}{t('forecast.sep', lang)}{t('note.forecast.short', lang)}"
    )
    secs = []
    for uid in [ALL, *sorted(u for u in res.chosen if u != ALL)]:
        h = res.history[res.history.unique_id == uid].rename(columns={"y": "actual"})
        f = res.forecast[res.forecast.unique_id == uid]
        d = pd.concat(
            [
                h[["ds", "actual"]],
                f[["ds", *FORECAST_COLUMNS]],
            ],
            ignore_index=True,
        )
        d["month"] = pd.to_datetime(d["ds"]).dt.strftime("%Y-%m")
        d = d.drop(columns="ds")[["month", "actual", *FORECAST_COLUMNS]]
        cols = ["actual", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "scenario_forecast"]
        secs.append(
            Section(
                f"forecast_{uid}",
                f"{name(uid)} · {res.chosen[uid]}",
                d,
                Chart(
                    "line",
                    t("chart.forecast", lang),
                    d,
                    "month",
                    cols,
                    series_names={c: t(f"col.{c}", lang) for c in cols},
                ),
                note,
            )
        )
    bt = res.backtest.copy()
    bt["label"] = bt["unique_id"].map(name)
    bt["chosen"] = [res.chosen.get(u) == m for u, m in zip(bt["unique_id"], bt["model"], strict=False)]
    w = bt.pivot_table(index="label", columns="model", values="mape").reset_index()
    secs.insert(
        0,
        Section(
            "backtest",
            t("chart.backtest", lang),
            bt,
            Chart(
                "bar",
                t("chart.backtest", lang),
                w,
                "label",
                [c for c in w.columns if c != "label"],
                fmt="pct",
            ),
            note,
        ),
    )
    s = res.summary()
    findings = [
        *([short] if short else []),
        f"MAPE: {', '.join(f'{k} {v * 100:.1f}%' for k, v in s['backtest_mape'].items())}; chosen {s['chosen_mape'] * 100:.1f}%",
    ]
    return Report(
        "forecast",
        t("report.forecast.title", lang),
        ctx.as_of,
        lang,
        secs,
        {"dating": t("dating.recorded", lang)},
        findings,
        data={"result": res},
    )


__all__ = [
    "ForecastError",
    "ForecastResult",
    "Scenario",
    "backtest",
    "churn_series",
    "forecast_context",
    "forecast_series",
    "forecast_store",
    "report_forecast",
]
