"""`churnradar simulate`: write a simulated operator's tables and ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli._app import JsonOption, app, console, emit_json
from churnradar.cli._progress import progress_bar
from churnradar.errors import ConfigError


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
    dialect: Annotated[
        str | None,
        typer.Option(
            "--dialect",
            help="Write the operator as an export with its mapping file: wide-prepaid (one row per number, "
            "month columns, no lifecycle events) or bss-zh (Chinese names, GBK); the canonical files go "
            "to OUT/_canonical/.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Simulate a fictional operator: every canonical table plus _truth/churn_truth.

    Example: `churnradar simulate --subscribers 50000 --months 12 --seed 1 --out sim/`;
    an export: `churnradar simulate -n 5000 -m 6 --seed 1 --dialect wide-prepaid --out export/`
    """
    from churnradar.simulate import simulate as run
    from churnradar.simulate.dialects import DIALECTS, write_dialect

    if dialect is not None and dialect not in DIALECTS:
        raise ConfigError(f"--dialect {dialect!r} is not known; expected one of {', '.join(DIALECTS)}")
    with progress_bar(disable=json_out) as progress:
        result = run(
            subscribers=subscribers,
            months=months,
            seed=seed,
            out=out / "_canonical" if dialect else out,
            fmt="parquet" if dialect else fmt,
            start=start,
            progress=progress,
        )
    exported = write_dialect(out / "_canonical", out, dialect) if dialect else None
    if json_out:
        summary = result.summary()
        if exported is not None:
            summary["dialect"] = {
                "name": dialect,
                "files": [str(p) for p in exported.files],
                "mapping": str(exported.mapping),
            }
        emit_json(summary)
        return
    if exported is not None:
        console.print(
            f"{dialect} export: {', '.join(p.name for p in exported.files)} with mapping {exported.mapping.name} "
            f"→ {out} (canonical files in {out / '_canonical'})"
        )
    console.print(
        f"[bold]{result.rows['subscription']:,}[/] subscriptions, {result.first_month} … {result.last_month}, "
        f"{result.rows['churn_truth']:,} ground-truth churn rows → {result.out}"
    )
