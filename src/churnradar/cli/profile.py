"""`churnradar profile`: what an operator's export holds, before it is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, app, console, emit_json


@app.command()
def profile(
    paths: Annotated[
        list[Path], typer.Argument(help="Export files (CSV, Parquet) or folders.", show_default=False)
    ],
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="The export's mapping file: profile the canonical tables too."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for profile.html (self-contained) and profile.json.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Encoding of CSV files (default: detect).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Profile an export: per column missing share, negatives, constant columns, ranges and frequent
    values; with --mapping also months covered, duplicate keys, code coverage and unmapped columns;
    and which features each canonical table feeds.

    Example: `churnradar profile telecom_churn_data.csv --mapping telecom.toml --out profile/`
    """
    from churnradar.ingest.profile import profile as run
    from churnradar.ingest.profile import write

    p = run(paths, mapping=mapping, encoding=encoding)
    written = write(p, out) if out is not None else []
    if json_out:
        emit_json({**p.to_dict(), "written": [str(w) for w in written]})
        return
    for f in p.files:
        t = RichTable(title=f"{escape(f.file)} · {f.rows:,} rows · {f.encoding}", title_justify="left")
        for col in ("column", "type", "missing", "negatives", "distinct", "min", "max"):
            t.add_column(col, justify="right" if col in ("missing", "negatives", "distinct") else "left")
        for c in f.columns:
            style = "red" if c.constant or c.missing_share > 0.5 else None
            t.add_row(
                escape(c.name) + (" (constant)" if c.constant else ""),
                c.type,
                f"{c.missing_share:.1%}",
                "" if c.negatives is None else f"{c.negatives:,}",
                f"{c.distinct:,}",
                escape(c.min or ""),
                escape(c.max or ""),
                style=style,
            )
        console.print(t)
        for tp in f.tables:
            line = f"→ [bold]{tp.table}[/] {tp.rows:,} rows"
            if tp.months:
                line += f", months {tp.months[0]} … {tp.months[-1]} ({len(tp.months)})"
            line += f", duplicate keys {tp.duplicate_keys:,}"
            console.print(line)
            for col, info in tp.codes.items():
                if info["foreign"]:
                    console.print(
                        f"   {col}: {info['known_share']:.1%} known; foreign "
                        + ", ".join(f"{escape(v)} ({n:,})" for v, n in info["foreign"])
                    )
            for col, n in tp.negatives.items():
                console.print(f"   {col}: {n:,} negative values")
        if f.unmapped:
            console.print(f"   not mapped: {escape(', '.join(f.unmapped))}")
    if p.missing_tables:
        console.print(
            f"[yellow]{p.skipped_features} features[/] read tables the export does not feed: "
            + ", ".join(p.missing_tables)
        )
    for w in written:
        console.print(f"wrote {w}")
