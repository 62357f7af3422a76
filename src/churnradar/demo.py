"""The end-to-end tour behind `churnradar demo`: one function per stage, run in order.

Later stages (labels, features, models, retention, reports, serving) add themselves here as they
land; every stage runs on a fresh install with nothing but the package.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from churnradar.errors import ConfigError

KEY_ENV = "CHURNRADAR_HMAC_KEY"


@dataclass
class DemoResult:
    """What the demo produced: where things are and the figures it printed."""

    out: Path
    data_dir: Path
    store_path: Path
    key_file: Path | None
    ingest: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def ensure_demo_key(out: Path) -> Path | None:
    """Use ``CHURNRADAR_HMAC_KEY`` when set; otherwise create (once) a random key file in ``out``.

    The key file sits beside the store, never inside it.
    """
    if os.environ.get(KEY_ENV):
        return None
    key_file = out / "hmac.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
        key_file.chmod(0o600)
    return key_file


def store_summary(store_path: Path) -> dict[str, Any]:
    """Subscriptions, and deregistrations (销户) and port-outs (携出) by month as the metrics layer
    counts them (:mod:`churnradar.metrics`: first end of a line, by the month it was recorded)."""
    from churnradar.metrics import series
    from churnradar.periods import format_month, month_range, parse_month
    from churnradar.store.backends import open_backend

    bk = open_backend(store_path)
    try:
        subscribers = bk.to_pyarrow(bk.table("subscription").count().as_table()).column(0)[0].as_py()
        customers = bk.to_pyarrow(bk.table("customer").count().as_table()).column(0)[0].as_py()
        u = bk.table("usage_monthly")
        first, last = bk.to_pyarrow(u.aggregate(a=u.month.min(), b=u.month.max())).to_pylist()[0].values()
        months = month_range(parse_month(first), parse_month(last))
        frame = series(bk, months, ids=["deregistrations", "port_outs"])
    finally:
        bk.close()
    names = {"deregistrations": "deregistered", "port_outs": "ported_out"}
    by_month: dict[str, dict[str, int]] = {}
    for row in frame.reset_index().to_dict("records"):
        counts = {names[k]: int(row[k]) for k in names if row.get(k) is not None and row[k] == row[k]}
        by_month[format_month(parse_month(row["month"]))] = counts
    totals = {v: sum(c.get(v, 0) for c in by_month.values()) for v in names.values()}
    return {
        "subscribers": subscribers,
        "customers": customers,
        "first_month": format_month(months[0]),
        "last_month": format_month(months[-1]),
        "recorded_churn_by_kind": totals,
        "recorded_churn_by_month": by_month,
    }


def run_demo(
    out: Path,
    subscribers: int = 20_000,
    months: int = 12,
    seed: int = 7,
    start: str = "2024-01",
    on_stage: Callable[[str], None] | None = None,
    progress: Callable[..., None] | None = None,
) -> DemoResult:
    """Simulate an operator into ``out/data``, ingest it into ``out/churnradar.duckdb``, summarise."""
    from churnradar.ingest import ingest
    from churnradar.simulate import simulate

    if subscribers < 100:
        raise ConfigError(f"--subscribers {subscribers} is too small for a demo; expected at least 100")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "data"
    store_path = out / "churnradar.duckdb"
    say = on_stage or (lambda _msg: None)

    say(f"simulate: {subscribers:,} subscribers × {months} months from {start} (seed {seed})")
    simulate(
        subscribers=subscribers,
        months=months,
        seed=seed,
        out=data_dir,
        fmt="parquet",
        start=start,
        progress=progress,
    )

    key_file = ensure_demo_key(out)
    if store_path.exists():
        store_path.unlink()
        Path(str(store_path) + ".wal").unlink(missing_ok=True)
    say(f"ingest: validate, pseudonymise and load into {store_path.name}")
    result = ingest([data_dir], store=store_path, key_file=key_file, progress=progress)

    summary = store_summary(store_path)

    # label and featurise the last month whose 3-month horizon plus the ~3-month deregistration lag
    # the data still covers
    from churnradar.features import write_snapshot
    from churnradar.labels import label_store
    from churnradar.periods import add_months, format_month, parse_month

    as_of = format_month(add_months(parse_month(summary["last_month"]), -6))
    say(f"label: churn of every kind for as-of {as_of}")
    labels = label_store(store_path, as_of)
    say(f"features: point-in-time feature snapshot for as-of {as_of}")
    snap = write_snapshot(store_path, as_of, progress=progress)
    summary["as_of"] = as_of
    summary["labels"] = labels.summary
    summary["features"] = {
        "rows": snap.rows,
        "features": len(snap.features),
        "feature_set": snap.feature_set,
        "version": snap.version,
    }
    summary["model"] = model_stage(store_path, as_of, say, progress)
    # reports: the full set (HTML, zh-CN) and the five-step diagnosis of the latest complete month
    from churnradar.reports import write_reports
    from churnradar.reports.diagnosis import diagnose_store

    reports_dir = out / "reports"
    say(f"reports: the full report set and a churn diagnosis into {reports_dir}")
    files = write_reports(store_path, "all", out=reports_dir, progress=progress)
    diagnosis = diagnose_store(store_path, out=reports_dir)
    summary["reports"] = {
        "folder": str(reports_dir),
        "files": [str(p) for p in files],
        "diagnosis": str(diagnosis.path),
        "findings": diagnosis.report.findings,
    }
    summary["retention"] = retention_stage(store_path, data_dir, say)
    return DemoResult(
        out=out,
        data_dir=data_dir,
        store_path=store_path,
        key_file=key_file,
        ingest=result.counts(),
        summary=summary,
    )


def model_stage(
    store_path: Path, as_of: str, say: Callable[[str], None], progress: Callable[..., None] | None = None
) -> dict[str, Any]:
    """Backtest (3 origins ending at ``as_of``), store the ``as_of`` model, score ``as_of``.

    The backtest's last origin trains exactly what ``churnradar train --as-of`` trains, so that model
    is stored instead of training it twice.
    """
    from churnradar.evaluate.backtest import run_backtest
    from churnradar.models.pipeline import TrainingData, score_store
    from churnradar.models.registry import save_model
    from churnradar.periods import add_months, parse_month
    from churnradar.store.backends import open_backend

    t = parse_month(as_of)
    say(
        f"backtest: hazard model vs logistic regression vs ARPU rule, origins {add_months(t, -2):%Y-%m} … {as_of}"
    )
    bk = open_backend(store_path)
    try:
        bt = run_backtest(TrainingData(bk), [add_months(t, -2), add_months(t, -1), t], progress=progress)
    finally:
        bk.close()
    say(f"train: store the churn model as of {as_of} in the registry")
    rec = save_model(store_path, bt.models[t])
    say(f"score: probabilities, health, risk level and reasons for every subscriber as of {as_of}")
    scored = score_store(store_path, as_of, model_id=rec.model_id, progress=progress)
    return {"backtest": bt.summary(), "train": rec.summary(), "score": scored.summary(5)}


def retention_stage(store_path: Path, data_dir: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Target and evaluate: evaluate the simulator's first observed campaign, then choose next
    month's targets under a budget of 1 yuan per subscriber, compared with the simulator's truth."""
    import warnings

    from churnradar.errors import ChurnRadarError
    from churnradar.evaluate.targeting import compare_with_truth
    from churnradar.models.pipeline import score_store
    from churnradar.retention.evaluate import evaluate_campaign
    from churnradar.retention.targeting import plan_targets

    out: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            say("retention: evaluate campaign RC01 against its control group")
            ev = evaluate_campaign(store_path, "RC01", with_segments=False)
            out["evaluation"] = {
                "campaign_id": "RC01",
                "observed": ev.observed,
                "overall": ev.overall,
                "by_offer": ev.summary()["offer_quality"],
            }
            facts = store_summary(store_path)
            budget = float(facts["subscribers"])
            # targeting reads the churn model's score of the month it targets: score the last month
            say(f"score: the last month {facts['last_month']} with the stored model, for targeting")
            score_store(store_path, facts["last_month"])
            say(f"target: uplift × CLV − cost under a budget of {budget:,.0f} yuan")
            res = plan_targets(store_path, budget, as_of=facts["last_month"])
            # the simulator wrote the data: the evaluation scores the plan against what it knows
            res.summary.update(compare_with_truth(res, data_dir))
            out["target"] = {k: v for k, v in res.summary.items() if k != "uplift_metrics"}
    except ChurnRadarError as exc:  # e.g. too few logged campaign members in a tiny demo
        out["skipped"] = str(exc)
    return out
