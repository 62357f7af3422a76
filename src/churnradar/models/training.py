"""The hazard model's training rows, read month by month within a memory budget.

The panel (subscriber × feature month S × step k, see :func:`~churnradar.models.hazard.hazard_panel`)
is never held as one table. Its rows are planned from the labels alone (who is at risk at each
step, who churns), then each feature month is computed, its rows are encoded straight into float32
blocks (one per month and step, split into the training and the calibration slice) and the month's
table is dropped before the next one is read. Only the latest month's table is kept (float32), for
the health reference, the evidence medians and the base rate.

With a memory budget (:class:`~churnradar.models.memory.MemoryBudget`) the plan estimates what
reading and training will hold. When the rows do not fit, training keeps every churn event and a
seeded sample of the other rows, weighted by 1 / the sampling rate, so that the step baselines,
the booster and the calibration estimate what the full panel gives (docs/model.md, "Memory").
A budget that cannot even hold one month's features is refused before any feature is computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from churnradar.errors import ChurnRadarError, ConfigError
from churnradar.models.encoding import FeatureEncoder, is_text, value_counts
from churnradar.models.hazard import HazardRows, _month_index
from churnradar.models.memory import MemoryBudget, MemoryBudgetError, format_bytes
from churnradar.periods import add_months, format_month

#: What the interpreter holds before any data (numpy, Arrow, DuckDB, LightGBM, numba, scikit-learn
#: loaded; about 570 MiB measured). A constant, not the measured size, so that the same budget
#: always gives the same sample.
BASE_BYTES = 768 * 2**20
#: Bytes per encoded row and feature: the float32 value (4) and LightGBM's binned copy (≤ 1).
ROW_FEATURE_BYTES = 5
#: Bytes per row besides the features while fitting: keys and weights here (step, event, outcome,
#: weight, init score, and their concatenation for the refit) and LightGBM's per-row buffers
#: (label, weight, init score, gradients, hessians, scores, partitions). Measured: about 710 bytes
#: per row in all with 113 features at 2.9M and 9.6M rows; 256 leaves a margin.
ROW_BYTES = 256
#: A month's table exists twice while it is read (DuckDB's result and the Arrow table).
READ_COPIES = 2
#: The share of the budget a sample is planned to fill. The estimate is close, not exact: planned to
#: the whole of an 8 GB budget, the 1M x 24 operator's training peaked 0.2% above it.
PLAN_SHARE = 0.95
#: Non-events kept per churn event at the least: a smaller sample would not be a usable model.
MIN_NON_EVENTS_PER_EVENT = 1.0


def arrow_row_bytes(dtypes: Sequence[str], float32: bool = False) -> float:
    """Bytes per row of a feature table with these declared dtypes (measured: 823 for core)."""
    num = 4.125 if float32 else 8.125
    per = {"float64": num, "int64": num, "boolean": 0.25, "string": 12.0}
    return 16.0 + sum(per.get(d, 8.125) for d in dtypes)


@dataclass
class _Month:
    """The at-risk rows of one feature month, from its labels only."""

    month: date
    ids: pa.Array  # subscriber_id of the label rows not already churned, sorted
    churn_step: np.ndarray  # int8: first step k with churn within k months, 0 = none within max_step
    steps: list[int]  # steps whose outcome month is on or before outcome_until


@dataclass
class TrainingPlan:
    """The rows a training run will read and keep, and the memory it expects to need."""

    months: list[date]
    outcome_until: date
    max_step: int
    features: int
    population: int
    candidate_rows: int
    candidate_events: int
    sample_rate: float
    max_rows: int | None
    budget: MemoryBudget | None
    estimate: dict[str, int] = field(default_factory=dict)
    reason: str = ""

    @property
    def expected_rows(self) -> int:
        non = self.candidate_rows - self.candidate_events
        return int(self.candidate_events + round(non * self.sample_rate))

    def summary(self) -> dict[str, Any]:
        return {
            "candidate_rows": self.candidate_rows,
            "candidate_events": self.candidate_events,
            "sample_rate": self.sample_rate,
            "expected_rows": self.expected_rows,
            "features": self.features,
            "population": self.population,
            "memory_budget": None if self.budget is None else self.budget.to_dict(),
            "estimate_bytes": dict(self.estimate),
            "reason": self.reason,
        }


@dataclass
class TrainingRows:
    """Encoded training rows (both slices), the encoder, the latest month and the sample's facts."""

    train: HazardRows
    cal: HazardRows
    encoder: FeatureEncoder
    latest: pa.Table
    health_source: Any
    data_hash: str
    plan: TrainingPlan
    rows_used: int
    events_used: int
    panel: pa.Table | None = None


