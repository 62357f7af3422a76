"""`churnradar backtest`: rolling-origin evaluation of the churn model against two baselines."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json
from churnradar.cli._progress import progress_bar


def print_backtest(s: dict) -> None:
    """The backtest table (one horizon) and the hazard model's reliability curve."""
    t = RichTable(
        title=f"Backtest, churn within {s['horizon']} months / 回测（{s['horizon']}个月内流失）",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    for c in ("origin", "model", "n", "churn", "ROC-AUC", "PR-AUC", "lift10", "Brier", "ECE", "EMP"):
        t.add_column(c, justify="left" if c in ("origin", "model") else "right", no_wrap=True)
    for r in s["table"]:
        t.add_row(
            r["origin"],
            r["model"],
            f"{r['n']:,}",
            f"{r['positives']:,}",
            f"{r['roc_auc']:.3f}",
            f"{r['pr_auc']:.3f}",
            f"{r['top_decile_lift']:.2f}",
            f"{r['brier']:.3f}",
            f"{r['ece']:.4f}",
            f"{r['emp']:.3f}",
            end_section=r["origin"] != "mean" and r["model"] == "arpu_rule",
        )
    console.print(t)
    rel = s["reliability"]
    console.print(
        "reliability (hazard, pooled, deciles of predicted): "
        + "  ".join(f"{p:.3f}→{o:.3f}" for p, o in zip(rel["predicted"], rel["observed"], strict=True))
    )
    console.print(f"horizon probabilities not monotone: {s['monotone_violations']} subscribers")


@app.command()
def backtest(
    store: StoreOption,
    origins: Annotated[
        str | None, typer.Option("--origins", help="Origin months, comma-separated (at least 3).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Last origin month (default: last one with full labels).")
    ] = None,
    n_origins: Annotated[int, typer.Option("--n-origins", help="Consecutive origins ending at --end.")] = 3,
    horizon: Annotated[
        int,
        typer.Option(
            "--horizon", help="Longest horizon in months (the models predict 1 … it; the table shows it)."
        ),
    ] = 3,
    definition: Annotated[
        str | None,
        typer.Option(
            "--definition",
            help="Churn definition: offnet, silent:DAYS, zero_usage, value_decline, … (default: offnet when "
            "the store has deregistration or port-out events, else silent:30).",
        ),
    ] = None,
    history: Annotated[
        int, typer.Option("--history", help="Feature months before each origin to learn from.")
    ] = 4,
    gap: Annotated[
        int, typer.Option("--gap", help="Months before each origin after which outcomes are unused.")
    ] = 0,
    trees: Annotated[
        int | None,
        typer.Option("--trees", help="Boosting rounds (default: chosen per origin, as `train` does)."),
    ] = None,
    leaves: Annotated[
        int | None,
        typer.Option("--leaves", help="Leaves per tree (default: chosen per origin, as `train` does)."),
    ] = None,
    clv: Annotated[float, typer.Option("--clv", help="EMP: customer lifetime value (yuan).")] = 200.0,
    offer_cost: Annotated[
        float, typer.Option("--offer-cost", help="EMP: cost of the retention offer.")
    ] = 10.0,
    contact_cost: Annotated[float, typer.Option("--contact-cost", help="EMP: cost of a contact.")] = 1.0,
    accept_alpha: Annotated[float, typer.Option("--accept-alpha", help="EMP: Beta α of acceptance.")] = 6.0,
    accept_beta: Annotated[float, typer.Option("--accept-beta", help="EMP: Beta β of acceptance.")] = 14.0,
    json_out: JsonOption = False,
) -> None:
    """Rolling-origin backtest (≥ 3 consecutive months): hazard model vs logistic regression vs ARPU rule.

    Each origin's models learn only from months before it. Metrics: ROC-AUC, PR-AUC, top-decile
    lift, Brier, ECE with a reliability curve, and expected maximum profit (EMP).

    Example: `churnradar backtest --store operator.duckdb --end 2024-06 --clv 300`
    """
    from churnradar.evaluate.backtest import backtest_store

    emp_params = {
        "clv": clv,
        "offer_cost": offer_cost,
        "contact_cost": contact_cost,
        "accept_alpha": accept_alpha,
        "accept_beta": accept_beta,
    }
    with progress_bar(disable=json_out) as progress:
        result = backtest_store(
            store,
            [o.strip() for o in origins.split(",")] if origins else None,
            end=end,
            n_origins=n_origins,
            horizons=tuple(range(1, horizon + 1)),  # the model predicts the months up to --horizon
            horizon=horizon,
            definition=definition,
            history_months=history,
            gap_months=gap,
            params={
                "num_threads": 1,
                **({} if trees is None else {"n_estimators": trees}),
                **({} if leaves is None else {"num_leaves": leaves}),
            },
            emp_params=emp_params,
            progress=progress,
        )
    s = result.summary()
    if json_out:
        emit_json(s)
        return
    print_backtest(s)
