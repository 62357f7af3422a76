"""`churnradar features`: compute a feature set for one as-of month into `feature_snapshot`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli._app import JsonOption, app, console, emit_json
from churnradar.cli._progress import progress_bar
from churnradar.errors import ConfigError


@app.command()
def features(
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Analytical store (a DuckDB file).", envvar="CHURNRADAR_STORE"),
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Prediction month, YYYY-MM.")] = None,
    feature_set: Annotated[str, typer.Option("--feature-set", help="Feature set: core or numeric.")] = "core",
    backend: Annotated[str, typer.Option("--backend", help="Engine: duckdb (default) or spark.")] = "duckdb",
    list_features: Annotated[
        bool, typer.Option("--list", help="List the features of the set (theme, definition, driver).")
    ] = False,
    memory: Annotated[
        str,
        typer.Option(
            "--memory",
            help="Memory budget, e.g. 16GB, 50% or none (default: 60% of the machine's memory); sets "
            "DuckDB's memory_limit, and the month is computed in as many subscriber partitions as keep "
            "it within that.",
        ),
    ] = "default",
    partitions: Annotated[
        int | None,
        typer.Option(
            "--partitions",
            help="Compute in this many subscriber-hash partitions (1-64; default: from --memory and the "
            "store's size). Same result, less memory per query, one more scan per partition.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Compute a feature set for one as-of month and write it to the store's `feature_snapshot`.

    Only data up to the end of the as-of month is read. The rows of the same as-of month and
    feature set are replaced atomically. `--list` prints every feature with its definition.

    Example: `churnradar features --store operator.duckdb --as-of 2024-09 --memory 8GB`
    """
    from churnradar.features import THEMES, get_feature_set, write_snapshot
    from churnradar.features.inputs import feature_inputs

    fs = get_feature_set(feature_set)
    if list_features:
        feats = fs.resolve()
        inputs = feature_inputs(fs)
        if json_out:
            emit_json(
                {
                    "feature_set": fs.name,
                    "version": fs.full_version,
                    "features": [{**f.describe(), "inputs": sorted(inputs[f.name])} for f in feats],
                }
            )
            return
        console.print(f"[bold]feature set {fs.name}[/] {fs.full_version}: {len(feats)} features")
        for theme, about in THEMES.items():
            in_theme = [f for f in feats if f.theme == theme]
            if not in_theme:
                continue
            console.print(f"\n[bold underline]{theme}[/] — {about} ({len(in_theme)})")
            for f in in_theme:
                tags = " · ".join(x for x in (f.dtype, f.driver, f.reason) if x)
                console.print(f"  [bold]{f.name}[/] [dim]({tags})[/]", highlight=False)
                console.print(f"      {f.definition}", highlight=False)
                console.print(f"      [dim]reads {', '.join(sorted(inputs[f.name]))}[/]", highlight=False)
        return
    if store is None or as_of is None:
        raise ConfigError("features needs --store and --as-of (or --list to list the features)")
    from churnradar.models.memory import duckdb_alone

    with progress_bar(disable=json_out) as progress, duckdb_alone(memory):
        result = write_snapshot(store, as_of, fs, backend=backend, partitions=partitions, progress=progress)
    s = result.summary()
    if json_out:
        emit_json(s)
        return
    console.print(
        f"[bold]feature_snapshot[/] {s['as_of']} · set {s['feature_set']} {s['version']} · "
        f"{s['rows']:,} rows × {s['columns']} columns ({s['features']} features) · "
        f"{s['backend']}{f' · {result.partitions} partitions' if result.partitions > 1 else ''} · {s['seconds']} s"
    )
    if result.skipped:
        console.print(
            f"[yellow]{len(result.skipped)} features skipped[/]: the store lacks their inputs "
            "(optional tables or columns); they are not computed, never filled with placeholders"
        )
        by_missing: dict[str, list[str]] = {}
        for name, missing in result.skipped.items():
            by_missing.setdefault(", ".join(missing), []).append(name)
        for missing, names in by_missing.items():
            console.print(f"  no {missing}: {', '.join(names)}", highlight=False)
