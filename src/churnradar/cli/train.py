"""`churnradar train`: train a churn hazard model as of a month and store it in the store's registry."""

from __future__ import annotations

from typing import Annotated

import typer

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json
from churnradar.cli._progress import progress_bar


def _horizons(text: str) -> tuple[int, ...]:
    from churnradar.errors import ConfigError

    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"--horizons {text!r} is not valid; expected months like 1,2,3") from None


def capacity_line(p: dict) -> str:
    """One line: the booster's capacity and how it was chosen (searched, fixed, or why no search)."""
    shape = (
        f"{p.get('num_leaves')} leaves, ≥ {p.get('min_child_samples')} rows per leaf, "
        f"learning rate {p.get('learning_rate')}, {p.get('n_estimators')} trees"
    )
    s = p.get("capacity_search") or {}
    if s.get("skipped"):
        return f"capacity: {shape} (defaults: {s['skipped']})"
    if s.get("fixed"):
        how = "fixed by --params/--trees/--leaves"
        if s.get("trials"):
            how += f"; trees by early stopping on a validation month ({s['valid_rows']:,} rows)"
        return f"capacity: {shape} ({how})"
    budget = s.get("budget_s")
    cut = ", budget reached" if s.get("budget_reached") else ""
    return (
        f"capacity: {shape} (chosen on the last training outcome month, {s.get('valid_rows', 0):,} rows: "
        f"{s.get('tried', 0)} of {s.get('candidates', 0)} configurations in {s.get('seconds', 0):.1f} s, "
        f"budget {budget:.0f} s{cut})"
    )


@app.command()
def train(
    store: StoreOption,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Training month, YYYY-MM; default: the last month of data less the churn definition's "
            "confirmation months (its outcomes are final by then).",
        ),
    ] = None,
    feature_set: Annotated[str, typer.Option("--feature-set", help="Feature set: core or numeric.")] = "core",
    definition: Annotated[
        str | None,
        typer.Option(
            "--definition",
            help="Churn definition to predict: offnet, silent:DAYS, zero_usage, value_decline, … (default: "
            "offnet when the store has deregistration or port-out events, else silent:30).",
        ),
    ] = None,
    horizons: Annotated[str, typer.Option("--horizons", help="Horizons in months, e.g. 1,2,3.")] = "1,2,3",
    history: Annotated[int, typer.Option("--history", help="Feature months before as-of to learn from.")] = 4,
    gap: Annotated[
        int, typer.Option("--gap", help="Months before as-of after which outcomes are not used (e.g. 3).")
    ] = 0,
    trees: Annotated[
        int | None, typer.Option("--trees", help="Boosting rounds (fixes them instead of searching).")
    ] = None,
    leaves: Annotated[
        int | None, typer.Option("--leaves", help="Leaves per tree (fixes them instead of searching).")
    ] = None,
    params: Annotated[
        str | None,
        typer.Option(
            "--params",
            help="Fix the model instead of searching, JSON: num_leaves, min_child_samples, learning_rate, "
            "n_estimators (without n_estimators the trees still come from early stopping).",
        ),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget",
            help="Seconds for the capacity search (default grows with the training rows, 20–240 s).",
        ),
    ] = None,
    threads: Annotated[
        int, typer.Option("--threads", help="LightGBM threads (1 is deterministic and fast here).")
    ] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    backend: Annotated[
        str, typer.Option("--backend", help="Engine for features: duckdb or spark.")
    ] = "duckdb",
    memory: Annotated[
        str,
        typer.Option(
            "--memory",
            help="Memory budget, e.g. 16GB, 12GiB, 50% or none (default: 60% of the machine's memory). "
            "Sets DuckDB's memory_limit; when the training rows do not fit, every churn event and a "
            "weighted sample of the other subscriber-months are used.",
        ),
    ] = "default",
    max_rows: Annotated[
        int | None,
        typer.Option("--max-rows", help="Cap on training rows (every churn event and a sample of the rest)."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Train the churn model as of a month (outcomes up to that month only) and store it in `model`.

    The model records its data hash, feature-set version, parameters (with the training sample's
    rate and rows) and metrics; the same data and seed give the same model (and model id), and the
    same budget the same sample.
    A memory budget too small for one month's features is refused before any feature is computed.

    The booster's capacity (leaves, rows per leaf, learning rate, trees) is chosen on the training window's last outcome month, with early stopping, within `--budget` seconds; `--params` fixes it.

    Example: `churnradar train --store operator.duckdb --as-of 2024-06 --memory 16GB`
    (without `--as-of`: the newest month whose outcomes are final)
    """
    from churnradar.cli.fit_table import _params
    from churnradar.errors import ConfigError
    from churnradar.models import train_store
    from churnradar.models.memory import MemoryBudget
    from churnradar.models.tuning import check_hazard_params

    if budget is not None and not budget > 0:
        raise ConfigError(f"--budget {budget} must be a positive number of seconds")
    if as_of is None:
        from churnradar.as_of import default_training_month
        from churnradar.periods import format_month

        as_of = format_month(default_training_month(store, definition))
    fixed = check_hazard_params(_params(params) or {})
    for key, value in (("n_estimators", trees), ("num_leaves", leaves)):
        if value is not None:
            fixed = check_hazard_params({**fixed, key: value})
    mem_budget = MemoryBudget.resolve(memory)
    model_params = {**fixed, "num_threads": threads, "random_state": seed, "search_budget": budget}
    with progress_bar(disable=json_out) as progress:
        result = train_store(
            store,
            as_of,
            feature_set=feature_set,
            definition=definition,
            horizons=_horizons(horizons),
            history_months=history,
            gap_months=gap,
            params=model_params,
            backend=backend,
            memory=mem_budget,
            max_rows=max_rows,
            progress=progress,
        )
    s = result.summary()
    if json_out:
        emit_json(s)
        return
    m = s["metrics"]
    from churnradar.models.memory import format_bytes

    budget_text = "no memory budget" if mem_budget is None else f"budget {format_bytes(mem_budget.total)}"
    console.print(
        f"[bold]model {s['model_id']}[/] as of {s['as_of']} · feature set {s['feature_set']} "
        f"{s['feature_set_version']} · data {s['data_hash'][:12]} · {result.seconds:.1f} s · "
        f"peak memory {format_bytes(result.peak_rss)} ({budget_text})"
    )
    console.print(
        f"panel {m['panel_rows']:,} subscriber-months ({m['panel_events']:,} churn events), "
        f"trained on {m['train_rows']:,}, calibrated on {m['calibration_rows']:,}; base rate "
        f"{m['base_rate']:.2%} within {max(_horizons(horizons))} months"
    )
    steps = [k for k in m if k.startswith("hazard_auc_step")]
    console.print(
        "calibration slice: "
        + ", ".join(f"step {k[-1]} AUC {m[k]:.3f} ECE {m[k.replace('auc', 'ece')]:.4f}" for k in steps)
    )
    console.print(capacity_line(s["params"]))
    for note in s["notes"]:
        console.print(f"[yellow]note:[/] {note}")
