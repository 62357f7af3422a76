"""``churnradar cycle``: the month's work as one resumable command.

Stages, in order (each a call of the library function its own command runs):

1. ``ingest``    the month's export files (only with ``--from DIR``);
2. ``labels``    churn labels of the month whose three-month outcomes the data now hold (T-3),
   which also refreshes the stored churn events that reports and metrics read;
3. ``features``  the feature snapshot of T;
4. ``train``     a new model as of T when there is none of the churn definition, when the newest is
   ``retrain_months`` or more older than T, or when last month's monitoring raised an alert; the
   new model becomes the champion only when it beats the champion on the newest outcome month
   neither learnt (:mod:`.champion`);
5. ``score``     every open line of T with the champion;
6. ``segments``  value, value x risk segment and action of every line (``value_segment``);
7. ``target``    the target list under ``--budget`` (skipped without a budget);
8. ``metrics``   every metric of the metrics layer for T (``metric_value``), and the report set
   into ``--reports DIR`` when given;
9. ``monitor``   feature and score stability against the model's training month and realised
   outcomes of the last three months' scores (``model_monitor``), with an alert.

Every stage computes an *inputs* fingerprint (the store's data version, the model, the options that
change its result, the fingerprints of the stages it reads) before it runs. A stage whose last
record for the month carries the same fingerprint is skipped; a record is written only once a stage
has finished, so a killed run resumes at the stage it was in. ``dry_run`` says what would run and
why without running anything.
"""

from __future__ import annotations

import hashlib
import json
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from churnradar.as_of import confirmation_lag, store_definition, training_month
from churnradar.cycle.records import StageRecord, read_records, write_record
from churnradar.errors import ChurnRadarError, ConfigError
from churnradar.periods import add_months, format_month, months_between, parse_month

STAGES = ("ingest", "labels", "features", "train", "score", "segments", "target", "metrics", "monitor")
#: Stages each stage reads the results of (its fingerprint includes theirs).
UPSTREAM: dict[str, tuple[str, ...]] = {
    "ingest": (),
    "labels": ("ingest",),
    "features": ("ingest",),
    "train": ("labels", "features"),
    "score": ("features", "train"),
    "segments": ("score",),
    "target": ("segments",),
    "metrics": ("labels", "score"),
    "monitor": ("score",),
}
#: Horizon of the labels written by the cycle (months after the label month).
LABEL_HORIZON_MONTHS = 3


@dataclass
class CycleOptions:
    source: Path | None = None  # --from DIR: the month's export files
    mapping: Path | None = None
    definition: str | None = None  # None: off-net when the store has end events, else silent:30
    retrain_months: int = 3
    budget: float | None = None
    reports: Path | None = None
    memory: str | None = "default"
    feature_set: str = "core"
    #: engine of labels, features, training's panel, scoring and the metrics: ``duckdb`` or ``spark``
    #: (Spark reads the store's tables as Parquet; results are written to the store either way)
    backend: str = "duckdb"
    #: logged treated members (with consent) an offer needs before the target list learns its uplift
    min_arm_rows: int = 300


@dataclass
class StageRun:
    name: str
    status: str  # "ran" | "skipped" | "failed" | "would run" | "would skip"
    reason: str
    seconds: float = 0.0
    rows: int = 0
    peak_rss: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 2),
            "rows": self.rows,
            "peak_rss_bytes": self.peak_rss,
            "detail": self.detail,
        }


@dataclass
class CycleResult:
    month: date
    store: Path
    dry_run: bool
    stages: list[StageRun]

    @property
    def failed(self) -> list[StageRun]:
        return [s for s in self.stages if s.status == "failed"]

    @property
    def champion(self) -> dict[str, Any] | None:
        """This run's champion-challenger decision, when its train stage judged a new model."""
        train = next((s for s in self.stages if s.name == "train"), None)
        return None if train is None else train.detail.get("champion")

    @property
    def monitoring(self) -> dict[str, Any] | None:
        """This run's monitoring summary, when its monitor stage ran."""
        mon = next((s for s in self.stages if s.name == "monitor" and s.status == "ran"), None)
        return None if mon is None else mon.detail

    def to_dict(self) -> dict[str, Any]:
        mon = self.monitoring
        return {
            "month": format_month(self.month),
            "store": str(self.store),
            "dry_run": self.dry_run,
            "stages": [s.to_dict() for s in self.stages],
            "champion": self.champion,
            "alert": None if mon is None else bool(mon.get("alert")),
            "alerts": [] if mon is None else list(mon.get("alerts", [])),
        }


def _ancestors(name: str) -> list[str]:
    """Every stage ``name`` reads the results of, directly or through others."""
    out: list[str] = []
    for u in UPSTREAM[name]:
        for a in (*_ancestors(u), u):
            if a not in out:
                out.append(a)
    return out


