"""`churnradar fit-table`: a churn model on a flat table (one row per customer, a churn column)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli._app import JsonOption, app, console, emit_json


@app.command("fit-table")
def fit_table(
    file: Annotated[Path, typer.Argument(help="CSV file, one row per customer.")],
    target: Annotated[str, typer.Option("--target", help="The churn column (Yes/No, True/False, 1/0, …).")],
    id_col: Annotated[
        str | None, typer.Option("--id", help="Customer id column (left out of the model).")
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="Stratified cross-validation folds.")] = 5,
    test: Annotated[
        Path | None, typer.Option("--test", help="Train on FILE and evaluate on this file instead of CV.")
    ] = None,
    adapter: Annotated[
        str, typer.Option("--adapter", help="Column map: auto, none, ibm_telco or bigml_churn.")
    ] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="Random seed (folds and model).")] = 0,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Where to write the Markdown report (default fit-table-<FILE>.md)."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Infer column types, cross-validate a LightGBM churn model (or train/test) and print ROC-AUC,
    PR-AUC and top-decile lift; write a short report.

    Example: `churnradar fit-table Telco-Customer-Churn.csv --target Churn --id customerID`
    """
    from churnradar.models.flat import fit_table as run

    result = run(
        file, target, id_col=id_col, folds=folds, test=test, adapter=adapter, seed=seed, report=report
    )
    s = result.summary()
    if json_out:
        emit_json(s)
        return
    sd = f" ± {s['roc_auc_sd']:.4f}" if "roc_auc_sd" in s else ""
    console.print(
        f"[bold]{result.file.name}[/] · {s['rows']:,} rows, {s['positives']:,} churners · adapter "
        f"{s['adapter'] or 'none'} · {s['mode'] if not result.test_file else 'test on ' + result.test_file.name}"
    )
    console.print(
        f"ROC-AUC {s['roc_auc']:.4f}{sd} · PR-AUC {s['pr_auc']:.4f} · top-decile lift {s['top_decile_lift']:.2f}"
    )
    console.print(f"report: {s['report']}")
