"""`churnradar metrics`: every business figure of one month, or the catalogue with its 口径."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, app, console, emit_json
from churnradar.errors import ConfigError


def _fmt(value: object, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("ratio", "pp"):
        return f"{float(value):.2%}" if unit == "ratio" else f"{float(value) * 100:+.2f} pp"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):,.2f}"


@app.command()
def metrics(
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Analytical store (a DuckDB file).", envvar="CHURNRADAR_STORE"),
    ] = None,
    month: Annotated[str | None, typer.Option("--month", help="Month, YYYY-MM.")] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="A county id or name, or a grid id (default: whole operator)."),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="Print the catalogue: every metric with its 口径.")
    ] = False,
    backend: Annotated[str, typer.Option("--backend", help="Engine: duckdb (default) or spark.")] = "duckdb",
    json_out: JsonOption = False,
) -> None:
    """Print every metric of a month (在网数, 离网数/率 by kind, 携出, re-selections, T+n 拆机率, 收保率,
    客保率, revenue churn, ARPU/DOU/MOU, active lines, risk levels, campaign retention and uplift).

    The same figures the dashboard, the API (`GET /api/metrics`) and the KPI report show, each with
    its unit and 口径 (`--list` prints the catalogue without a store).

    Example: `churnradar metrics --store operator.duckdb --month 2024-06 --region C01 --json`
    """
    from churnradar.metrics import catalogue, store_metrics

    if list_:
        rows = catalogue()
        if json_out:
            emit_json(rows)
            return
        t = RichTable(title="Metrics / 指标目录", title_justify="left", show_lines=False)
        for c in ("id", "指标", "metric", "unit", "口径"):
            t.add_column(c, overflow="fold")
        for r in rows:
            t.add_row(
                str(r["id"]), str(r["name_zh"]), str(r["name_en"]), str(r["unit"]), str(r["definition_zh"])
            )
        console.print(t)
        return
    if store is None or month is None:
        raise ConfigError("metrics needs --store FILE and --month YYYY-MM (or --list for the catalogue)")
    result = store_metrics(store, month, region=region, backend=backend).to_dict()
    if json_out:
        emit_json(result)
        return
    scope = f"region {result['region']}" if result["region"] else "whole operator / 全网"
    t = RichTable(title=f"Metrics {result['month']} · {scope}", title_justify="left")
    for c in ("id", "指标", "value", "unit"):
        t.add_column(c)
    for mid, m in result["metrics"].items():
        value = _fmt(m["value"], m["unit"]) + (" *" if m["provisional"] else "")
        t.add_row(mid, m["name_zh"], value, m["unit"])
    console.print(t)
    if any(m["provisional"] for m in result["metrics"].values()):
        console.print("* provisional: later data can still change it / 暂估值，后续数据可能变化")
    for note in result.get("notes", []):
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
