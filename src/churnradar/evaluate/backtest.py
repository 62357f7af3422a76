"""Rolling-origin backtest of the churn model against two baselines.

For each origin month T (at least three consecutive ones), every model is trained only on feature
months before T and outcomes up to T − ``gap_months`` (never anything after T), then scored on the
subscribers open at T and compared with their churn in the ``horizon`` months after T.

Models compared:

- ``hazard``: the LightGBM hazard model (calibrated), as trained by ``churnradar train``.
- ``logistic``: logistic regression on the same features and panel (median-imputed, standardised,
  categories one-hot; one coefficient per step), horizons composed the same way.
- ``arpu_rule``: the rule "ARPU fell more than 30%" (``arpu_mom_change < −0.3``); its probability is
  the churn hazard of flagged and unflagged subscribers in the training panel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from churnradar.errors import ConfigError
from churnradar.evaluate.metrics import evaluate_scores, reliability_curve
from churnradar.periods import add_months, format_month, parse_month

MODELS = ("hazard", "logistic", "arpu_rule")
RULE_FEATURE, RULE_DROP = "arpu_mom_change", -0.3
METRIC_KEYS = ("roc_auc", "pr_auc", "top_decile_lift", "brier", "ece", "emp")


class LogisticHazard:
    """Logistic-regression baseline on a hazard panel (scikit-learn pipeline)."""

    def __init__(self, horizons: Sequence[int] = (1, 2, 3), C: float = 1.0, max_iter: int = 300):
        self.horizons = horizons
        self.C = C
        self.max_iter = max_iter

    def fit(self, panel: pa.Table) -> LogisticHazard:
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from churnradar.models.encoding import FeatureEncoder

        feats = [c for c in panel.column_names if c not in ("subscriber_id", "as_of", "step", "event")]
        self.encoder_ = FeatureEncoder(columns=feats).fit(panel)
        self.steps_ = list(range(1, max(self.horizons) + 1))
        step = panel.column("step").to_numpy()
        self.seen_steps_ = sorted(set(step.tolist()))
        X = self._design(self.encoder_.transform(panel), step)
        y = np.asarray(panel.column("event").to_numpy(zero_copy_only=False), dtype=float)
        self.pipeline_ = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=self.C, max_iter=self.max_iter),
        ).fit(X, y)
        return self

    def _design(self, X: np.ndarray, step: np.ndarray) -> np.ndarray:
        cats = self.encoder_.categorical_
        num = np.delete(X, cats, axis=1)
        parts = [num]
        for j in cats:
            n = len(self.encoder_.categories_[self.encoder_.columns_[j]])
            parts.append((X[:, [j]] == np.arange(n)[None, :]).astype(np.float32))
        parts.append((step[:, None] == np.asarray(self.steps_)[None, :]).astype(np.float32))
        return np.hstack(parts)

    def _seen(self, k: int) -> int:
        return max([s for s in self.seen_steps_ if s <= k] or self.seen_steps_[:1])

    def predict_proba(self, features: pa.Table) -> np.ndarray:
        X = self.encoder_.transform(features)
        hz = np.column_stack(
            [self.pipeline_.predict_proba(self._design(X, np.full(X.shape[0], k)))[:, 1] for k in self.steps_]
        )
        surv = np.cumprod(1 - hz, axis=1)
        return np.column_stack([1 - surv[:, h - 1] for h in self.horizons])


class ArpuDropRule:
    """The rule "ARPU fell more than 30%", with per-step hazards of flagged vs unflagged rows."""

    def __init__(
        self, horizons: Sequence[int] = (1, 2, 3), feature: str = RULE_FEATURE, drop: float = RULE_DROP
    ):
        self.horizons = horizons
        self.feature = feature
        self.drop = drop

    def flag(self, table: pa.Table) -> np.ndarray:
        if self.feature not in table.column_names:
            raise ConfigError(f"the ARPU rule needs feature {self.feature!r}, which the feature set lacks")
        v = table.column(self.feature).cast(pa.float64()).to_numpy(zero_copy_only=False)
        return np.nan_to_num(v, nan=0.0) < self.drop

    def fit(self, panel: pa.Table) -> ArpuDropRule:
        f = self.flag(panel)
        step = panel.column("step").to_numpy()
        y = np.asarray(panel.column("event").to_numpy(zero_copy_only=False), dtype=float)
        self.hazard_ = {}
        for k in range(1, max(self.horizons) + 1):
            for flagged in (False, True):
                m = (step == k) & (f == flagged)
                if m.any():
                    self.hazard_[(k, flagged)] = float(y[m].mean())
                else:  # a step the short history does not reach: the nearest lower step's rate
                    self.hazard_[(k, flagged)] = self.hazard_.get((k - 1, flagged), float(y.mean()))
        return self

    def predict_proba(self, features: pa.Table) -> np.ndarray:
        f = self.flag(features)
        hz = np.column_stack(
            [
                np.where(f, self.hazard_[(k, True)], self.hazard_[(k, False)])
                for k in range(1, max(self.horizons) + 1)
            ]
        )
        surv = np.cumprod(1 - hz, axis=1)
        return np.column_stack([1 - surv[:, h - 1] for h in self.horizons])


@dataclass
class BacktestResult:
    """Metrics per origin × model × horizon, their means, and the hazard model's reliability curve."""

    origins: list[date]
    horizon: int
    horizons: list[int]
    rows: list[dict[str, Any]]
    reliability: dict[str, Any]
    monotone_violations: int
    models: dict[date, Any] = field(default_factory=dict, repr=False)
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self, horizon: int | None = None) -> list[dict[str, Any]]:
        """Rows of the backtest table for one horizon, with a ``mean`` row per model."""
        h = horizon or self.horizon
        rows = [r for r in self.rows if r["horizon"] == h]
        out = list(rows)
        for m in MODELS:
            mr = [r for r in rows if r["model"] == m]
            if mr:
                out.append(
                    {
                        "origin": "mean",
                        "model": m,
                        "horizon": h,
                        "n": int(sum(r["n"] for r in mr)),
                        "positives": int(sum(r["positives"] for r in mr)),
                        **{k: float(np.mean([r[k] for r in mr])) for k in METRIC_KEYS},
                    }
                )
        return out

    def means(self, horizon: int | None = None) -> dict[str, dict[str, float]]:
        return {
            r["model"]: {k: r[k] for k in METRIC_KEYS} for r in self.table(horizon) if r["origin"] == "mean"
        }

    def summary(self) -> dict[str, Any]:
        return {
            "origins": [format_month(o) for o in self.origins],
            "horizon": self.horizon,
            "horizons": self.horizons,
            "models": list(MODELS),
            "table": self.table(),
            "means": self.means(),
            "rows": self.rows,
            "reliability": self.reliability,
            "monotone_violations": self.monotone_violations,
            "params": self.params,
            "seconds": round(self.seconds, 1),
        }


