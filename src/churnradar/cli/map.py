"""`churnradar map`: draft a mapping file for an operator's export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli._app import JsonOption, app, console, emit_json
from churnradar.errors import ConfigError

map_app = typer.Typer(
    help="Mapping files: describe an operator's export once (see docs/mapping.md).", no_args_is_help=True
)
app.add_typer(map_app, name="map")


@map_app.command("init")
def init(
    exports: Annotated[list[Path], typer.Argument(help="The export's CSV files.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="The mapping file to write (TOML).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Draft a mapping file from the exports' column names (zh-CN and en) and month suffixes; what
    could not be placed is marked '# TODO'.

    Example: `churnradar map init telecom_churn_data.csv --out telecom.toml`, then
    `churnradar ingest telecom_churn_data.csv --mapping telecom.toml --store operator.duckdb`
    """
    from churnradar.ingest import readers
    from churnradar.ingest.draft import draft, render

    files = readers.discover(exports)
    if out.exists() and not force:
        raise ConfigError(f"{out} exists; pass --force to overwrite it")
    d = draft(files)
    out.write_text(render(d), encoding="utf-8")
    if json_out:
        emit_json(
            {
                "out": str(out),
                "placed": d.placed,
                "months": d.months,
                "unplaced": d.unplaced,
                "placed_count": d.placed_count,
            }
        )
        return
    console.print(
        f"wrote {out}: {d.placed_count} columns placed in {len(d.placed)} tables"
        + (f", months {', '.join(d.months)}" if d.months else "")
        + (f"; {len(d.unplaced)} not placed (listed at the end)" if d.unplaced else "")
    )
