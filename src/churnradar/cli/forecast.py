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
    console.print(
        "backtest MAPE: "
        + ", ".join(f"{k} {v * 100:.1f}%" for k, v in s["backtest_mape"].items())
        + f"; chosen per series {s['chosen_mape'] * 100:.1f}% (seasonal-naive {s['seasonal_naive_mape'] * 100:.1f}%)"
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


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
