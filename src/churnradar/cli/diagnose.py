"""`churnradar diagnose`: the five-step churn diagnosis of one month."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json


@app.command()
def diagnose(
    store: StoreOption,
    month: Annotated[
        str | None,
        typer.Option("--month", help="Month to diagnose, YYYY-MM (default: latest complete month)."),
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="One county (id or name).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or xlsx.")] = "html",
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("reports"),
    lang: Annotated[str, typer.Option("--lang", help="zh-CN (default) or en.")] = "zh-CN",
    json_out: JsonOption = False,
) -> None:
    """Write one diagnosis report: reasons, seasonal or abnormal and where, survey evidence, plan, tracking.

    Example: `churnradar diagnose --store operator.duckdb --month 2025-03 --region YC06 --lang en`
    """
    from churnradar.reports.diagnosis import diagnose_store

    with console.status("diagnosing…", spinner="dots") if not json_out else _Null():
        result = diagnose_store(store, month, region=region, out=out, fmt=fmt, lang=lang)
    if json_out:
        emit_json({"file": str(result.path), "findings": result.report.findings})
    else:
        for f in result.report.findings:
            console.print(f"• {f}", highlight=False)
        console.print(f"wrote {result.path}")


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
