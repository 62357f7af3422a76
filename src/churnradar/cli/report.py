"""`churnradar report`: churn reports as self-contained HTML files or one XLSX workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json, err_console
from churnradar.cli._progress import progress_bar

LangOption = Annotated[str, typer.Option("--lang", help="Language of the report: zh-CN (default) or en.")]


@app.command()
def report(
    store: StoreOption,
    name: Annotated[str, typer.Argument(help="Report name, or `all` for the full set.")] = "all",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Last month of the report, YYYY-MM (default: last month of data)."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="html (one file per report) or xlsx (one workbook).")
    ] = "html",
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("reports"),
    lang: LangOption = "zh-CN",
    dating: Annotated[
        str, typer.Option("--dating", help="Date churn by `left` (last activity, default) or `recorded`.")
    ] = "left",
    min_count: Annotated[int, typer.Option("--min-count", help="Suppress cells below this count.")] = 5,
    months: Annotated[int, typer.Option("--months", help="Months shown, ending at --as-of.")] = 24,
    json_out: JsonOption = False,
) -> None:
    """Build churn reports and write them to --out.

    Reports: churn, geography, cohort, revenue, retention, anomaly, kpi, competitor, survey, forecast.

    Example: `churnradar report all --store operator.duckdb --as-of 2025-03 --format html --out reports/`
    """
    from churnradar.reports import write_reports

    skipped: dict[str, list[str]] = {}
    with progress_bar(disable=json_out) as progress:
        paths = write_reports(
            store,
            name,
            as_of=as_of,
            fmt=fmt,
            out=out,
            lang=lang,
            dating=dating,
            min_count=min_count,
            window=months,
            progress=progress,
            skipped=skipped,
        )
    if json_out:
        emit_json(
            {
                "files": [str(p) for p in paths],
                "skipped": [{"report": n, "missing": m} for n, m in skipped.items()],
            }
        )
        return
    for n, m in skipped.items():
        err_console.print(f"[yellow]skipped[/] {n}: the store has no {', '.join(m)}", highlight=False)
    for p in paths:
        console.print(f"wrote {p}")
