"""`churnradar ingest`: validate, pseudonymise and load files into the analytical store."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json, err_console
from churnradar.cli._progress import progress_bar
from churnradar.errors import IngestError

SHOWN_ERRORS = 20


class OnError(StrEnum):
    fail = "fail"
    quarantine = "quarantine"


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files (.csv, .csv.gz, .parquet) or folders of them.", show_default=False),
    ],
    store: StoreOption,
    on_error: Annotated[
        OnError,
        typer.Option(
            "--on-error",
            help="fail: publish nothing when any row is bad. quarantine: load the good rows, "
            "write the bad ones to the _rejects table.",
        ),
    ] = OnError.fail,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="Encoding of CSV files (default: detect UTF-8 or GB18030/GBK)."),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option("--table", help="Canonical table to load into (default: from the file name)."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="A mapping file (TOML) describing an operator's export: the canonical tables each file "
            "feeds, column expressions, code maps, wide month columns (see docs/mapping.md).",
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="File holding the HMAC key (outside the store); default: $CHURNRADAR_HMAC_KEY or "
            "$CHURNRADAR_HMAC_KEY_FILE.",
        ),
    ] = None,
    memory: Annotated[
        str,
        typer.Option(
            "--memory",
            help="Memory budget, e.g. 16GB, 12GiB, 50% or none (default: 60% of the machine's memory); "
            "DuckDB spills to a private temporary folder beyond it.",
            metavar="SIZE",
        ),
    ] = "default",
    json_out: JsonOption = False,
) -> None:
    """Validate CSV/Parquet files against the schema, pseudonymise identifiers and load them as one batch.

    Example: `churnradar ingest sim/ --store operator.duckdb --on-error quarantine`;
    an export with its mapping: `churnradar ingest export.csv --mapping export.toml --store operator.duckdb`
    """
    from churnradar.ingest import ingest as run_ingest

    try:
        with progress_bar(disable=json_out) as progress:
            result = run_ingest(
                paths,
                store,
                on_error=on_error.value,
                encoding=encoding,
                table=table,
                key_file=key_file,
                progress=progress,
                mapping=mapping,
                memory=memory,
            )
    except IngestError as exc:
        result = getattr(exc, "result", None)
        if result is None:
            raise
        if json_out:
            emit_json(result.to_dict())
        else:
            for e in result.errors[:SHOWN_ERRORS]:
                err_console.print(escape(str(e)), highlight=False, soft_wrap=True)
            if result.error_count > SHOWN_ERRORS:
                err_console.print(
                    f"… and {result.error_count - SHOWN_ERRORS:,} more problems", highlight=False
                )
            _print_counts(result, err=True)
        raise
    if json_out:
        emit_json(result.to_dict())
        return
    for e in result.errors[:SHOWN_ERRORS]:
        err_console.print(f"[yellow]rejected[/] {escape(str(e))}", highlight=False, soft_wrap=True)
    if result.error_count > SHOWN_ERRORS:
        err_console.print(
            f"… and {result.error_count - SHOWN_ERRORS:,} more problems (see the _rejects table)"
        )
    _print_counts(result)


def _print_counts(result, err: bool = False) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table as RichTable

    out = err_console if err else console
    title = f"batch {result.batch_id}: " + ("published" if result.published else "NOT published")
    t = RichTable(title=title, title_justify="left")
    t.add_column("table")
    for col in ("read", "loaded", "rejected", "replaced"):
        t.add_column(col, justify="right")
    for name, c in result.tables.items():
        t.add_row(name, f"{c.read:,}", f"{c.loaded:,}", f"{c.rejected:,}", f"{c.replaced:,}")
    t.add_row(
        "[bold]total[/]",
        f"{result.read:,}",
        f"{result.loaded:,}",
        f"{result.rejected:,}",
        f"{result.replaced:,}",
    )
    out.print(t)
    for note in getattr(result, "notes", []):
        out.print(f"[dim]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