def _fp(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _data_version(store: Path) -> str:
    from churnradar.labels.stored import data_version
    from churnradar.store.backends import open_backend

    bk = open_backend(store)
    try:
        return data_version(bk)
    finally:
        bk.close()


def _files_fingerprint(source: Path) -> list[tuple[str, int, int]]:
    from churnradar.ingest import readers

    files = readers.discover([source])
    if not files:
        raise ConfigError(f"--from {source}: no CSV or Parquet files there")
    return [
        (
            str(p.relative_to(source) if p.is_relative_to(source) else p),
            p.stat().st_size,
            p.stat().st_mtime_ns,
        )
        for p in files
    ]


def _newest_model(store: Path, month: date, definition: str) -> Any:
    from churnradar.models.registry import list_models

    for rec in list_models(store):
        if rec.label_definition == definition and rec.as_of <= month:
            return rec
    return None


def _scoring_model(store: Path, month: date, definition: str) -> str | None:
    """The model ``score`` uses for ``month``: the latest-named champion trained at or before it,
    else the newest such model."""
    from churnradar.models.registry import champions, list_models

    usable = {r.model_id for r in list_models(store) if r.label_definition == definition and r.as_of <= month}
    for named in champions(store, definition):
        if named.model_id in usable:
            return named.model_id
    newest = _newest_model(store, month, definition)
    return None if newest is None else newest.model_id


def _challenged(store: Path, model_id: str) -> bool:
    """Whether a finished train stage of any month judged ``model_id`` against the champion."""
    from churnradar.cycle.records import RUN_TABLE
    from churnradar.store import Store, has_table

    with Store.open(store, read_only=True) as st:
        con = st.connection
        if not has_table(con, RUN_TABLE):
            return False
        details = con.execute(f"SELECT detail FROM \"{RUN_TABLE}\" WHERE stage = 'train'").fetchall()
    for (d,) in details:
        decided = json.loads(d or "{}").get("champion") or {}
        if decided.get("challenger") == model_id:
            return True
    return False


def _last_alert(store: Path, month: date) -> str | None:
    """The alert of last month's monitoring, when it raised one."""
    prev = read_records(store, add_months(month, -1)).get("monitor")
    if prev is not None and prev.detail.get("alert"):
        return "; ".join(prev.detail.get("alerts", [])) or "alert"
    return None


def run_cycle(
    store: Path | str,
    month: str | date,
    options: CycleOptions | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[str, float, float | None], None] | None = None,
    on_stage: Callable[[StageRun], None] | None = None,
) -> CycleResult:
    """Run the monthly cycle for ``month`` on ``store`` (see the module docstring)."""
    opts = options or CycleOptions()
    store = Path(store)
    month = parse_month(month)
    if opts.source is None and not store.exists():
        raise ConfigError(
            f"{store}: no such store; give --from DIR to ingest the month's files into a new one"
        )
    if opts.retrain_months < 1:
        raise ConfigError(f"--retrain-months {opts.retrain_months} is out of range; expected 1 or more")
    from churnradar.store.backends import BACKENDS

    if opts.backend not in BACKENDS:
        raise ConfigError(f"--backend {opts.backend!r} is not known; expected one of {', '.join(BACKENDS)}")
    if opts.min_arm_rows < 1:
        raise ConfigError(f"--min-arm-rows {opts.min_arm_rows} is out of range; expected 1 or more")
    if opts.budget is not None and opts.budget <= 0:
        raise ConfigError(f"--budget {opts.budget} is out of range; expected a positive amount")
    report = progress or (lambda *_a: None)
    records = read_records(store, month) if store.exists() else {}
    fps: dict[str, str] = {}
    runs: list[StageRun] = []
    changed: set[str] = set()

    def decide(name: str, inputs: str, rec_fp_parts: tuple[Any, ...]) -> tuple[bool, str]:
        fp = _fp(name, format_month(month), *rec_fp_parts, *[fps.get(u, "") for u in UPSTREAM[name]])
        fps[name] = fp
        old = records.get(name)
        if old is not None and old.inputs == fp:
            return False, f"unchanged since {old.finished:%Y-%m-%d %H:%M} ({inputs})"
        if old is None:
            return True, f"not run yet for {format_month(month)}"
        moved = [u for u in UPSTREAM[name] if u in changed]
        return True, f"inputs changed ({', '.join(moved) if moved else inputs})"

    def finish(run: StageRun, started: float) -> None:
        run.seconds = time.perf_counter() - started
        run.peak_rss = _peak_rss()
        write_record(
            store,
            StageRecord(
                month,
                run.name,
                fps[run.name],
                run.status,
                run.rows,
                run.seconds,
                run.peak_rss,
                datetime.now(),
                run.detail,
            ),
        )
        if run.status == "ran":
            changed.add(run.name)

    def emit(run: StageRun) -> None:
        runs.append(run)
        if on_stage is not None:
            on_stage(run)

    failed: dict[str, str] = {}

    from churnradar.models.memory import MemoryBudget, duckdb_alone
    from churnradar.store.connection import memory_limit

    budget = MemoryBudget.resolve(opts.memory)

    def step(name: str, started: float) -> None:
        if name == "ingest":
            if opts.source is None:
                fps[name] = ""
                emit(StageRun(name, "skipped", "no --from DIR: the store is used as it is"))
                return
            files = _files_fingerprint(opts.source)
            go, why = decide(name, f"{len(files)} files", (files, str(opts.mapping or "")))
            if not go or dry_run:
                emit(StageRun(name, ("would run" if go else "would skip") if dry_run else "skipped", why))
                return
            from churnradar.ingest import ingest

            res = ingest([opts.source], store, mapping=opts.mapping, memory=opts.memory)
            run = StageRun(
                name, "ran", why, rows=res.loaded, detail={"batch_id": res.batch_id, "notes": res.notes}
            )
            finish(run, started)
            emit(run)
            return

        data = _data_version(store) if store.exists() else "new"
        definition = store_definition(store, opts.definition)
        lag = confirmation_lag(definition)
        if name == "labels":
            as_of = add_months(month, -(LABEL_HORIZON_MONTHS + lag))
            go, why = decide(name, f"data {data}", (data, definition))
            if go and not dry_run:
                from churnradar.labels import label_store

                with duckdb_alone(budget):
                    lr = label_store(store, as_of, definition, backend=opts.backend)
                run = StageRun(
                    name,
                    "ran",
                    why,
                    rows=lr.labels.num_rows,
                    detail={"as_of": format_month(as_of), "definition": definition, "backend": opts.backend},
                )
                finish(run, started)
                emit(run)
                return
        elif name == "features":
            from churnradar.features import get_feature_set

            version = get_feature_set(opts.feature_set).full_version
            go, why = decide(name, f"data {data}", (data, opts.feature_set, version))
            if go and not dry_run:
                from churnradar.features import write_snapshot

                # DuckDB does this stage alone: its share of the budget is the larger one, and the
                # snapshot is computed in as many subscriber partitions as keep it within that
                with duckdb_alone(budget):
                    snap = write_snapshot(store, month, opts.feature_set, backend=opts.backend)
                run = StageRun(
                    name,
                    "ran",
                    why,
                    rows=snap.rows,
                    detail={
                        "features": len(snap.features),
                        "skipped": len(snap.skipped),
                        "backend": opts.backend,
                        "partitions": snap.partitions,
                    },
                )
                finish(run, started)
                emit(run)
                return
        elif name == "train":
            # outcomes up to the training month must be in the data: it lies `lag` months back
            train_month = training_month(month, definition)
            newest = _newest_model(store, train_month, definition)
            alert = _last_alert(store, month)
            age = None if newest is None else months_between(newest.as_of, train_month)
            if newest is None:
                need = f"no model of churn definition {definition}"
            elif alert is not None:
                need = f"last month's monitoring raised an alert: {alert}"
            elif age >= opts.retrain_months:
                need = f"model {newest.model_id} as of {newest.as_of:%Y-%m} is {age} months old (retrain every {opts.retrain_months})"
            else:
                need = None
            # the policy decides (no record is needed for that); what later stages see is the model
            keep = None if newest is None else newest.model_id
            if need is None:
                detail: dict[str, Any] = {"model_id": keep}
                if not dry_run and not _challenged(store, keep):
                    # a run killed between training and judging: judge the new model now
                    from churnradar.cycle.champion import challenge

                    detail["champion"] = challenge(store, keep, definition, train_month).to_dict()
                fps[name] = _fp(name, keep, _scoring_model(store, month, definition))
                run = StageRun(
                    name,
                    "would skip" if dry_run else "skipped",
                    f"model {keep} as of {newest.as_of:%Y-%m} is {age} month(s) old (retrain every {opts.retrain_months})",
                    detail=detail,
                )
                if not dry_run:
                    finish(run, started)
                emit(run)
                return
            if dry_run:
                fps[name] = _fp(name, "to be trained", format_month(train_month))
                changed.add(name)
                emit(StageRun(name, "would run", need))
                return
            from churnradar.cycle.champion import HOLD_OUT_MONTHS, challenge
            from churnradar.models.pipeline import train_store
            from churnradar.models.registry import current_champion

            # a model that will be judged against a champion holds its newest outcome month out
            gap = HOLD_OUT_MONTHS if current_champion(store, definition) is not None else 0
            tr = train_store(
                store,
                train_month,
                feature_set=opts.feature_set,
                definition=definition,
                memory=opts.memory,
                gap_months=gap,
                backend=opts.backend,
            )
            decided = challenge(store, tr.model_id, definition, train_month)
            fps[name] = _fp(name, tr.model_id, _scoring_model(store, month, definition))
            run = StageRun(
                name,
                "ran",
                need,
                rows=int(tr.record.metrics.get("panel_rows", 0)),
                detail={
                    "model_id": tr.model_id,
                    "as_of": format_month(train_month),
                    "held_out_months": gap,
                    "champion": decided.to_dict(),
                },
            )
            finish(run, started)
            emit(run)
            return
        elif name == "score":
            model_id = _scoring_model(store, month, definition)
            go, why = decide(name, f"model {model_id}", (data, model_id))
            if go and not dry_run:
                from churnradar.models.pipeline import score_store

                sr = score_store(
                    store,
                    month,
                    model_id=model_id,
                    definition=definition,
                    memory=opts.memory,
                    backend=opts.backend,
                )
                run = StageRun(
                    name, "ran", why, rows=sr.rows, detail={"model_id": sr.model_id, "backend": opts.backend}
                )
                finish(run, started)
                emit(run)
                return
        elif name == "segments":
            go, why = decide(name, "scores", (data,))
            if go and not dry_run:
                from churnradar.retention.segments import write_segments

                seg = write_segments(store, month)
                run = StageRun(
                    name, "ran", why, rows=int(seg["rows"]), detail={"segments": len(seg["segments"])}
                )
                finish(run, started)
                emit(run)
                return
        elif name == "target":
            if opts.budget is None:
                fps[name] = ""
                emit(StageRun(name, "skipped", "no --budget: no target list this month"))
                return
            go, why = decide(name, f"budget {opts.budget:,.0f}", (data, opts.budget, opts.min_arm_rows))
            if go and not dry_run:
                from churnradar.retention.targeting import plan_targets

                tg = plan_targets(store, opts.budget, as_of=month, min_arm_rows=opts.min_arm_rows)
                run = StageRun(
                    name,
                    "ran",
                    why,
                    rows=int(tg.summary.get("n_targeted", 0) or 0),
                    detail={k: v for k, v in tg.summary.items() if k != "uplift_metrics"},
                )
                finish(run, started)
                emit(run)
                return
        elif name == "metrics":
            go, why = decide(name, f"data {data}", (data, str(opts.reports or "")))
            if go and not dry_run:
                run = _metrics_stage(store, month, opts, why)
                finish(run, started)
                emit(run)
                return
        elif name == "monitor":
            go, why = decide(name, "scores", (data,))
            if go and not dry_run:
                from churnradar.cycle.monitor import monitor, write_monitor

                mon = monitor(store, month)
                n = write_monitor(store, mon)
                run = StageRun(name, "ran", why, rows=n, detail=mon.summary())
                finish(run, started)
                emit(run)
                return
        if dry_run:
            emit(StageRun(name, "would run" if go else "would skip", why))
        else:  # unchanged: skipped, with the earlier record standing
            emit(StageRun(name, "skipped", why))

    # every stage's DuckDB within the budget's share (ingest, train and score set their own)
    with memory_limit(budget.duckdb if budget is not None else None):
        for i, name in enumerate(STAGES):
            report("cycle", i, len(STAGES))
            blocked = [u for u in _ancestors(name) if u in failed]
            if blocked:
                emit(StageRun(name, "skipped", f"{blocked[0]} failed this run"))
                continue
            try:
                step(name, time.perf_counter())
            except ChurnRadarError as exc:
                failed[name] = str(exc)
                emit(StageRun(name, "failed", str(exc)))
    report("cycle", len(STAGES), len(STAGES))
    return CycleResult(month, store, dry_run, runs)


def _metrics_stage(store: Path, month: date, opts: CycleOptions, why: str) -> StageRun:
    import pyarrow as pa

    from churnradar.metrics import store_metrics
    from churnradar.store.derived import replace_rows

    res = store_metrics(store, month, backend=opts.backend)
    ids = list(res.values)
    rows = pa.table(
        {
            "month": pa.array([month] * len(ids), pa.date32()),
            "metric": ids,
            "value": pa.array([_number(res.values[k]) for k in ids], pa.float64()),
            "provisional": [k in res.provisional for k in ids],
        }
    )
    n = replace_rows(store, "metric_value", rows, {"month": month})
    detail: dict[str, Any] = {"metrics": n, "backend": opts.backend}
    if opts.reports is not None:
        from churnradar.reports import write_reports

        skipped: dict[str, list[str]] = {}
        files = write_reports(
            store, "all", as_of=month, out=opts.reports / format_month(month), skipped=skipped
        )
        detail["reports"] = [str(p) for p in files]
        detail["reports_skipped"] = skipped
    return StageRun("metrics", "ran", why, rows=n, detail=detail)


def _number(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None