def _label_month(labels: pa.Table, month: date, max_step: int, outcome_until: date) -> _Month:
    lab = labels.filter(pc.invert(labels.column("already_churned")))
    need = [f"churn_within_{k}m" for k in range(1, max_step + 1)]
    missing = [c for c in need if c not in lab.column_names]
    if missing:
        raise ConfigError(f"labels for {month} lack {missing}; label with horizons 1…{max_step}")
    lab = lab.select(["subscriber_id", *need]).sort_by("subscriber_id")
    churn_step = np.zeros(lab.num_rows, dtype=np.int8)
    for k in range(max_step, 0, -1):  # the first k with churn within k months wins
        within = np.asarray(lab.column(f"churn_within_{k}m").to_numpy(zero_copy_only=False), dtype=bool)
        churn_step[within] = k
    steps = [
        k for k in range(1, max_step + 1) if _month_index(add_months(month, k)) <= _month_index(outcome_until)
    ]
    return _Month(month, lab.column("subscriber_id").combine_chunks(), churn_step, steps)


def _at_risk(m: _Month, k: int) -> np.ndarray:
    return (m.churn_step == 0) | (m.churn_step >= k)


def _estimates(
    population: int, feature_dtypes: Sequence[str], label_rows: int, duckdb: int
) -> tuple[int, int, int, int, dict[str, int]]:
    """(fixed bytes while reading, per row while reading, fixed bytes while fitting, per row while
    fitting, the parts): what :func:`plan_training` compares with the budget."""
    n_feat = len(feature_dtypes)
    labels = label_rows * 32  # ids and churn steps kept for every month
    month64 = int(population * 1.05 * arrow_row_bytes(feature_dtypes))
    month32 = int(population * 1.05 * arrow_row_bytes(feature_dtypes, float32=True))
    parts = {
        "base": BASE_BYTES,
        "duckdb": duckdb,
        "month_read": READ_COPIES * month64,
        "latest_month_kept": month32,
        "labels": labels,
    }
    read_fixed = BASE_BYTES + duckdb + READ_COPIES * month64 + month32 + labels
    fit_fixed = BASE_BYTES + month32 + labels
    # while reading: the float32 row, its keys (32) and its text values until they are encoded (48)
    return read_fixed, 4 * n_feat + 80, fit_fixed, ROW_FEATURE_BYTES * n_feat + ROW_BYTES, parts


def memory_needed(population: int, feature_dtypes: Sequence[str], label_rows: int, rows: int) -> int:
    """The budget (with its DuckDB share) that holds ``rows`` training rows while reading and fitting,
    planned to :data:`PLAN_SHARE` of it like a sample."""
    read_fixed, per_read, fit_fixed, per_fit, _ = _estimates(population, feature_dtypes, label_rows, 0)
    need = max(MemoryBudget.total_for(read_fixed + rows * per_read), fit_fixed + rows * per_fit)
    return int(np.ceil(need / PLAN_SHARE))


