"""`churnradar simulate`: write a simulated operator's tables and ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli._app import JsonOption, app, console, emit_json
from churnradar.cli._progress import progress_bar


@app.command()
def simulate(
    subscribers: Annotated[
        int, typer.Option("--subscribers", "-n", help="Active subscribers at the start (100 to 20,000,000).")
    ],
    months: Annotated[int, typer.Option("--months", "-m", help="Months to write (1 to 120).")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives identical files.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder: one file per table, truth in _truth/.")
    ],
    fmt: Annotated[str, typer.Option("--format", help="File format: parquet or csv.")] = "parquet",
    start: Annotated[str, typer.Option("--start", help="First written month, YYYY-MM.")] = "2024-01",
    json_out: JsonOption = False,
) -> None:
    """Simulate a fictional operator: every canonical table plus _truth/churn_truth.

    Example: `churnradar simulate --subscribers 50000 --months 12 --seed 1 --out sim/`
    """
    from churnradar.simulate import simulate as run

    with progress_bar(disable=json_out) as progress:
        result = run(
            subscribers=subscribers,
            months=months,
            seed=seed,
            out=out,
            fmt=fmt,
            start=start,
            progress=progress,
        )
    if json_out:
        emit_json(result.summary())
        return
    console.print(
        f"[bold]{result.rows['subscription']:,}[/] subscriptions, {result.first_month} … {result.last_month}, "
        f"{result.rows['churn_truth']:,} ground-truth churn rows → {result.out}"
    )
