"""The Typer application and the options shared by several commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    name="churnradar",
    help="Churn analytics and retention engine for mobile operators.\n\n"
    "Run `churnradar demo` for a tour on a simulated operator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

console = Console()
err_console = Console(stderr=True)

StoreOption = Annotated[
    Path,
    typer.Option(
        "--store", help="Analytical store: a DuckDB file (created when missing).", envvar="CHURNRADAR_STORE"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")]
AsOfOption = Annotated[str, typer.Option("--as-of", help="Prediction month, YYYY-MM.")]


class _State:
    debug = False


state = _State()


def emit_json(obj: Any) -> None:
    """Write ``obj`` as JSON on stdout (machine-readable output of ``--json``)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str, indent=2) + "\n")
    sys.stdout.flush()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    state.debug = debug
