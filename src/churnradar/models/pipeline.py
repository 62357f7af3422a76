"""Train, store and apply churn models on a store: ``train_store`` and ``score_store``.

Point in time: a model trained ``as_of`` T learns from feature months S < T and outcomes in months
up to T − ``gap_months`` only; it is calibrated on the last outcome month of that window. Labels are
dated by last activity (the default ``offnet`` definition), so a churn in month M is only *recorded*
about 3 months later; with ``gap_months=0`` training uses outcomes the operator would see in full
only at T + 3 (see docs/model.md, "Point in time").
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from churnradar.errors import ChurnRadarError, ConfigError
from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS
from churnradar.models.churn import ChurnModel
from churnradar.models.explain import ReasonExplainer
from churnradar.models.hazard import ChurnHazardModel
from churnradar.models.memory import MemoryBudget, MemoryBudgetError, apply_duckdb_limit
from churnradar.models.training import collect_training_rows
from churnradar.periods import add_months, format_month, months_between, parse_month
from churnradar.store.connection import duckdb_out_of_memory

SCORE_TABLE = "score"
#: Share of the scored population (the riskiest) whose reasons are exact TreeSHAP.
DEFAULT_EXACT_SHARE = 0.10

Progress = Callable[..., None]


class FeatureSetMismatchError(ChurnRadarError):
    """The model was trained on another feature set (or another version of it) than scoring would use."""


def _noop(*_a: Any, **_k: Any) -> None:
    return None


class TrainingData:
    """Features and labels per as-of month from one backend.

    With ``cache=True`` (the backtest, which reads the same months for several origins) each month
    is computed once and kept; with ``cache=False`` (``train``) nothing is kept, so a month's table
    is freed as soon as its rows are encoded.
    """

    def __init__(
        self,
        bk: Any,
        feature_set: Any = "core",
        definition: Any = "offnet",
        max_step: int = 3,
        *,
        cache: bool = True,
    ):
        from churnradar.features.compute import _feature_set
        from churnradar.labels import get_definition

        self.bk = bk
        self.cache = cache
        self.fs = _feature_set(feature_set)
        d = definition if not isinstance(definition, str) else get_definition(definition)
        steps = tuple(range(1, max_step + 1))
        if tuple(d.horizons) != steps:
            d = d.with_params(horizons=steps)
        self.definition = d
        self._features: dict[date, pa.Table] = {}
        self._labels: dict[date, pa.Table] = {}
        self._events: Any = None
        u = bk.table("usage_monthly")
        # one row (a select of min/max would be a window: one row per usage row)
        first, last = bk.to_pyarrow(u.aggregate(a=u.month.min(), b=u.month.max())).to_pylist()[0].values()
        if first is None:
            raise ConfigError("the store has no usage_monthly rows; ingest data first")
        self.first_month, self.last_month = parse_month(first), parse_month(last)

    def features(self, month: date) -> pa.Table:
        """The feature table of ``month``, sorted by ``subscriber_id``."""
        from churnradar.features import compute_features

        if month in self._features:
            return self._features[month]
        expr = compute_features(self.bk, month, self.fs)
        if self.bk.name == "duckdb":
            # sorted by the engine (spills under its memory limit) rather than copied in Arrow;
            # DuckDB compares strings bytewise, as Arrow does
            table = self.bk.to_pyarrow(expr.order_by("subscriber_id"))
        else:  # engines return rows in any order, and sums over them must not depend on it
            table = expr.to_pyarrow().sort_by("subscriber_id")
        if self.cache:
            self._features[month] = table
        return table

    def labels(self, month: date) -> pa.Table:
        from churnradar.labels import build_labels, churn_events

        if month not in self._labels:
            if self._events is None:
                self._events = churn_events(self.bk, self.definition)
            self._labels[month] = self.bk.to_pyarrow(
                build_labels(self.bk, month, self.definition, self._events)
            )
        return self._labels[month]

    def population_size(self, month: date) -> int:
        """Subscribers open at the end of ``month`` (one count; the rows a month's tables have)."""
        from churnradar.labels import population

        t = population(self.bk, month).count().as_table()
        return int(self.bk.to_pyarrow(t).column(0)[0].as_py())

    def forget_labels(self, month: date) -> None:
        """Drop the month's label table unless months are cached (the caller keeps what it needs)."""
        if not self.cache:
            self._labels.pop(month, None)


def training_months(data: TrainingData, as_of: date, history_months: int) -> list[date]:
    """Feature months S for a model as of T: T − history … T − 1, each with ≥ 2 months of data."""
    earliest = add_months(data.first_month, 1)
    months = [add_months(as_of, -i) for i in range(history_months, 0, -1)]
    return [m for m in months if m >= earliest]


def fit_churn_model(
    data: TrainingData,
    as_of: date,
    *,
    horizons: Sequence[int] = (1, 2, 3),
    history_months: int = 4,
    gap_months: int = 0,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
    memory: MemoryBudget | None = None,
    max_rows: int | None = None,
    keep_panel: bool = True,
    before_fit: Callable[[], None] | None = None,
) -> tuple[ChurnModel, pa.Table | None]:
    """Fit a :class:`ChurnModel` as of ``as_of`` from ``data``; returns it and its training panel.

    The panel's rows are read month by month into float32 blocks (``models/training.py``).
    ``memory`` (a :class:`MemoryBudget`) and ``max_rows`` bound the rows kept: every churn event
    and a seeded, weighted sample of the other subscriber-months when all would not fit; a budget
    too small for one month's features raises :class:`MemoryBudgetError` before any feature is read.
    ``keep_panel=False`` does not build the panel as an Arrow table (returns None for it);
    ``before_fit`` runs once the months are read, before LightGBM (``train`` closes the store there).
    """
    report = progress or _noop
    max_step = max(horizons)
    months = training_months(data, as_of, history_months)
    outcome_until = add_months(as_of, -gap_months)
    usable = [s for s in months if add_months(s, 1) <= outcome_until]
    outcomes = {add_months(s, k) for s in usable for k in range(1, max_step + 1)}
    if len({m for m in outcomes if m <= outcome_until}) < 2:
        raise ConfigError(
            f"training as of {format_month(as_of)} needs at least two outcome months after "
            f"{format_month(add_months(data.first_month, 1))} (the first month with history) and on or before "
            f"{format_month(outcome_until)}; the store's data start in {format_month(data.first_month)}"
        )
    hazard = ChurnHazardModel(horizons=tuple(horizons), **(params or {}))
    d = data.definition
    rows = collect_training_rows(
        data,
        usable,
        outcome_until,
        max_step,
        calibration_months=hazard.calibration_months,
        seed=int(hazard.random_state),
        budget=memory,
        max_rows=max_rows,
        keep_panel=keep_panel,
        hash_extra=f"{d.name}:{d.version}:{data.fs.full_version}",
        progress=report,
    )
    total = 2 * len(usable) + 2
    if before_fit is not None:
        before_fit()
    # the month tables are gone; Arrow's allocator keeps freed memory for reuse unless asked
    pa.default_memory_pool().release_unused()
    report("training data", total - 1, total)
    hazard.fit_encoded(rows.train, rows.cal, rows.encoder)
    plan = rows.plan
    latest, health, data_hash = rows.latest, rows.health_source, rows.data_hash
    panel, events_used = rows.panel, rows.events_used
    del rows  # the encoded rows are no longer needed
    # reasons: a feature is evidence when its value lies beyond the latest month's median
    X_latest = hazard.transform_features(latest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns: no median
        reference = np.nanmedian(X_latest, axis=0)
    explainer = ReasonExplainer().fit(hazard.encoder_.columns_, reference=reference)
    p_latest = hazard.predict_proba(X_latest).iloc[:, -1].to_numpy()
    del X_latest, latest
    base_rate = float(np.mean(p_latest))
    lag_ok = add_months(outcome_until, DEREGISTRATION_LAG_MONTHS) <= data.last_month
    notes = []
    if not lag_ok:
        notes.append(
            f"outcomes up to {format_month(outcome_until)} are recorded in full only by "
            f"{format_month(add_months(outcome_until, DEREGISTRATION_LAG_MONTHS))}; the data end in "
            f"{format_month(data.last_month)}, so the latest churners are undercounted"
        )
    used = hazard.n_train_rows_ + hazard.n_calibration_rows_
    sampling = {
        "sample_rate": plan.sample_rate,
        "rows_available": plan.candidate_rows,
        "rows_used": used,
        "events_available": plan.candidate_events,
        "sample_seed": int(hazard.random_state),
    }
    if plan.sample_rate < 1.0:
        notes.append(
            f"{plan.reason}: trained on every churn event ({plan.candidate_events:,}) and a "
            f"{plan.sample_rate:.2%} sample of the other subscriber-months, weighted by "
            f"1/{plan.sample_rate:.4g}: {used:,} of {plan.candidate_rows:,} rows"
        )
    meta = {
        "as_of": str(as_of),
        "data_hash": data_hash,
        "feature_set": data.fs.name,
        "feature_set_version": data.fs.full_version,
        "label_definition": d.name,
        "label_definition_version": d.version,
        "feature_months": [format_month(s) for s in usable],
        "outcome_until": format_month(outcome_until),
        "gap_months": gap_months,
        "sampling": sampling,
        "metrics": {
            **hazard.fit_metrics_,
            "panel_rows": used,
            "panel_events": events_used,
            "train_rows": hazard.n_train_rows_,
            "base_rate": round(base_rate, 6),
            **sampling,
        },
        "notes": notes,
    }
    report("training data", total, total)
    return ChurnModel(hazard, explainer, health, base_rate, meta), panel


@dataclass
class TrainResult:
    model_id: str
    record: Any
    model: ChurnModel
    seconds: float
    memory: MemoryBudget | None = None
    peak_rss: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            **self.record.summary(),
            "sampling": self.model.meta.get("sampling", {}),
            "memory_budget": None if self.memory is None else self.memory.to_dict(),
            "peak_rss_bytes": self.peak_rss,
            "notes": self.model.meta.get("notes", []),
            "seconds": round(self.seconds, 1),
        }


def _budget_guard(stage: str, budget: MemoryBudget | None) -> Any:
    """Turns DuckDB's and Python's out-of-memory errors into one :class:`MemoryBudgetError` line."""
    import contextlib

    import duckdb

    from churnradar.models.memory import format_bytes

    @contextlib.contextmanager
    def guard() -> Any:
        limit = (
            f"the memory budget {format_bytes(budget.total)} (DuckDB {format_bytes(budget.duckdb)})"
            if budget
            else "the memory available"
        )
        try:
            yield
        except MemoryError:
            raise MemoryBudgetError(f"{stage} ran out of memory within {limit}; raise --memory") from None
        except Exception as exc:
            if isinstance(exc, duckdb.Error) and duckdb_out_of_memory(exc):
                first = str(exc).splitlines()[0]
                raise MemoryBudgetError(
                    f"{stage}: DuckDB ran out of memory within {limit} ({first}); raise --memory"
                ) from None
            raise

    return guard()


def train_store(
    store: Path | str,
    as_of: str | date,
    *,
    feature_set: str = "core",
    definition: str | None = "offnet",
    horizons: Sequence[int] = (1, 2, 3),
    history_months: int = 4,
    gap_months: int = 0,
    params: dict[str, Any] | None = None,
    backend: str = "duckdb",
    memory: str | int | MemoryBudget | None = None,
    max_rows: int | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Train a churn model as of ``as_of`` on ``store`` and save it in the store's ``model`` table.

    ``memory``: the budget (``"16GB"``, ``"60%"``, bytes, a :class:`MemoryBudget`, ``"default"``
    for 60% of the machine; None or ``"none"``: no budget). It sets DuckDB's ``memory_limit`` and
    bounds the training rows kept (see :func:`fit_churn_model`); ``max_rows`` caps them too.
    ``definition=None`` chooses offnet when the store records deregistrations or port-outs, else
    ``silent:30`` (:func:`churnradar.labels.default_definition`); the model's notes say which.
    Too few churn events in the training window stop training (:class:`TooFewChurnEventsError`).
    """
    from churnradar.labels import default_definition
    from churnradar.models.memory import peak_rss_bytes
    from churnradar.models.registry import save_model
    from churnradar.models.training import TooFewChurnEventsError
    from churnradar.store.backends import open_backend

    started = time.perf_counter()
    month = parse_month(as_of)
    budget = MemoryBudget.resolve(memory)
    bk = open_backend(store, backend)
    closed = False

    def close() -> None:
        nonlocal closed
        if not closed:
            bk.close()  # DuckDB's buffers go before LightGBM's start
            closed = True

    chosen_note = None
    try:
        if definition is None:
            definition, chosen_note = default_definition(bk)
        apply_duckdb_limit(bk, budget)
        with _budget_guard("train", budget):
            data = TrainingData(bk, feature_set, definition, max(horizons), cache=False)
            model, _ = fit_churn_model(
                data,
                month,
                horizons=horizons,
                history_months=history_months,
                gap_months=gap_months,
                params=params,
                progress=progress,
                memory=budget,
                max_rows=max_rows,
                keep_panel=False,
                before_fit=close,
            )
    except TooFewChurnEventsError as exc:
        name = definition if isinstance(definition, str) else definition.name
        hint = ""
        if name.startswith("offnet") and default_definition(bk)[1] is not None:
            hint = "; the store has no deregistration or port-out events: try --definition silent:30"
        raise TooFewChurnEventsError(f"churn definition {name}: {exc}{hint}") from None
    finally:
        close()
    if chosen_note is not None:
        model.meta["notes"].insert(0, chosen_note)
    record = save_model(store, model)
    return TrainResult(
        record.model_id, record, model, time.perf_counter() - started, budget, peak_rss_bytes()
    )


# -- scoring ---------------------------------------------------------------------------------------
@dataclass
class ScoreResult:
    store: Path
    as_of: date
    model_id: str
    rows: int
    exact_rows: int
    backend: str
    seconds: float
    table: pa.Table = field(repr=False)

    def summary(self, top: int = 10) -> dict[str, Any]:
        t = self.table
        levels = pc.value_counts(t.column("risk_level")).to_pylist()
        pcols = [c for c in t.column_names if c.startswith("p_churn_")]
        head = t.slice(0, top).select(
            [
                "risk_rank",
                "subscriber_id",
                *pcols,
                "health_score",
                "risk_level",
                "reason_1",
                "reason_1_zh",
                "reason_2",
                "reason_3",
            ]
        )
        return {
            "store": str(self.store),
            "table": SCORE_TABLE,
            "as_of": format_month(self.as_of),
            "model_id": self.model_id,
            "backend": self.backend,
            "rows": self.rows,
            "exact_reason_rows": self.exact_rows,
            "seconds": round(self.seconds, 2),
            "mean_probability": {c: round(float(pc.mean(t.column(c)).as_py()), 5) for c in pcols},
            "risk_levels": {r["values"]: r["counts"] for r in levels},
            "top": head.to_pylist(),
        }


def check_feature_set(record: Any, fs: Any) -> None:
    """Refuse a model whose feature set (name or version hash) is not the one scoring computes."""
    if record.feature_set != fs.name or record.feature_set_version != fs.full_version:
        raise FeatureSetMismatchError(
            f"model {record.model_id} was trained on feature set {record.feature_set} "
            f"{record.feature_set_version}, but scoring computes {fs.name} {fs.full_version}; "
            f"retrain with `churnradar train --as-of {record.as_of:%Y-%m}` (allowed: a model of the "
            "current feature-set version)"
        )


def finish_scores(
    model: ChurnModel,
    scored: pa.Table,
    top_features: Callable[[pa.Array], pa.Table],
    as_of: date,
    model_id: str,
    exact_share: float,
) -> tuple[pa.Table, int]:
    """Rank by risk, recompute exact reasons for the riskiest ``exact_share``, add keys."""
    pmax = model.proba_columns[-1]
    order = pc.sort_indices(scored, sort_keys=[(pmax, "descending"), ("subscriber_id", "ascending")])
    scored = scored.take(order)
    n = scored.num_rows
    n_exact = min(n, int(np.ceil(exact_share * n))) if exact_share > 0 else 0
    if n_exact:
        top = scored.slice(0, n_exact)
        feats = top_features(top.column("subscriber_id"))
        # align the features to the ranked rows
        idx = pc.index_in(top.column("subscriber_id"), value_set=feats.column("subscriber_id"))
        feats = feats.take(idx)
        X = model.hazard.transform_features(feats)
        exact = model.reason_columns(X, "exact")
        for name, arr in exact.items():
            top = top.set_column(top.schema.get_field_index(name), name, arr)
        scored = pa.concat_tables([top, scored.slice(n_exact)])
    keys = {
        "as_of": pa.array([as_of] * n, pa.date32()),
        "model_id": pa.array([model_id] * n, pa.string()),
        "risk_rank": pa.array(np.arange(1, n + 1, dtype=np.int64)),
    }
    out = pa.table({**keys, **{c: scored.column(c) for c in scored.column_names}})
    return out, n_exact


#: Bytes per scored subscriber besides its features and their encoded row (4 per feature): the
#: score row, its reasons (codes, drivers, labels, sizes) and the ranked copy (about 700 measured
#: at 344,055 subscribers).
SCORE_ROW_BYTES = 1000


def check_score_memory(bk: Any, month: date, fs: Any, budget: MemoryBudget | None) -> None:
    """Refuse, before computing anything, a month whose scoring would not fit in ``budget``."""
    if budget is None:
        return
    from churnradar.labels import population
    from churnradar.models.memory import format_bytes
    from churnradar.models.training import BASE_BYTES, READ_COPIES, arrow_row_bytes, suggest_memory

    dtypes = [f.dtype for f in fs.resolve()]
    n = int(bk.to_pyarrow(population(bk, month).count().as_table()).column(0)[0].as_py())
    month64 = int(n * 1.05 * arrow_row_bytes(dtypes))
    other = BASE_BYTES + READ_COPIES * month64 + n * (4 * len(dtypes) + SCORE_ROW_BYTES)
    need = other + budget.duckdb
    if need > budget.total:
        raise MemoryBudgetError(
            f"scoring {format_month(month)} needs about {format_bytes(need)} for {n:,} subscribers × "
            f"{len(dtypes)} features (DuckDB {format_bytes(budget.duckdb)}, features "
            f"{format_bytes(READ_COPIES * month64)}, scores and reasons), more than the memory budget "
            f"{format_bytes(budget.total)}; give --memory {suggest_memory(MemoryBudget.total_for(other))} or more"
        )


def score_store(
    store: Path | str,
    as_of: str | date,
    *,
    model_id: str | None = None,
    definition: str | None = None,
    backend: str = "duckdb",
    exact_share: float = DEFAULT_EXACT_SHARE,
    write: bool = True,
    memory: str | int | MemoryBudget | None = None,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score every subscriber open at ``as_of`` with a stored model and write the ``score`` batch.

    The batch for ``as_of`` replaces the previous one in one transaction, only once it is complete.
    Reasons are exact TreeSHAP for the riskiest ``exact_share`` (the rows people act on) and path
    contributions for the rest (column ``reason_method``). ``memory`` (as for :func:`train_store`)
    sets DuckDB's ``memory_limit``; a month too large for it is refused before its features are
    computed (:class:`MemoryBudgetError`). Without ``model_id`` (a model by id) the registry's
    champion scores (of churn ``definition`` when given; the newest model when none was named).
    """
    from churnradar.features import get_feature_set
    from churnradar.models.registry import load_model
    from churnradar.store.backends import BACKENDS, open_backend
    from churnradar.store.derived import replace_rows

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if not 0 <= exact_share <= 1:
        raise ConfigError(f"exact_share {exact_share} must be between 0 and 1")
    report = progress or _noop
    started = time.perf_counter()
    month = parse_month(as_of)
    record, model = load_model(store, model_id, as_of=None if model_id else month, definition=definition)
    if months_between(record.as_of, month) < 0:
        warnings.warn(
            f"model {record.model_id} was trained as of {record.as_of:%Y-%m}, after {format_month(month)}",
            stacklevel=2,
        )
    fs = get_feature_set(record.feature_set)
    check_feature_set(record, fs)
    report("score", 0, 3)
    if backend == "duckdb":
        from churnradar.features import compute_features

        budget = MemoryBudget.resolve(memory)
        bk = open_backend(store, "duckdb")
        try:
            apply_duckdb_limit(bk, budget)
            check_score_memory(bk, month, fs, budget)
            with _budget_guard("score", budget):
                features = bk.to_pyarrow(compute_features(bk, month, fs))
        finally:
            bk.close()
        report("score", 1, 3)
        scored = model.score(features, reasons="path")

        def top_features(ids: pa.Array) -> pa.Table:
            mask = pc.is_in(features.column("subscriber_id"), value_set=ids)
            return features.filter(mask)

    else:
        from churnradar.models.spark import score_spark

        scored, top_features = score_spark(store, month, model, fs)
        report("score", 1, 3)
    report("score", 2, 3)
    table, n_exact = finish_scores(model, scored, top_features, month, record.model_id, exact_share)
    if write:
        replace_rows(Path(store), SCORE_TABLE, table, {"as_of": month})
    report("score", 3, 3)
    return ScoreResult(
        Path(store),
        month,
        record.model_id,
        table.num_rows,
        n_exact,
        backend,
        time.perf_counter() - started,
        table,
    )