def check_one_month(
    population: int, feature_dtypes: Sequence[str], label_rows: int, budget: MemoryBudget, least_rows: int = 0
) -> None:
    """Refuse a budget that cannot hold one month's features (DuckDB's share and the process besides)."""
    read_fixed, _, _, _, parts = _estimates(population, feature_dtypes, label_rows, budget.duckdb)
    if read_fixed < budget.total:
        return
    least = memory_needed(population, feature_dtypes, label_rows, least_rows)
    raise MemoryBudgetError(
        f"memory budget {format_bytes(budget.total)} cannot hold one month's features: "
        f"{population:,} subscribers × {len(feature_dtypes)} features need about {format_bytes(read_fixed)} "
        f"while a month is read (DuckDB {format_bytes(budget.duckdb)}, the month "
        f"{format_bytes(parts['month_read'])}, the latest month kept "
        f"{format_bytes(parts['latest_month_kept'])}, the process {format_bytes(BASE_BYTES)}) "
        f"before any training row; give --memory {suggest_memory(least)} or more"
        f"{' (the training rows need more still)' if not least_rows else ''}, or --memory none"
    )


#: the fewest churn events a model is trained on: below it the model would learn nothing and score
#: every line alike, so training stops and says so
MIN_CHURN_EVENTS = 10


class TooFewChurnEventsError(ChurnRadarError):
    """The training window holds too few churn events to learn from; nothing is stored."""