def confirmation_months(d: Any) -> int:
    """Months after a churn before the data show it in full: the deregistration lag for off-net
    churn dated by last activity, the silent months for silence, the decline months for value
    decline, none otherwise."""
    from churnradar.schema.enums import OFFNET_KINDS

    if d.target in OFFNET_KINDS:
        return d.lag_months
    if d.target == "silent":
        return d.silent_months
    if d.target == "value_decline":
        return d.value_decline_months
    return 0


def backtest_store(
    store: Path | str,
    origins: Sequence[str | date] | None = None,
    *,
    end: str | date | None = None,
    n_origins: int = 3,
    horizons: Sequence[int] = (1, 2, 3),
    horizon: int | None = None,
    history_months: int = 4,
    gap_months: int = 0,
    feature_set: str = "core",
    definition: str | None = "offnet",
    params: dict[str, Any] | None = None,
    emp_params: dict[str, float] | None = None,
    backend: str = "duckdb",
    progress: Callable[..., None] | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation on ``store``: origins given, or the ``n_origins`` months ending at ``end``.

    ``end`` defaults to the last month whose ``max(horizons)``-month labels the data cover in full
    (allowing for the time the definition needs to see a churn: the 3-month deregistration lag for
    off-net churn, the silent months for silence). Default origins lie inside the data: the first
    one needs three months of data before it. ``definition=None`` chooses as ``train`` does.
    """
    from churnradar.labels import default_definition
    from churnradar.models.pipeline import TrainingData
    from churnradar.store.backends import open_backend

    horizons = [int(h) for h in horizons]
    bk = open_backend(store, backend)
    try:
        if definition is None:
            definition = default_definition(bk)[0]
        data = TrainingData(bk, feature_set, definition, max(horizons))
        latest = add_months(data.last_month, -(max(horizons) + confirmation_months(data.definition)))
        if origins:
            months = sorted(parse_month(o) for o in origins)
        else:
            last = parse_month(end) if end else latest
            months = [add_months(last, -i) for i in range(n_origins - 1, -1, -1)]
            # the model needs a month of history and two outcome months after it before an origin
            first_usable = add_months(data.first_month, 3)
            if months[0] < first_usable:
                raise ConfigError(
                    f"the data cover {format_month(data.first_month)} … {format_month(data.last_month)}: "
                    f"an origin needs three months of data before it, so the first can be "
                    f"{format_month(first_usable)}, and with {max(horizons)}-month labels the last "
                    f"{format_month(latest)}, which leaves fewer than the {n_origins} origins asked for; "
                    "give a shorter --horizon (and --n-origins ≥ 3) or more months of data"
                )
        return run_backtest(
            data,
            months,
            horizons=horizons,
            horizon=horizon,
            history_months=history_months,
            gap_months=gap_months,
            params=params,
            emp_params=emp_params,
            progress=progress,
        )
    finally:
        bk.close()


def run_backtest(
    data: Any,
    months: Sequence[date],
    *,
    horizons: Sequence[int] = (1, 2, 3),
    horizon: int | None = None,
    history_months: int = 4,
    gap_months: int = 0,
    params: dict[str, Any] | None = None,
    emp_params: dict[str, float] | None = None,
    progress: Callable[..., None] | None = None,
) -> BacktestResult:
    """The backtest on already-opened :class:`~churnradar.models.pipeline.TrainingData`.

    The hazard model of each origin is kept in ``result.models`` (the last one is what
    ``churnradar train --as-of <last origin>`` with the same parameters stores).
    """
    from churnradar.models.pipeline import fit_churn_model

    started = time.perf_counter()
    report = progress or (lambda *a, **k: None)
    horizons = [int(h) for h in horizons]
    horizon = int(horizon or max(horizons))
    if horizon not in horizons:
        raise ConfigError(f"horizon {horizon} is not one of the horizons {horizons}")
    months = sorted(months)
    if len(months) < 3:
        raise ConfigError(f"a backtest needs at least 3 origin months; got {len(months)}")
    lag = confirmation_months(data.definition)
    latest = add_months(data.last_month, -(max(horizons) + lag))
    late = [format_month(m) for m in months if m > latest]
    if late:
        raise ConfigError(
            f"origins {late} are too late: their {max(horizons)}-month labels need data up to "
            f"{max(horizons)} + {lag} months later, and the data end in "
            f"{format_month(data.last_month)}; the last usable origin is {format_month(latest)}"
        )
    rows: list[dict[str, Any]] = []
    pooled_y, pooled_p = [], []
    violations = 0
    models: dict[date, Any] = {}
    steps = 4 * len(months)
    for i, t in enumerate(months):
        report("backtest", 4 * i, steps)
        model, panel = fit_churn_model(
            data, t, horizons=horizons, history_months=history_months, gap_months=gap_months, params=params
        )
        models[t] = model
        report("backtest", 4 * i + 1, steps)
        feats = data.features(t)
        lab = data.labels(t)
        lab = lab.filter(pc.invert(lab.column("already_churned")))
        idx = pc.index_in(lab.column("subscriber_id"), value_set=feats.column("subscriber_id"))
        keep = pc.is_valid(idx)
        lab, feats = lab.filter(keep), feats.take(idx.filter(keep))
        X = model.hazard.transform_features(feats)
        probs = {"hazard": model.probabilities(X)}
        probs["logistic"] = LogisticHazard(horizons).fit(panel).predict_proba(feats)
        report("backtest", 4 * i + 2, steps)
        probs["arpu_rule"] = ArpuDropRule(horizons).fit(panel).predict_proba(feats)
        violations += int((np.diff(probs["hazard"], axis=1) < -1e-12).any(axis=1).sum())
        for name, p in probs.items():
            for j, h in enumerate(horizons):
                y = np.asarray(lab.column(f"churn_within_{h}m").to_numpy(zero_copy_only=False), dtype=float)
                m = evaluate_scores(y, p[:, j], emp_params=emp_params)
                rows.append(
                    {
                        "origin": format_month(t),
                        "model": name,
                        "horizon": h,
                        "model_id": model.model_id if name == "hazard" else None,
                        **{k: v for k, v in m.items() if k != "reliability"},
                    }
                )
                if name == "hazard" and h == horizon:
                    pooled_y.append(y)
                    pooled_p.append(p[:, j])
        report("backtest", 4 * i + 3, steps)
    report("backtest", steps, steps)
    rel = reliability_curve(np.concatenate(pooled_y), np.concatenate(pooled_p)).to_dict()
    return BacktestResult(
        origins=months,
        horizon=horizon,
        horizons=horizons,
        rows=rows,
        reliability={"model": "hazard", "horizon": horizon, **rel},
        monotone_violations=violations,
        models=models,
        params={
            "history_months": history_months,
            "gap_months": gap_months,
            "feature_set": data.fs.name,
            "definition": data.definition.name,
            "model_params": params or {},
            "emp": emp_params or {},
            "rule": f"{RULE_FEATURE} < {RULE_DROP}",
        },
        seconds=time.perf_counter() - started,
    )
