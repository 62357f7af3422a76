"""`churnradar score`: apply a stored model to every subscriber of a month and write `score`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json
from churnradar.cli._progress import progress_bar


@app.command()
def score(
    store: StoreOption,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Month to score, YYYY-MM; default: the last month of data."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model id (or prefix); default: the champion (else the newest model) trained at or before as-of.",
        ),
    ] = None,
    definition: Annotated[
        str | None,
        typer.Option("--definition", help="Churn definition of the model (newest of it); default: any."),
    ] = None,
    backend: Annotated[str, typer.Option("--backend", help="Engine: duckdb (default) or spark.")] = "duckdb",
    exact_share: Annotated[
        float,
        typer.Option("--exact-share", help="Riskiest share of subscribers with exact TreeSHAP reasons."),
    ] = 0.10,
    top: Annotated[int, typer.Option("--top", help="Riskiest subscribers to print.")] = 10,
    memory: Annotated[
        str,
        typer.Option(
            "--memory",
            help="Memory budget, e.g. 16GB, 50% or none (default: 60% of the machine's memory); sets "
            "DuckDB's memory_limit, and a month that would not fit is refused before it is computed.",
        ),
    ] = "default",
    json_out: JsonOption = False,
) -> None:
    """Score churn probabilities per horizon, health, risk level and top-3 reasons; write `score`.

    The new batch for the month replaces the old one atomically once complete. A model trained on
    another feature-set version is refused.

    Example: `churnradar score --store operator.duckdb --as-of 2024-06 --backend spark`
    (without `--as-of`: the latest complete month, the last month of data)
    """
    from churnradar.models import score_store

    if as_of is None:
        from churnradar.as_of import latest_month
        from churnradar.periods import format_month

        as_of = format_month(latest_month(store))

    with progress_bar(disable=json_out) as progress:
        result = score_store(
            store,
            as_of,
            model_id=model,
            definition=definition,
            backend=backend,
            exact_share=exact_share,
            memory=memory,
            progress=progress,
        )
    s = result.summary(top)
    if json_out:
        emit_json(s)
        return
    console.print(
        f"[bold]score[/] {s['as_of']} · model {s['model_id']} · {s['rows']:,} subscribers "
        f"({s['exact_reason_rows']:,} with exact reasons) · {s['backend']} · {s['seconds']} s"
    )
    console.print(
        "mean probability: "
        + ", ".join(f"{k[8:]} {v:.2%}" for k, v in s["mean_probability"].items())
        + " · risk levels: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(s["risk_levels"].items()))
    )
    t = RichTable(title=f"Riskiest {top} / 高风险用户", title_justify="left")
    pcols = [c for c in s["top"][0] if c.startswith("p_churn_")] if s["top"] else []
    for c in ["#", "subscriber", *[c[8:] for c in pcols], "health", "level", "reason 1", "reasons 2, 3"]:
        t.add_column(c)
    for r in s["top"]:
        t.add_row(
            str(r["risk_rank"]),
            r["subscriber_id"],
            *[f"{r[c]:.1%}" for c in pcols],
            f"{r['health_score']:.0f}",
            r["risk_level"],
            f"{r['reason_1_zh'] or '-'} ({r['reason_1'] or '-'})",
            ", ".join(x for x in (r["reason_2"], r["reason_3"]) if x),
        )
    console.print(t)