def plan_training(
    months: list[_Month],
    feature_dtypes: Sequence[str],
    outcome_until: date,
    max_step: int,
    budget: MemoryBudget | None,
    max_rows: int | None = None,
) -> TrainingPlan:
    """How many rows to keep (all, or every event and a share of the rest) to stay within ``budget``.

    Raises :class:`MemoryBudgetError` when the budget cannot hold one month's features, or leaves
    room for fewer other rows than churn events.
    """
    rows = events = 0
    for m in months:
        for k in m.steps:
            rows += int(_at_risk(m, k).sum())
            events += int((m.churn_step == k).sum())
    if events < MIN_CHURN_EVENTS:
        raise TooFewChurnEventsError(
            f"only {events:,} churn events in the training window (feature months "
            f"{', '.join(f'{m.month:%Y-%m}' for m in months) or 'none'}, outcomes up to {outcome_until:%Y-%m}); "
            f"at least {MIN_CHURN_EVENTS} are needed to learn from, so no model was stored"
        )
    n_feat = len(feature_dtypes)
    population = max((len(m.ids) for m in months), default=0)
    label_rows = sum(len(m.ids) for m in months)
    plan = TrainingPlan(
        months=[m.month for m in months],
        outcome_until=outcome_until,
        max_step=max_step,
        features=n_feat,
        population=population,
        candidate_rows=rows,
        candidate_events=events,
        sample_rate=1.0,
        max_rows=max_rows,
        budget=budget,
    )
    if max_rows is not None and max_rows < 1:
        raise ConfigError(f"--max-rows {max_rows} must be at least 1")
    cap, limit = max_rows, f"--max-rows {max_rows:,}" if max_rows is not None else ""
    min_rows = int(np.ceil(events * (1 + MIN_NON_EVENTS_PER_EVENT)))
    if budget is not None:
        read_fixed, per_read, fit_fixed, per_fit, parts = _estimates(
            population, feature_dtypes, label_rows, budget.duckdb
        )
        least = memory_needed(population, feature_dtypes, label_rows, min(rows, min_rows))
        plan.estimate = {**parts, "per_row": per_fit, "all_rows": rows * per_fit}
        check_one_month(population, feature_dtypes, label_rows, budget, min(rows, min_rows))
        usable = budget.total * PLAN_SHARE
        fit_cap = max(0, int(min((usable - read_fixed) // per_read, (usable - fit_fixed) // per_fit)))
        plan.estimate["rows_that_fit"] = fit_cap
        if cap is None or fit_cap < cap:
            cap, limit = fit_cap, f"memory budget {format_bytes(budget.total)}"
    if cap is None or rows <= cap:
        return plan
    room = cap - events
    if room < MIN_NON_EVENTS_PER_EVENT * events or room <= 0:
        tail = (
            f"; give --memory {suggest_memory(least)} or more"
            if budget is not None and limit.startswith("memory")
            else ""
        )
        err = MemoryBudgetError if tail else ConfigError
        raise err(
            f"{limit} leaves room for {max(cap, 0):,} training rows, fewer than the {events:,} churn "
            f"events and as many other subscriber-months ({rows:,} rows in {len(months)} feature months, "
            f"{n_feat} features){tail}"
        )
    # rounded down to 4 significant digits: the same budget gives the same rate (and sample)
    rate = room / (rows - events)
    digits = 3 - int(np.floor(np.log10(rate)))
    plan.sample_rate = float(np.floor(rate * 10**digits) / 10**digits)
    plan.reason = limit
    return plan


def suggest_memory(nbytes: float) -> str:
    gb = nbytes / 1000**3
    return f"{np.ceil(gb * 10) / 10:.1f}GB" if gb < 10 else f"{int(np.ceil(gb))}GB"


def _concat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _float32(table: pa.Table, keep: Sequence[str]) -> pa.Table:
    """``keep`` columns, numbers and booleans as float32 (what the encoder reads them as anyway)."""
    cols, names = [], []
    for name in keep:
        col = table.column(name)
        t = col.type
        if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_boolean(t):
            col = col.cast(pa.float32())
        cols.append(col)
        names.append(name)
    return pa.table(cols, names=names)


def collect_training_rows(
    data: Any,
    usable: list[date],
    outcome_until: date,
    max_step: int,
    *,
    calibration_months: int,
    seed: int,
    budget: MemoryBudget | None = None,
    max_rows: int | None = None,
    keep_panel: bool = False,
    hash_extra: str = "",
    progress: Callable[..., None] | None = None,
) -> TrainingRows:
    """Read the feature months ``usable`` one by one into encoded training rows (see the module)."""
    from churnradar.models.health import HealthScorer

    report = progress or (lambda *a, **k: None)
    total = 2 * len(usable) + 2
    feature_dtypes = [f.dtype for f in data.fs.resolve()]
    if budget is not None:  # before the labels: one count says whether a month's features can fit
        n = data.population_size(usable[-1])
        check_one_month(n, feature_dtypes, n * len(usable), budget)
    months = []
    for i, s in enumerate(usable):
        report("training data", i, total)
        months.append(_label_month(data.labels(s), s, max_step, outcome_until))
        data.forget_labels(s)
    plan = plan_training(months, feature_dtypes, outcome_until, max_step, budget, max_rows)
    last_outcome = max(_month_index(add_months(m.month, k)) for m in months for k in m.steps)
    rate = plan.sample_rate

    h = hashlib.sha256(hash_extra.encode())
    h.update(f"|until={format_month(outcome_until)}|steps={max_step}|rate={rate!r}|seed={seed}".encode())
    columns: list[str] | None = None
    text: set[str] = set()
    counts: dict[str, dict[str, int]] = {}
    # per slice: blocks, and per block its keys and its text columns (filled once the encoder is known)
    slices: dict[bool, dict[str, list[Any]]] = {
        cal: {"blocks": [], "step": [], "event": [], "outcome": [], "weight": [], "text": []}
        for cal in (False, True)
    }
    panel_parts: list[pa.Table] = []
    latest: pa.Table | None = None
    health = None
    probe = FeatureEncoder.from_counts([], {})
    for i, m in enumerate(months):
        report("training data", len(usable) + i, total)
        table = data.features(m.month)
        if columns is None:
            columns = [c for c in table.column_names if c != "subscriber_id"]
        elif [c for c in table.column_names if c != "subscriber_id"] != columns:
            raise ConfigError(
                f"the features of {format_month(m.month)} have other columns than the first month's"
            )
        text |= {c for c in columns if is_text(table.column(c).type)}
        h.update(format_month(m.month).encode())
        h.update("\n".join(m.ids.to_pylist()).encode())
        h.update(m.churn_step.tobytes())
        pos = pc.index_in(m.ids, value_set=table.column("subscriber_id"))
        present = np.asarray(pos.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        pos_np = np.asarray(pos.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        h.update(present.tobytes())
        parts = []
        for k in m.steps:
            risk = _at_risk(m, k) & present
            event = m.churn_step == k
            keep = risk
            if rate < 1.0:
                u = np.random.default_rng([seed, _month_index(m.month), k]).random(len(m.ids))
                keep = risk & (event | (u < rate))
            rows = pos_np[keep]
            ev = event[keep].astype(np.float64)
            outcome = _month_index(add_months(m.month, k))
            cal = outcome > last_outcome - calibration_months
            weight = np.where(ev > 0, 1.0, 1.0 / rate) if rate < 1.0 else None
            parts.append((k, rows, ev, outcome, cal, weight, pos_np[risk]))
        # numbers straight into float32 blocks, one column of the month at a time
        blocks = [np.empty((len(p[1]), len(columns)), dtype=np.float32, order="F") for p in parts]
        for j, name in enumerate(columns):
            col = table.column(name)
            if name in text:  # filled once the categories of every month are known
                continue
            values = probe.encode_column(name, col)
            for p, block in zip(parts, blocks, strict=True):
                np.take(values, p[1], out=block[:, j], mode="clip")
            del values
        for p, block in zip(parts, blocks, strict=True):
            k, rows, ev, outcome, cal, weight, risk_rows = p
            dest = slices[cal]
            dest["blocks"].append(block)
            dest["step"].append(np.full(len(rows), k, dtype=np.int64))
            dest["event"].append(ev)
            dest["outcome"].append(np.full(len(rows), outcome, dtype=np.int64))
            if weight is not None:
                dest["weight"].append(weight)
            idx = pa.array(rows)
            dest["text"].append({c: table.column(c).take(idx).cast(pa.string()) for c in text})
            ridx = pa.array(risk_rows)
            for c in text:
                acc = counts.setdefault(c, {})
                for v, n in value_counts(table.column(c).take(ridx)).items():
                    acc[v] = acc.get(v, 0) + n
            if keep_panel:
                panel_parts.append(
                    pa.table(
                        {
                            "subscriber_id": table.column("subscriber_id").take(idx),
                            "as_of": pa.array([m.month] * len(rows), pa.date32()),
                            "step": pa.array(np.full(len(rows), k, dtype=np.int64)),
                            "event": pa.array(ev > 0),
                            **({"weight": pa.array(weight)} if weight is not None else {}),
                            **{c: table.column(c).take(idx) for c in columns},
                        }
                    )
                )
        del blocks, parts
        if i == len(months) - 1:
            health = HealthScorer().fit(table)
            latest = _float32(table, ["subscriber_id", *columns])
        del table
    assert columns is not None and latest is not None
    report("training data", total - 2, total)

    encoder = FeatureEncoder.from_counts(columns, {c: counts.get(c, {}) for c in text})
    out: dict[bool, HazardRows] = {}
    used = events_used = 0
    for cal, dest in slices.items():
        for block, tcols in zip(dest["blocks"], dest.pop("text"), strict=True):
            for c, arr in tcols.items():
                block[:, columns.index(c)] = encoder.encode_column(c, arr)
        event = _concat(dest["event"], np.float64)
        out[cal] = HazardRows(
            blocks=dest["blocks"],
            step=_concat(dest["step"], np.int64),
            event=event,
            outcome=_concat(dest["outcome"], np.int64),
            weight=_concat(dest["weight"], np.float64) if rate < 1.0 else None,
        )
        used += len(event)
        events_used += int(event.sum())
    # the rows as the model reads them (independent of how the engine chunked its results)
    for rows_ in (out[False], out[True]):
        for block in rows_.blocks:
            h.update(block.T if block.flags.f_contiguous else np.ascontiguousarray(block))
        for a in (rows_.step, rows_.event, rows_.outcome, rows_.weights()):
            h.update(np.ascontiguousarray(a).tobytes())
    panel = None
    if keep_panel:
        panel = pa.concat_tables(panel_parts, promote_options="permissive")
    return TrainingRows(
        train=out[False],
        cal=out[True],
        encoder=encoder,
        latest=latest,
        health_source=health,
        data_hash=h.hexdigest(),
        plan=plan,
        rows_used=used,
        events_used=events_used,
        panel=panel,
    )
