"""`churnradar demo`: the whole flow on a simulated operator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, app, console, emit_json
from churnradar.cli._progress import progress_bar


@app.command()
def demo(
    subscribers: Annotated[
        int, typer.Option("--subscribers", help="Subscribers of the simulated operator.")
    ] = 20_000,
    months: Annotated[int, typer.Option("--months", help="Months to simulate.")] = 12,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the simulator.")] = 7,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the data, the key file and the store.")
    ] = Path("churnradar-demo"),
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop before serving the dashboard.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Simulate a small operator, ingest it and print a summary of subscribers and churn.

    Example: `churnradar demo --subscribers 5000 --no-serve`
    """
    from churnradar.demo import run_demo

    def stage(msg: str) -> None:
        if not json_out:
            console.print(f"[bold cyan]▶[/] {msg}")

    with progress_bar(disable=json_out) as progress:
        result = run_demo(
            out=out, subscribers=subscribers, months=months, seed=seed, on_stage=stage, progress=progress
        )
    s = result.summary
    if json_out:
        emit_json({"store": str(result.store_path), "ingest": result.ingest, "summary": s})
    else:
        console.print(
            f"\n[bold]{s['subscribers']:,}[/] subscriptions of {s['customers']:,} customers, "
            f"{s['first_month']} … {s['last_month']}; ingest read {result.ingest['read']:,} rows, "
            f"loaded {result.ingest['loaded']:,}, rejected {result.ingest['rejected']:,}."
        )
        kinds = sorted(s["recorded_churn_by_kind"])
        table = RichTable(
            title="Deregistrations and port-outs by month / 每月销户与携出", title_justify="left"
        )
        table.add_column("month")
        for k in kinds:
            table.add_column(k, justify="right")
        for month, counts in s["recorded_churn_by_month"].items():
            table.add_row(month, *[f"{counts.get(k, 0):,}" for k in kinds])
        console.print(table)
        lab, feat = s["labels"], s["features"]
        console.print(
            f"\n[bold]Labels[/] as of {s['as_of']} ({lab['definition']}, dated by {lab['dating']}): "
            f"population {lab['population']:,}; "
            + ", ".join(f"{k} {v:,}" for k, v in lab["positives"].items())
        )
        kinds = RichTable(
            title=f"Churn by kind in the 3 months after {s['as_of']} / 各类流失", title_justify="left"
        )
        kinds.add_column("kind")
        kinds.add_column("n", justify="right")
        for k, v in lab["by_kind"].items():
            kinds.add_row(k, f"{v:,}")
        console.print(kinds)
        console.print("reasons: " + ", ".join(f"{k} {v:,}" for k, v in lab["by_reason"].items()))
        console.print(
            f"[bold]Features[/]: {feat['features']} features ({feat['feature_set']} {feat['version']}) "
            f"for {feat['rows']:,} subscribers"
        )
        if "model" in s:
            from churnradar.cli.backtest import print_backtest

            mod = s["model"]
            print_backtest(mod["backtest"])
            sc = mod["score"]
            console.print(
                f"[bold]Model[/] {mod['train']['model_id']} as of {mod['train']['as_of']}; [bold]score[/]: "
                f"{sc['rows']:,} subscribers, mean "
                + ", ".join(f"{k[8:]} {v:.2%}" for k, v in sc["mean_probability"].items())
                + "; riskiest: "
                + "; ".join(
                    f"{r['subscriber_id']} {r[list(sc['mean_probability'])[-1]]:.0%} {r['reason_1_zh']}"
                    for r in sc["top"][:3]
                ),
                highlight=False,
            )
        rep = s["reports"]
        console.print(
            f"[bold]Reports[/]: {len(rep['files'])} HTML files in {rep['folder']}; diagnosis {rep['diagnosis']}"
        )
        for f in rep["findings"]:
            console.print(f"  • {f}", highlight=False)
        ret = s.get("retention", {})
        if "skipped" in ret:
            console.print(f"[bold]Retention[/]: skipped ({ret['skipped']})")
        elif ret:
            o = ret["evaluation"]["overall"]
            console.print(
                f"[bold]Campaign RC01[/]: treated retention {o['retention']:.1%} vs control "
                f"{o['control_retention']:.1%} (uplift {o['uplift']:+.2%}, 95% CI {o['uplift_ci'][0]:+.1%} … "
                f"{o['uplift_ci'][1]:+.1%})"
            )
            t = ret["target"]
            console.print(
                f"[bold]Target list[/] {t['as_of']}: {t['n_targeted']:,} subscribers, expected cost "
                f"{t['cost']:,.0f}, expected retained value {t['expected_retained_value']:,.0f}; true retained "
                f"value: this plan {t['true_value_plan']:,.0f}, top-risk {t['true_value_top_risk']:,.0f}, "
                f"oracle {t['true_value_oracle']:,.0f}"
            )
        console.print(f"store: {result.store_path}")
    if not no_serve and not json_out:
        from churnradar.cli.serve import serve_demo

        serve_demo(result.store_path)
