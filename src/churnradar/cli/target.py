"""`churnradar target`: the budgeted retention target list (uplift × CLV − cost)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json
from churnradar.cli._progress import progress_bar
from churnradar.retention.errors import TargetingError


def _capacity(items: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for it in items or []:
        chan, _, n = it.partition("=")
        try:
            out[chan] = float(n)
        except ValueError:
            raise TargetingError(f"capacity {it!r} is not channel=number, e.g. outbound_call=500") from None
    return out


@app.command()
def target(
    store: StoreOption,
    budget: Annotated[float, typer.Option("--budget", help="Total offer budget (yuan).")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Month, YYYY-MM (default: the last month); a churn model must have scored it "
            "(`churnradar score --as-of`).",
        ),
    ] = None,
    capacity: Annotated[
        list[str] | None, typer.Option("--capacity", help="Most contacts on a channel, channel=n (repeat).")
    ] = None,
    learner: Annotated[
        str,
        typer.Option(
            "--learner",
            help="auto (the segment learner when its levers are in the data, else the T- or "
            "X-learner with the best cross-fitted Qini; all are scored), t_learner, x_learner or "
            "segment_learner (additive relative effects of prepaid, heavy data, family V-net and high "
            "ARPU, ridge-shrunk towards the offer's average, times the predicted churn risk).",
        ),
    ] = "auto",
    method: Annotated[str, typer.Option("--method", help="auto, milp or greedy.")] = "auto",
    compare: Annotated[
        bool,
        typer.Option("--compare", help="Simulated data: true value of this plan, top-risk and an oracle."),
    ] = False,
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth", help="The simulator's truth folder (default: the one in data/ beside the store)."
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", envvar="CHURNRADAR_DATABASE_URL", help="Operational store URL (contact rules)."
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Choose at most one offer per subscriber maximising Σ(uplift × CLV − cost) under the budget,
    channel capacities, consent and contact rules; write `target_list` and print the expected
    retained value and cost. Risk is the churn model's score of the month: score it first.

    Example: `churnradar target --store operator.duckdb --budget 50000 --capacity outbound_call=800 --json`
    """
    from churnradar.opstore import open_ops
    from churnradar.retention.targeting import plan_targets

    if compare and truth is None:
        from churnradar.evaluate.targeting import default_truth

        truth = default_truth(store)
    with progress_bar(disable=json_out) as progress:
        res = plan_targets(
            store,
            budget,
            as_of=as_of,
            capacity=_capacity(capacity),
            learner=learner,
            method=method,
            engine=open_ops(store, database_url),
            progress=progress,
        )
    if compare:
        from churnradar.evaluate.targeting import compare_with_truth

        res.summary.update(compare_with_truth(res, truth))
    s = res.summary
    if json_out:
        emit_json(s)
        return
    console.print(
        f"[bold]target_list[/] {s['as_of']}: {s['n_targeted']:,} of {s['n_candidates']:,} subscribers, cost "
        f"{s['cost']:,.0f} of {s['budget']:,.0f}; expected retained value {s['expected_retained_value']:,.0f} "
        f"(net {s['expected_net_value']:,.0f}); {s['method']} (gap to LP bound {s['gap_to_bound']:.3%}), "
        f"uplift model {s['learner']}"
    )
    t = RichTable(title="offers / 方案", title_justify="left")
    for c in ("offer", "n", "cost"):
        t.add_column(c)
    for r in s["by_offer"]:
        t.add_row(r["offer_kind"], f"{r['n']:,}", f"{r['cost']:,.0f}")
    console.print(t)
    if compare:
        console.print(
            f"true retained value at the same budget: this plan {s['true_value_plan']:,.0f}, top-risk "
            f"{s['true_value_top_risk']:,.0f}, oracle {s['true_value_oracle']:,.0f}"
        )
