"""`churnradar label`: churn labels for one as-of month."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table as RichTable

from churnradar.cli._app import AsOfOption, JsonOption, StoreOption, app, console, emit_json
from churnradar.labels.definitions import DEFINITIONS, PARAMETERISED

BackendOption = Annotated[str, typer.Option("--backend", help="Engine: duckdb (default) or spark.")]


@app.command()
def label(
    store: StoreOption,
    as_of: AsOfOption,
    definition: Annotated[
        str | None,
        typer.Option(
            "--definition",
            help=f"Churn definition: {', '.join([*DEFINITIONS, *PARAMETERISED])} (default: offnet when the "
            "store has deregistration or port-out events, else silent:30).",
        ),
    ] = None,
    backend: BackendOption = "duckdb",
    memory: Annotated[
        str,
        typer.Option(
            "--memory",
            help="Memory budget, e.g. 16GB, 50% or none (default: 60% of the machine's memory); DuckDB "
            "gets 60% of it as its memory_limit and spills to disk beyond it.",
        ),
    ] = "default",
    json_out: JsonOption = False,
) -> None:
    """Label churn for one as-of month, write `churn_label` and print counts by kind, reason and month.

    Churn events of every kind are kept in the store (`churn_event`) for later labels and reports.

    Example: `churnradar label --store operator.duckdb --as-of 2024-09 --json`
    """
    from churnradar.labels import label_store
    from churnradar.models.memory import duckdb_alone

    with duckdb_alone(memory):
        result = label_store(store, as_of, definition=definition, backend=backend)
    s = result.summary
    if json_out:
        emit_json(s)
        return
    console.print(
        f"[bold]churn_label[/] {s['as_of']} · definition {s['definition']} ({s['definition_version']}, "
        f"dated by {s['dating']}) · population {s['population']:,} · already churned {s['already_churned']:,}"
    )
    if s.get("note"):
        console.print(f"[cyan]note:[/] {s['note']}")
    if s["warning"]:
        console.print(f"[yellow]warning:[/] {s['warning']}")
    console.print("positives: " + ", ".join(f"{k} {v:,}" for k, v in s["positives"].items()))
    for title, counts in (
        ("by kind", s["by_kind"]),
        ("by reason", s["by_reason"]),
        ("by month", s["by_month"]),
    ):
        t = RichTable(title=title, title_justify="left")
        t.add_column(title.split()[-1])
        t.add_column("n", justify="right")
        for k, v in counts.items():
            t.add_row(str(k), f"{v:,}")
        console.print(t)
