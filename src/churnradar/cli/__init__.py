"""Command-line interface: a thin shell over the library, one module per verb."""

from __future__ import annotations

import sys

# Importing a command module registers its commands on ``app``.
from churnradar.cli import demo, ingest, label, schema, simulate  # noqa: F401
from churnradar.cli._app import app, err_console, state
from churnradar.errors import ChurnRadarError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``churnradar`` console script."""
    try:
        app(args=argv, standalone_mode=False)
    except ChurnRadarError as exc:
        if state.debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        return 130
    except Exception as exc:  # click usage errors and aborts
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            return 1
        if isinstance(exc, click.exceptions.Exit):
            return exc.exit_code
        if state.debug:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
        )
        return 2
    return 0


def _console_main() -> None:
    sys.exit(main())
