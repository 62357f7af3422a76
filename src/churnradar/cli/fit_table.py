"""`churnradar fit-table`: a churn model on a flat table (one row per customer, a churn column)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from churnradar.cli._app import JsonOption, app, console, emit_json
from churnradar.errors import ConfigError


def _params(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        out = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--params is not JSON ({exc.msg}); expected e.g. '{{\"num_leaves\": 31}}'"
        ) from None
    if not isinstance(out, dict):
        raise ConfigError("--params must be a JSON object, e.g. '{\"num_leaves\": 31}'")
    return out


@app.command("fit-table")
def fit_table(
    file: Annotated[
        Path, typer.Argument(help="CSV (UTF-8 or GBK), xlsx or Parquet file, one row per customer.")
    ],
    target: Annotated[str, typer.Option("--target", help="The churn column (Yes/No, True/False, 1/0, …).")],
    id_col: Annotated[
        str | None, typer.Option("--id", help="Customer id column (left out of the model).")
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="Stratified cross-validation folds.")] = 5,
    test: Annotated[
        Path | None, typer.Option("--test", help="Train on FILE and evaluate on this file instead of CV.")
    ] = None,
    split_column: Annotated[
        str | None,
        typer.Option(
            "--split-column", help="Train on the rows whose COL is --train-value, test on the others."
        ),
    ] = None,
    train_value: Annotated[
        str | None,
        typer.Option("--train-value", help="The value of --split-column that marks training rows."),
    ] = None,
    positive: Annotated[
        list[str] | None,
        typer.Option(
            "--positive", help="A churn-column value that means churn (repeatable); others mean not."
        ),
    ] = None,
    target_map: Annotated[
        str | None,
        typer.Option(
            "--target-map",
            help="Churn values to 1/0, e.g. 'Churned=1,Stayed=0'; rows of other values are left out.",
        ),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep", help="Use this column even if it looks like a leak or an identifier (repeatable)."
        ),
    ] = None,
    drop: Annotated[
        list[str] | None, typer.Option("--drop", help="Leave this column out (repeatable).")
    ] = None,
    params: Annotated[
        str | None,
        typer.Option(
            "--params",
            help="Fix the model instead of searching, JSON: num_leaves, min_child_samples, learning_rate, "
            "n_estimators.",
        ),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget", help="Seconds for the capacity search in all (default grows with the table)."
        ),
    ] = None,
    prior: Annotated[
        float | None,
        typer.Option("--prior", help="Churn rate to correct the probabilities to (e.g. the real rate)."),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Sheet of an xlsx file (default the first).")
    ] = None,
    adapter: Annotated[
        str, typer.Option("--adapter", help="Column map: auto, none, ibm_telco or bigml_churn.")
    ] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="Random seed (folds and model).")] = 0,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Folder for the Markdown and HTML reports (or a .md path); default fit-table-<FILE>.md/.html here.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Clean the table (every decision reported), leave out leaked columns, choose the model's
    capacity on an inner validation split, cross-validate (or train/test) a LightGBM churn model and
    print ROC-AUC, Gini, PR-AUC and lift; write Markdown and HTML reports.

    Example: `churnradar fit-table Telco-Customer-Churn.csv --target Churn --id customerID`
    """
    from churnradar.models.flat import fit_table as run

    if budget is not None and budget <= 0:
        raise ConfigError(f"--budget {budget} must be a positive number of seconds")
    result = run(
        file,
        target,
        id_col=id_col,
        folds=folds,
        test=test,
        adapter=adapter,
        seed=seed,
        report=report,
        params=_params(params),
        budget=budget,
        keep=keep or (),
        drop=drop or (),
        positive=positive or (),
        target_map=target_map,
        split_column=split_column,
        train_value=train_value,
        prior=prior,
        sheet=sheet,
    )
    s = result.summary()
    if json_out:
        emit_json(s)
        return
    print_result(result, s)


def print_result(result, s: dict) -> None:
    e = escape
    where = (
        f"{s['mode']} cross-validation"
        if result.test_rows is None
        else "test on "
        + (
            result.test_file.name
            if result.test_file
            else f"{result.split['column']} ≠ {result.split['train_value']}"
        )
    )
    console.print(
        f"[bold]{e(result.file.name)}[/] · adapter {s['adapter'] or 'none'} · {e(where)}", highlight=False
    )
    console.print(
        f"training rows {s['rows']:,}, churners {s['positives']:,} ({s['train']['churn_rate']:.1%})"
        + (
            f" · test rows {s['test']['rows']:,}, churners {s['test']['positives']:,} ({s['test']['churn_rate']:.1%})"
            if "test" in s
            else ""
        ),
        highlight=False,
    )
    for f in result.hygiene:
        style = {"leak": "bold red", "leak_suspect": "red"}.get(f.rule, "yellow")
        console.print(f"[{style}]{f.rule}[/]: {e(f.message)}", highlight=False, soft_wrap=True)
    p = s["params"]
    searches = result.searches
    secs = sum(x.seconds for x in searches)
    if searches and searches[0].fixed:
        how = "fixed by --params"
    else:
        tried = sum(len(x.trials) for x in searches)
        how = f"chosen on an inner validation split: {tried} fits in {secs:.1f} s (budget {s['search']['budget_s']:.0f} s)"
    console.print(
        f"model: LightGBM {p.get('n_estimators')} trees × {p.get('num_leaves')} leaves, "
        f"min_child_samples {p.get('min_child_samples')}, learning_rate {p.get('learning_rate')} ({how})",
        highlight=False,
    )
    if len(searches) > 1:
        per = "; ".join(
            f"{x.params.get('num_leaves')}/{x.params.get('min_child_samples')}/{x.params.get('learning_rate')}"
            f"×{x.params.get('n_estimators')}"
            for x in searches
        )
        console.print(f"  per fold (leaves/leaf size/rate × trees): {per}", highlight=False)
    for w in result.warnings:
        console.print(f"[bold red]warning:[/] {e(w)}", highlight=False, soft_wrap=True)
    sd = f" ± {s['roc_auc_sd']:.4f}" if "roc_auc_sd" in s else ""
    console.print(
        f"ROC-AUC {s['roc_auc']:.4f}{sd} · Gini {s['gini']:.4f} · PR-AUC {s['pr_auc']:.4f} · lift "
        f"5% {s['lift_5']:.2f} / 10% {s['lift_10']:.2f} / 20% {s['lift_20']:.2f} · Brier {s['brier']:.4f}"
        + (f" (uncorrected {s['brier_uncorrected']:.4f})" if "brier_uncorrected" in s else ""),
        highlight=False,
    )
    console.print(f"report: {s['report']} · {s['report_html']}", highlight=False)
