"""`churnradar cycle`: the month's work as one resumable command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json
from churnradar.cli._progress import progress_bar


@app.command()
def cycle(
    store: StoreOption,
    month: Annotated[
        str, typer.Option("--month", help="The month to run, YYYY-MM (the newest month of data).")
    ],
    source: Annotated[
        Path | None,
        typer.Option("--from", help="Folder of the month's export files to ingest first (default: none)."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="Mapping file of the exports in --from (an operator's own layout)."),
    ] = None,
    definition: Annotated[
        str | None,
        typer.Option(
            "--definition",
            help="Churn definition (offnet, silent:DAYS, zero_usage, value_decline); default: offnet when "
            "the store has deregistration or port-out events, else silent:30.",
        ),
    ] = None,
    retrain_months: Annotated[
        int,
        typer.Option("--retrain-months", help="Train a new model when the newest is this many months old."),
    ] = 3,
    budget: Annotated[
        float | None,
        typer.Option("--budget", help="Retention budget (yuan) for the target list; none: no list."),
    ] = None,
    reports: Annotated[
        Path | None, typer.Option("--reports", help="Write the report set into DIR/YYYY-MM (default: none).")
    ] = None,
    memory: Annotated[
        str,
        typer.Option(
            "--memory",
            help="Memory budget for ingest, training and scoring, e.g. 16GB, 50% or none (default: 60% "
            "of the machine's memory).",
        ),
    ] = "default",
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="Engine of labels, features, training's panel, scoring and metrics: duckdb (default) "
            "or spark (reads the store's tables as Parquet; results are written to the store).",
        ),
    ] = "duckdb",
    min_arm_rows: Annotated[
        int,
        typer.Option(
            "--min-arm-rows",
            help="Logged treated members (with consent) an offer needs before the target list learns its uplift.",
        ),
    ] = 300,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would run and why; run nothing.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Run the month: ingest → labels → features → train (when due) → score → segments → target
    list → metrics and reports → monitoring, skipping what has not changed since the last run.

    A stage whose inputs (data version, model, options, the stages it reads) are those of its last
    finished run is skipped; a killed run starts again at the stage it was in. Each stage's rows,
    seconds and peak memory are recorded in the store's `cycle_run` table.

    Example: `churnradar cycle --store operator.duckdb --month 2024-12 --budget 50000 --reports reports/`
    """
    from churnradar.cycle import CycleOptions, run_cycle

    opts = CycleOptions(
        source=source,
        mapping=mapping,
        definition=definition,
        retrain_months=retrain_months,
        budget=budget,
        reports=reports,
        memory=memory,
        backend=backend,
        min_arm_rows=min_arm_rows,
    )

    def said(run) -> None:  # type: ignore[no-untyped-def]
        if not json_out:
            style = {
                "ran": "green",
                "skipped": "dim",
                "failed": "red",
                "would run": "yellow",
                "would skip": "dim",
            }[run.status]
            console.print(
                f"[{style}]{run.status:>10}[/] {run.name:<9} {escape(run.reason)}",
                highlight=False,
                soft_wrap=True,
            )

    with progress_bar(disable=json_out) as progress:
        result = run_cycle(store, month, opts, dry_run=dry_run, progress=progress, on_stage=said)
    if json_out:
        emit_json(result.to_dict())
    elif not dry_run:
        _print_table(result)
    if result.failed:
        from churnradar.errors import ChurnRadarError

        shown = "; ".join(f"{s.name}: {s.reason}" for s in result.failed)
        raise ChurnRadarError(
            f"{len(result.failed)} stage(s) failed ({shown}); the stages before them are recorded, "
            "so the next run starts there"
        )


def _print_table(result) -> None:  # type: ignore[no-untyped-def]
    t = RichTable(title=f"cycle {result.to_dict()['month']}", title_justify="left")
    for col, just in (
        ("stage", "left"),
        ("status", "left"),
        ("rows", "right"),
        ("seconds", "right"),
        ("peak RSS", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for s in result.stages:
        t.add_row(
            s.name,
            s.status,
            f"{s.rows:,}",
            f"{s.seconds:.1f}",
            f"{s.peak_rss / 2**30:.2f} GiB" if s.peak_rss else "",
        )
    console.print(t)
    decided = result.champion
    if decided is not None:
        style = "green" if decided["promoted"] else "yellow"
        console.print(f"[{style}]champion:[/] {escape(decided['reason'])}", highlight=False, soft_wrap=True)
    mon = result.monitoring
    if mon is not None:
        if mon.get("alert"):
            for a in mon.get("alerts", []):
                console.print(f"[red]monitoring alert:[/] {escape(a)}", highlight=False, soft_wrap=True)
        else:
            console.print(
                f"monitoring: no alert ({mon.get('checks_judged', 0)} stability checks judged"
                f"{', ' + str(len(mon['watch'])) + ' worth a look' if mon.get('watch') else ''})",
                highlight=False,
                soft_wrap=True,
            )
