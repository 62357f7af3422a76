"""Command-line interface: a thin shell over the library, one module per verb."""

from __future__ import annotations

import sys

# Importing a command module registers its commands on ``app``.
from churnradar.cli import (  # noqa: F401
    backtest,
    campaign,
    cycle,
    demo,
    diagnose,
    features,
    fit_table,
    forecast,
    ingest,
    label,
    map,
    metrics,
    profile,
    report,
    schema,
    score,
    serve,
    simulate,
    target,
    train,
    users,
)
from churnradar.cli._app import app, err_console, state
from churnradar.errors import ChurnRadarError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``churnradar`` console script; returns the exit code."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:  # usage errors, --help and normal completion
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ChurnRadarError as exc:
        if state.debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        return 130
    except Exception as exc:
        if state.debug:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            highlight=False,
        )
        return 2
    return 0


def _console_main() -> None:
    sys.exit(main())
