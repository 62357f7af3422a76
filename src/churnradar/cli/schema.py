"""`churnradar schema`: print the canonical data model."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, app, console, emit_json
from churnradar.schema import TABLES, TRUTH_TABLES, get_table
from churnradar.schema.docs import schema_markdown


@app.command()
def schema(
    table: Annotated[str | None, typer.Argument(help="Table to show; all tables when omitted.")] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown of docs/schema.md.")
    ] = False,
    lang: Annotated[str, typer.Option("--lang", help="Language of the meanings: zh or en.")] = "zh",
    json_out: JsonOption = False,
) -> None:
    """Print the canonical data model: tables, columns, types, keys and constraints.

    Example: `churnradar schema subscription --lang en`
    """
    if markdown:
        console.file.write(schema_markdown())
        return
    if table is not None and table in TRUTH_TABLES:
        tables = [TRUTH_TABLES[table]]
    else:
        tables = [get_table(table)] if table else list(TABLES.values())
    if json_out:
        emit_json(
            {
                t.name: {
                    "key": list(t.key),
                    "en": t.en,
                    "zh": t.zh,
                    "columns": [
                        {
                            "name": c.name,
                            "type": c.dtype,
                            "nullable": c.nullable,
                            "enum": c.enum,
                            "min": c.min,
                            "max": c.max,
                            "pii": c.pii,
                            "raw_name": c.raw_name,
                            "references": c.references,
                            "en": c.en,
                            "zh": c.zh,
                        }
                        for c in t.columns
                    ],
                }
                for t in tables
            }
        )
        return
    for t in tables:
        rt = RichTable(
            title=f"{t.name}  ({t.en if lang == 'en' else t.zh})  key: {', '.join(t.key)}",
            title_justify="left",
        )
        rt.add_column("column", style="bold")
        rt.add_column("type")
        rt.add_column("constraints")
        rt.add_column("meaning")
        for c in t.columns:
            rt.add_row(c.name, c.dtype, c.constraint_text(), c.en if lang == "en" else c.zh)
        console.print(rt)
