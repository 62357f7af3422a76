"""`churnradar forecast`: churn counts per county and month with 80%/95% intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json


@app.command()
def forecast(
    store: StoreOption,
    months: Annotated[int, typer.Option("--months", help="Months to forecast (1–24).")] = 6,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Last month of history, YYYY-MM (default: last month of data)."),
    ] = None,
    dating: Annotated[
        str,
        typer.Option(
            "--dating", help="Count churn by `recorded` month (default) or the month customers `left`."
        ),
    ] = "recorded",
    coverage: Annotated[
        float,
        typer.Option("--coverage", help="Scenario: share of would-be churners reached by retention (0–1)."),
    ] = 0.0,
    effect: Annotated[
        float, typer.Option("--effect", help="Scenario: relative churn reduction when reached (0–1).")
    ] = 0.11,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the forecast as CSV here.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Forecast off-net churners per county and month; models chosen by backtest against seasonal-naive.

    With fewer than 18 months of history (a 12-month season and two 3-month backtest windows) the
    models are non-seasonal (ETS with a damped trend allowed, ARIMA) against the naive forecast,
    and the output says so (`summary.seasonal` false in `--json`).

    Example: `churnradar forecast --store operator.duckdb --months 6 --coverage 0.3`
    """
    from churnradar.forecast import Scenario, forecast_store

    scenario = Scenario(coverage=coverage, effect=effect) if coverage > 0 else None
    with console.status("forecasting (statsforecast)…", spinner="dots") if not json_out else _Null():
        res = forecast_store(store, months, as_of=as_of, dating=dating, scenario=scenario)
    fc = res.forecast.assign(month=res.forecast["ds"].dt.strftime("%Y-%m")).drop(columns="ds")
    if out is not None:
        from churnradar.reports.safe_cells import csv_frame

        out.parent.mkdir(parents=True, exist_ok=True)
        csv_frame(fc).to_csv(out, index=False)  # a county id never runs as a formula
    s = res.summary()
    if json_out:
        emit_json({"summary": s, "forecast": fc.round(2).to_dict(orient="records")})
        return
    note = res.note("en")
    if note:  # too short a history for a season: the models and the baseline are non-seasonal
        console.print(f"[yellow]{note}[/yellow]")
    baseline = s["seasonal_naive_mape"] if res.seasonal else s["naive_mape"]
    console.print(
        "backtest MAPE: "
        + ", ".join(f"{k} {v * 100:.1f}%" for k, v in s["backtest_mape"].items())
        + f"; chosen per series {_pct(s['chosen_mape'])} "
        + f"({'seasonal-naive' if res.seasonal else 'naive'} {_pct(baseline)})"
    )
    table = RichTable(title=f"Forecast of off-net churners ({s['dating']} month)", title_justify="left")
    for c in ("region", "model", "month", "forecast", "80%", "95%") + (("scenario",) if scenario else ()):
        table.add_column(c, justify="right" if c not in ("region", "model") else "left")
    for r in fc.itertuples():
        row = [
            r.unique_id,
            r.model,
            r.month,
            f"{r.forecast:,.0f}",
            f"{r.lo_80:,.0f}–{r.hi_80:,.0f}",
            f"{r.lo_95:,.0f}–{r.hi_95:,.0f}",
        ]
        if scenario:
            row.append(f"{r.scenario_forecast:,.0f}")
        table.add_row(*row)
    console.print(table)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
