"""Discrete-time churn hazard model (LightGBM) with horizon probabilities monotone by construction.

Training rows are subscriber × as-of month × step: the features of subscriber *i* at month *S*
and whether *i* churned in month *S + k*, given it had not churned in *S+1 … S+k−1* (the risk
set). The model is a proportional-odds hazard::

    logit h_k(x) = f(x) + α_k

where ``f`` is one LightGBM booster shared by every step and ``α_k`` the baseline log-odds of step
``k``. One tree evaluation per subscriber gives every horizon, and reasons (feature contributions
to ``f``) do not depend on the step. The hazards are calibrated per step on a *later* time slice
(the rows whose outcome month is the last ``calibration_months`` of the training window, scored
by a booster that has not seen them) and composed as ``P(churn within t) = 1 − Π_{k≤t}(1 − h_k)``, so P is non-decreasing in ``t``.
With ``refit=True`` (default) the booster is then refitted on every row, the latest month included
(it carries the most recent behaviour, and the only full-horizon rows of a short history), keeping
the calibration map; the backtest measures the calibration this gives (ECE).

Capacity (leaves, minimum leaf size, learning rate, trees) is chosen from the data unless given:
the training slice's last outcome month is held out as a validation month, and a small search
with early stopping and a time budget (``search_budget`` seconds; ``models/tuning.py``) picks the
configuration with the best validation ROC-AUC. Any of ``num_leaves``, ``min_child_samples``,
``learning_rate`` or ``n_estimators`` given fixes the configuration (the rest from
:data:`~churnradar.models.tuning.HAZARD_DEFAULT`); trees still come from early stopping unless
``n_estimators`` is given. What was tried and chosen is ``search_`` (and in the registry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churnradar.errors import ConfigError
from churnradar.models.calibration import HazardCalibrator
from churnradar.models.encoding import FeatureEncoder, _as_arrow
from churnradar.periods import add_months

PANEL_KEYS = ("subscriber_id", "as_of", "step", "event")


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def _mean(x: np.ndarray, w: np.ndarray | None) -> float:
    return float(x.mean()) if w is None else float(np.average(x, weights=w))


@dataclass
class HazardRows:
    """Encoded panel rows of one slice: float32 feature blocks (rows × features) and their keys.

    ``blocks`` are row blocks in order (one per as-of month and step, say); ``step``, ``event``,
    ``outcome`` (month index of the outcome month) and ``weight`` (None: every row weighs 1) run
    over the rows of all blocks in the same order.
    """

    blocks: list[np.ndarray]
    step: np.ndarray
    event: np.ndarray
    outcome: np.ndarray
    weight: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.event)

    def weights(self) -> np.ndarray:
        return np.ones(self.n) if self.weight is None else self.weight


def _weighted_auc_ece(y: np.ndarray, p: np.ndarray, w: np.ndarray, bins: int = 10) -> tuple[float, float]:
    """ROC-AUC and ECE (equal-weight bins of predicted probability) with row weights."""
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y, p, sample_weight=w))
    order = np.argsort(p, kind="stable")
    cw = np.cumsum(w[order])
    edges = np.searchsorted(cw, cw[-1] * np.arange(1, bins) / bins, side="right")
    err = 0.0
    for g in np.split(order, edges):
        if len(g):
            wg = w[g]
            err += wg.sum() * abs(np.average(p[g], weights=wg) - np.average(y[g], weights=wg))
    return auc, float(err / w.sum())


def month_index_array(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Month index (year × 12 + month − 1) of each date in an Arrow date column."""
    days = np.asarray(col.cast(pa.date32()).to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    return days.astype("datetime64[M]").astype(np.int64) + 1970 * 12


class ChurnHazardModel:
    """LightGBM discrete-time hazard model: ``fit`` on a panel, ``predict_proba`` per horizon.

    >>> model = ChurnHazardModel(horizons=(1, 2, 3), n_estimators=50).fit(panel)  # doctest: +SKIP
    >>> model.predict_proba(features)  # doctest: +SKIP
       p_churn_1m  p_churn_2m  p_churn_3m
    """

    def __init__(
        self,
        horizons: Sequence[int] = (1, 2, 3),
        n_estimators: int | None = None,
        learning_rate: float | None = None,
        num_leaves: int | None = None,
        max_depth: int = 8,
        min_child_samples: int | None = None,
        feature_fraction: float = 0.5,
        reg_lambda: float = 1.0,
        calibration: str = "platt",
        calibration_months: int = 1,
        refit: bool = True,
        num_threads: int = 1,
        random_state: int = 0,
        feature_columns: Sequence[str] | None = None,
        search_budget: float | None = None,
    ):
        self.horizons = horizons
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.reg_lambda = reg_lambda
        self.calibration = calibration
        self.calibration_months = calibration_months
        self.refit = refit
        self.num_threads = num_threads
        self.random_state = random_state
        self.feature_columns = feature_columns
        self.search_budget = search_budget

    # -- parameters -----------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return {
            "horizons": [int(h) for h in self.horizons],
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "reg_lambda": self.reg_lambda,
            "calibration": self.calibration,
            "calibration_months": self.calibration_months,
            "refit": self.refit,
            "num_threads": self.num_threads,
            "random_state": self.random_state,
            "search_budget": self.search_budget,
        }

    def _given(self) -> dict[str, Any]:
        """The capacity settings given to the constructor (the rest is searched or defaulted)."""
        from churnradar.models.tuning import HAZARD_KEYS, check_hazard_params

        return check_hazard_params({k: getattr(self, k) for k in HAZARD_KEYS if getattr(self, k) is not None})

    def _capacity(self) -> dict[str, Any]:
        """The capacity in use: chosen by ``fit`` (``capacity_``), else as given over the defaults."""
        from churnradar.models.tuning import HAZARD_DEFAULT

        if hasattr(self, "capacity_"):
            return self.capacity_
        return HAZARD_DEFAULT | self._given()

    def _lgb_params(self, capacity: dict[str, Any] | None = None) -> dict[str, Any]:
        c = capacity or self._capacity()
        return {
            "objective": "binary",
            "learning_rate": float(c["learning_rate"]),
            "num_leaves": int(c["num_leaves"]),
            "max_depth": self.max_depth,
            "min_data_in_leaf": int(c["min_child_samples"]),
            "feature_fraction": self.feature_fraction,
            "feature_fraction_seed": self.random_state,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.num_threads,
            "verbosity": -1,
        }

    def _validate(self) -> None:
        hs = [int(h) for h in self.horizons]
        if not hs or hs != sorted(set(hs)) or hs[0] < 1 or hs[-1] > 24:
            raise ConfigError(
                f"horizons {tuple(self.horizons)} are not valid; expected increasing months between 1 and 24"
            )
        if self.calibration_months < 1:
            raise ConfigError(f"calibration_months {self.calibration_months} must be at least 1")
        if self.search_budget is not None and not self.search_budget > 0:
            raise ConfigError(f"search budget {self.search_budget!r} must be a positive number of seconds")
        self._given()

    # -- fitting --------------------------------------------------------------------------------
    def fit(
        self,
        panel: pa.Table | pd.DataFrame,
        *,
        id_col: str = "subscriber_id",
        time_col: str = "as_of",
        step_col: str = "step",
        event_col: str = "event",
        weight_col: str | None = None,
    ) -> ChurnHazardModel:
        """Fit on a hazard panel (see :func:`hazard_panel`); the last outcome months calibrate.

        ``weight_col`` names row weights (a sampled panel: 1 / the sampling rate of each row).
        """
        self._validate()
        table = _as_arrow(panel)
        keys = (id_col, time_col, step_col, event_col, *((weight_col,) if weight_col else ()))
        for c in keys:
            if c not in table.column_names:
                raise ConfigError(f"the panel has no column {c!r}; it has {table.column_names[:8]}…")
        step = table.column(step_col).to_numpy().astype(np.int64)
        event = np.asarray(table.column(event_col).to_numpy(zero_copy_only=False), dtype=np.float64)
        outcome = month_index_array(table.column(time_col)) + step
        weight = (
            np.asarray(table.column(weight_col).to_numpy(zero_copy_only=False), dtype=np.float64)
            if weight_col
            else None
        )
        cal = self.calibration_mask(outcome)
        feats = [c for c in table.column_names if c not in keys]
        if self.feature_columns is not None:
            feats = list(self.feature_columns)
        encoder = FeatureEncoder(columns=feats).fit(table)
        X = encoder.transform(table)
        rows = [
            HazardRows([X[m]], step[m], event[m], outcome[m], None if weight is None else weight[m])
            for m in (~cal, cal)
        ]
        del X
        return self.fit_encoded(rows[0], rows[1], encoder)

    def calibration_mask(self, outcome: np.ndarray) -> np.ndarray:
        """Rows whose outcome month is among the last ``calibration_months`` (the calibration slice)."""
        self._validate()
        outcome = np.asarray(outcome)
        if not outcome.size:
            raise ConfigError("the panel has no rows")
        cal = outcome > outcome.max() - self.calibration_months
        if cal.all() or not cal.any():
            raise ConfigError(
                "the panel needs outcome months before the calibration slice: it covers "
                f"{len(np.unique(outcome))} outcome month(s), calibration_months={self.calibration_months}"
            )
        return cal

    def fit_encoded(self, train: HazardRows, cal: HazardRows, encoder: FeatureEncoder) -> ChurnHazardModel:
        """Fit on panel rows already encoded by ``encoder``: the training slice and the later calibration slice.

        The blocks of each slice are handed to LightGBM as they are (no concatenated copy). With
        row weights (a sampled panel), the step baselines, the booster and the calibration are
        weighted, so they estimate what the full panel would give.
        """
        import lightgbm as lgb

        self._validate()
        if not train.n or not cal.n:
            raise ConfigError("the panel needs rows in the training slice and in the calibration slice")
        self.steps_ = list(range(1, max(int(h) for h in self.horizons) + 1))
        self.encoder_ = encoder
        tw = train.weight
        # steps with no training row (a short history) borrow the nearest lower step's baseline
        self.offsets_ = {}
        for k in self.steps_:
            m = train.step == k
            self.offsets_[k] = (
                _logit(_mean(train.event[m], None if tw is None else tw[m]))
                if m.any()
                else self.offsets_.get(k - 1, _logit(_mean(train.event, tw)))
            )
        init_train = self._init(train.step)
        init_cal = self._init(cal.step)
        self.search_ = self._choose_capacity(train, init_train)
        self.capacity_ = {
            k: self.search_.params[k]
            for k in ("num_leaves", "min_child_samples", "learning_rate", "n_estimators")
        }
        self.booster_ = self._train(lgb, train.blocks, train.event, init_train, train.weight)
        raw_cal = np.concatenate([self._raw(b) for b in cal.blocks]) + init_cal
        self.calibrator_ = HazardCalibrator(self.calibration).fit(raw_cal, cal.step, cal.event, cal.weight)
        self.fit_metrics_ = self._slice_metrics(raw_cal, cal.step, cal.event, cal.weight)
        self.validation_curves_ = self._slice_curves(raw_cal, cal.step, cal.event, cal.weight)
        if self.refit:
            # the calibration map was learnt on a slice the booster had not seen; now the booster
            # also learns from that latest month (same settings) and keeps the map
            weight = None
            if train.weight is not None or cal.weight is not None:
                weight = np.concatenate([train.weights(), cal.weights()])
            self.booster_ = self._train(
                lgb,
                [*train.blocks, *cal.blocks],
                np.concatenate([train.event, cal.event]),
                np.concatenate([init_train, init_cal]),
                weight,
            )
        self.n_train_rows_ = int(train.n)
        self.n_calibration_rows_ = int(cal.n)
        self.train_outcome_months_ = [_month_from_index(int(i)) for i in np.unique(train.outcome)]
        self.calibration_outcome_months_ = [_month_from_index(int(i)) for i in np.unique(cal.outcome)]
        return self

    def _choose_capacity(self, train: HazardRows, init: np.ndarray) -> Any:
        """Search (or fix) the booster's capacity on the training slice's last outcome month."""
        from churnradar.models.tuning import HAZARD_DEFAULT, SearchResult, search_hazard

        given = self._given()
        if "n_estimators" in given:  # fully fixed: nothing to validate
            return SearchResult(params=HAZARD_DEFAULT | given, fixed=True)
        last = int(train.outcome.max())
        valid = train.outcome == last
        ev = train.event
        why = None
        if valid.all():
            why = "the training slice has one outcome month, none left to validate on"
        elif not 0 < ev[valid].sum() < valid.sum() or not 0 < ev[~valid].sum() < (~valid).sum():
            why = "the validation month or the months before it have no churn event"
        if why is not None:
            return SearchResult(params=HAZARD_DEFAULT | given, fixed=bool(given), skipped=why)
        # blocks of one outcome month (what collect_training_rows reads) are split without a copy
        inner: list[np.ndarray] = []
        held: list[np.ndarray] = []
        start = 0
        for block in train.blocks:
            m = valid[start : start + len(block)]
            start += len(block)
            if m.all():
                held.append(block)
            elif not m.any():
                inner.append(block)
            else:
                inner.append(block[~m])
                held.append(block[m])
        w = train.weight

        def part(keep: bool, blocks: list[np.ndarray]) -> tuple[Any, ...]:
            m = valid == keep
            return [b for b in blocks if len(b)], ev[m], init[m], None if w is None else w[m]

        return search_hazard(
            part(False, inner),
            part(True, held),
            base=self._lgb_params(HAZARD_DEFAULT),
            feature_name=self.encoder_.columns_,
            categorical=self.encoder_.categorical_,
            budget=self.search_budget,
            fixed=given or None,
        )

    def _init(self, step: np.ndarray) -> np.ndarray:
        table = np.array([self.offsets_.get(k, 0.0) for k in range(max(self.steps_) + 1)], dtype=np.float64)
        return table[np.asarray(step, dtype=np.int64)]

    def _train(
        self,
        lgb: Any,
        blocks: np.ndarray | Sequence[np.ndarray],
        y: np.ndarray,
        init: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> Any:
        data = blocks[0] if isinstance(blocks, list | tuple) and len(blocks) == 1 else blocks
        if isinstance(data, tuple):
            data = list(data)
        ds = lgb.Dataset(
            data,
            label=y,
            weight=weight,
            init_score=init,
            feature_name=self.encoder_.columns_,
            categorical_feature=self.encoder_.categorical_ or "auto",
            free_raw_data=True,
            params={"verbosity": -1, "max_bin": 255},
        )
        booster = lgb.train(self._lgb_params(), ds, num_boost_round=int(self._capacity()["n_estimators"]))
        del ds
        return booster

    def _slice_metrics(
        self, raw: np.ndarray, step: np.ndarray, event: np.ndarray, weight: np.ndarray | None = None
    ) -> dict[str, Any]:
        from churnradar.evaluate.metrics import expected_calibration_error, roc_auc

        out: dict[str, Any] = {"calibration_rows": len(event), "calibration_events": int(event.sum())}
        for k in self.steps_:
            m = step == k
            if m.sum() and 0 < event[m].sum() < m.sum():
                h = self.calibrator_.transform(raw[m], k)
                if weight is None:
                    auc, ece = roc_auc(event[m], h), expected_calibration_error(event[m], h)
                else:
                    auc, ece = _weighted_auc_ece(event[m], h, weight[m])
                out[f"hazard_auc_step{k}"] = round(auc, 4)
                out[f"hazard_ece_step{k}"] = round(ece, 4)
        return out

    def _slice_curves(
        self, raw: np.ndarray, step: np.ndarray, event: np.ndarray, weight: np.ndarray | None = None
    ) -> dict[str, Any] | None:
        """ROC, gain and reliability points of the calibrated 1-month hazard on the calibration slice
        (kept in the registry's metrics, not in the model); None without both outcomes there."""
        from churnradar.models.curves import curve_points

        m = step == 1
        if not m.any() or not 0 < event[m].sum() < m.sum():
            return None
        h = self.calibrator_.transform(raw[m], 1)
        return {"step": 1, **curve_points(event[m], h, None if weight is None else weight[m])}

    # -- prediction -----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise ConfigError("this ChurnHazardModel is not fitted yet; call fit(panel) first")

    def _raw(self, X: np.ndarray) -> np.ndarray:
        return self.booster_.predict(X, raw_score=True, num_threads=self.num_threads)

    def transform_features(self, features: pa.Table | pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        return self.encoder_.transform(features)

    def decision_function(self, features: pa.Table | pd.DataFrame | np.ndarray) -> np.ndarray:
        """``f(x)``: the step-independent raw log-odds (before the step offsets)."""
        self._check_fitted()
        X = features if isinstance(features, np.ndarray) else self.encoder_.transform(features)
        return self._raw(X)

    def hazards_from_raw(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated monthly hazards, one column per step 1 … max horizon."""
        return np.column_stack([self.calibrator_.transform(raw + self.offsets_[k], k) for k in self.steps_])

    def proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        """P(churn within h months) for each horizon h (columns in ``horizons`` order)."""
        h = self.hazards_from_raw(raw)
        surv = np.cumprod(1.0 - h, axis=1)
        return np.column_stack([1.0 - surv[:, int(hz) - 1] for hz in self.horizons])

    def predict_hazards(self, features: pa.Table | pd.DataFrame | np.ndarray) -> np.ndarray:
        return self.hazards_from_raw(self.decision_function(features))

    def predict_proba(self, features: pa.Table | pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """One row per input row, one column ``p_churn_<h>m`` per horizon; monotone in h."""
        p = self.proba_from_raw(self.decision_function(features))
        return pd.DataFrame(p, columns=self.proba_columns)

    @property
    def proba_columns(self) -> list[str]:
        return [f"p_churn_{int(h)}m" for h in self.horizons]

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "class": "ChurnHazardModel",
            "params": self.get_params(),
            "steps": self.steps_,
            "encoder": self.encoder_.to_dict(),
            "offsets": {str(k): v for k, v in self.offsets_.items()},
            "calibrator": self.calibrator_.to_dict(),
            "booster": self.booster_.model_to_string(),
            "n_train_rows": self.n_train_rows_,
            "n_calibration_rows": self.n_calibration_rows_,
            "train_outcome_months": [str(m) for m in self.train_outcome_months_],
            "calibration_outcome_months": [str(m) for m in self.calibration_outcome_months_],
            "fit_metrics": self.fit_metrics_,
            "capacity": self.capacity_,
            "search": self.search_summary(),
        }

    def search_summary(self) -> dict[str, Any]:
        """The capacity search: budget, seconds, what was tried and chosen (or why none ran)."""
        s = getattr(self, "search_", None)
        if s is None:
            return {}
        if isinstance(s, dict):
            return s
        return s.to_dict()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ChurnHazardModel:
        import lightgbm as lgb

        params = dict(d["params"])
        model = cls(**params)
        model.steps_ = [int(k) for k in d["steps"]]
        model.encoder_ = FeatureEncoder.from_dict(d["encoder"])
        model.offsets_ = {int(k): float(v) for k, v in d["offsets"].items()}
        model.calibrator_ = HazardCalibrator.from_dict(d["calibrator"])
        model.booster_ = lgb.Booster(model_str=d["booster"])
        model.n_train_rows_ = d["n_train_rows"]
        model.n_calibration_rows_ = d["n_calibration_rows"]
        model.train_outcome_months_ = [date.fromisoformat(m) for m in d["train_outcome_months"]]
        model.calibration_outcome_months_ = [date.fromisoformat(m) for m in d["calibration_outcome_months"]]
        model.fit_metrics_ = dict(d["fit_metrics"])
        # models stored before the capacity search: their settings are the constructor's
        model.capacity_ = dict(d.get("capacity") or model._capacity())
        model.search_ = dict(d.get("search") or {})
        return model


def _month_index(m: date) -> int:
    return m.year * 12 + m.month - 1


def _month_from_index(i: int) -> date:
    return date(i // 12, i % 12 + 1, 1)


def hazard_panel(
    features: Mapping[date, pa.Table],
    labels: Mapping[date, pa.Table],
    max_step: int,
    outcome_until: date,
) -> pa.Table:
    """Subscriber × as-of × step rows from feature tables and ``churn_label`` tables per as-of month.

    For as-of ``S`` and step ``k`` (1 … ``max_step``) a subscriber is in the risk set when it had not
    churned by ``S`` (``already_churned``) nor in ``S+1 … S+k−1``; ``event`` is churn in month
    ``S+k``. Only steps whose outcome month ``S+k`` is on or before ``outcome_until`` are kept, so
    nothing after ``outcome_until`` is learnt. Labels need ``churn_within_<k>m`` for every step.
    """
    parts = []
    for s in sorted(features):
        if s not in labels:
            raise ConfigError(f"no labels for as-of {s}; the panel needs labels for every feature month")
        lab = labels[s]
        need = [f"churn_within_{k}m" for k in range(1, max_step + 1)]
        missing = [c for c in need if c not in lab.column_names]
        if missing:
            raise ConfigError(f"labels for {s} lack {missing}; label with horizons 1…{max_step}")
        lab = lab.filter(pc.invert(lab.column("already_churned")))
        lab = lab.select(["subscriber_id", *need])
        feat = features[s]
        joined = feat.join(lab, "subscriber_id", join_type="inner")
        joined = joined.sort_by("subscriber_id")
        prev = pa.array(np.zeros(joined.num_rows, dtype=bool))
        fcols = [c for c in feat.column_names if c != "subscriber_id"]
        for k in range(1, max_step + 1):
            if _month_index(add_months(s, k)) > _month_index(outcome_until):
                break
            within = joined.column(f"churn_within_{k}m").combine_chunks()
            at_risk = pc.invert(prev)
            event = pc.and_(within, at_risk)
            rows = joined.filter(at_risk)
            part = pa.table(
                {
                    "subscriber_id": rows.column("subscriber_id"),
                    "as_of": pa.array([s] * rows.num_rows, pa.date32()),
                    "step": pa.array(np.full(rows.num_rows, k, dtype=np.int64)),
                    "event": event.filter(at_risk),
                    **{c: rows.column(c) for c in fcols},
                }
            )
            parts.append(part)
            prev = pc.or_(prev, within)
    if not parts:
        raise ConfigError(f"no panel rows: no as-of month has an outcome month on or before {outcome_until}")
    return pa.concat_tables(parts, promote_options="permissive")
