"""Churn models on flat tables: one row per customer, a churn column (public datasets, extracts).

``fit_table`` reads a CSV (UTF-8 or GBK/GB18030), xlsx or Parquet file, maps known public datasets
to canonical names (``ingest.adapters``), cleans the table and reports every decision
(:mod:`~churnradar.models.hygiene`), leaves out columns that carry the answer
(:mod:`~churnradar.models.leaks`), and either cross-validates (stratified K-fold; duplicate rows
kept in one fold) or trains on the file and evaluates on a test file or on the rows a flag column
marks. The model is :class:`FlatChurnModel`, a LightGBM classifier whose capacity (leaves, leaf
size, learning rate, trees) is chosen on an inner validation split (:mod:`~churnradar.models.tuning`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnradar.errors import ConfigError
from churnradar.models.hygiene import (
    NEGATIVE,
    POSITIVE,
    Finding,
    TargetEncodingError,
    apply_plan,
    duplicate_groups,
    infer_kinds,
    overlap_count,
    parse_target_map,
    plan_columns,
    typed,
)
from churnradar.models.hygiene import encode_target as _encode
from churnradar.models.leaks import LEAK_AUC, SUSPECT_AUC, TOO_GOOD_AUC, named_like_outcome, scan
from churnradar.models.tabular_io import read_table, resolve_column
from churnradar.models.tuning import CAPACITY, SearchResult, search

__all__ = [
    "NEGATIVE",
    "POSITIVE",
    "FitTableResult",
    "FlatChurnModel",
    "TargetEncodingError",
    "encode_target",
    "fit_table",
    "infer_types",
    "prior_shift",
]

LIFT_SHARES = (0.05, 0.1, 0.2)


def encode_target(values: pd.Series, positive=None, target_map=None) -> np.ndarray:
    """0/1 from Yes/No, True/False, 1/0, Y/N, churned/stayed (any case); anything else is an error.

    Empty values are an error here; :func:`fit_table` leaves such rows out and reports them."""
    y = _encode(values, positive=positive, target_map=target_map)
    if np.isnan(y).any():
        raise TargetEncodingError(
            f"the churn column {values.name!r} has {int(np.isnan(y).sum())} empty values; every row needs one"
        )
    return y.astype(np.int8)


def infer_types(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's type: ``numeric``, ``categorical`` or ``id`` (left out: identifier, constant, empty)."""
    findings: list[Finding] = []
    kinds = infer_kinds(frame, findings)
    return plan_columns(typed(frame, kinds), kinds, findings=findings).types()


class FlatChurnModel:
    """LightGBM classifier for one-row-per-customer tables (scikit-learn style).

    Capacity settings left as ``None`` (``num_leaves``, ``min_child_samples``, ``learning_rate``)
    are chosen by :func:`churnradar.models.tuning.search` on an inner validation split within
    ``budget`` seconds; when any of them is given, that configuration is used as is. The number of
    trees comes from early stopping on the inner split unless ``n_estimators`` is given too.
    ``fit`` stores ``booster_``, ``params_`` (what was fitted) and ``search_``.
    """

    def __init__(
        self,
        n_estimators: int | None = None,
        learning_rate: float | None = None,
        num_leaves: int | None = None,
        min_child_samples: int | None = None,
        feature_fraction: float = 0.8,
        bagging_fraction: float = 0.8,
        reg_lambda: float = 1.0,
        num_threads: int = 1,
        random_state: int = 0,
        types: dict[str, str] | None = None,
        budget: float | None = None,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.reg_lambda = reg_lambda
        self.num_threads = num_threads
        self.random_state = random_state
        self.types = types
        self.budget = budget

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        cols = []
        for c in self.columns_:
            if c not in X.columns:
                raise ConfigError(f"column {c!r} is missing; the model was fitted with {self.columns_}")
            s = X[c]
            if c in self.categories_:
                text = s.astype("string").str.strip()
                idx = pd.Categorical(text, categories=self.categories_[c]).codes
                cols.append(np.where(idx < 0, np.nan, idx).astype(np.float64))
            else:
                if not pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                    s = pd.to_numeric(s.astype("string").str.strip().replace("", None), errors="coerce")
                cols.append(np.asarray(s, dtype=np.float64))
        return np.column_stack(cols) if cols else np.empty((len(X), 0))

    def _base(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.num_threads,
            "verbosity": -1,
        }

    def fit(self, X: pd.DataFrame, y: Any, groups: np.ndarray | None = None) -> FlatChurnModel:
        import lightgbm as lgb

        from churnradar.models.tuning import lgb_params

        types = self.types or infer_types(X)
        self.columns_ = [c for c in X.columns if types.get(c) in ("numeric", "categorical")]
        self.categories_ = {
            c: sorted(X[c].astype("string").str.strip().dropna().unique().tolist())
            for c in self.columns_
            if types[c] == "categorical"
        }
        cat_idx = [i for i, c in enumerate(self.columns_) if c in self.categories_]
        M = self._matrix(X)
        y = np.asarray(y, dtype=float)
        fixed = {k: getattr(self, k) for k in CAPACITY if getattr(self, k) is not None}
        base = self._base()
        if fixed and self.n_estimators is not None:
            from churnradar.models.tuning import DEFAULT_CAPACITY

            chosen = DEFAULT_CAPACITY | fixed | {"n_estimators": int(self.n_estimators)}
            self.search_ = SearchResult(params=chosen, fixed=True)
        else:
            self.search_ = search(
                M,
                y,
                base=base,
                categorical=cat_idx,
                groups=groups,
                budget=self.budget,
                seed=self.random_state,
                fixed=fixed or None,
            )
            chosen = dict(self.search_.params)
            if self.n_estimators is not None:
                chosen["n_estimators"] = int(self.n_estimators)
        self.params_ = chosen
        ds = lgb.Dataset(
            M,
            label=y,
            feature_name=[f"f{i}" for i in range(len(self.columns_))],
            categorical_feature=cat_idx or "auto",
            params={"verbosity": -1, "feature_pre_filter": False},
        )
        self.booster_ = lgb.train(lgb_params(chosen, base), ds, num_boost_round=int(chosen["n_estimators"]))
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise ConfigError("this FlatChurnModel is not fitted yet; call fit(X, y) first")
        p = self.booster_.predict(self._matrix(X), num_threads=self.num_threads)
        return np.column_stack([1 - p, p])

    def importance(self) -> dict[str, float]:
        """Each column's share of the total split gain."""
        gain = self.booster_.feature_importance("gain")
        total = float(gain.sum()) or 1.0
        return {c: float(g) / total for c, g in zip(self.columns_, gain, strict=True)}


# -- metrics -----------------------------------------------------------------------------------------


def lift_at(y: np.ndarray, p: np.ndarray, share: float) -> float:
    from churnradar.evaluate.metrics import top_decile_lift

    return top_decile_lift(y, p, share=share)


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC-AUC, Gini (2·AUC − 1), PR-AUC, lift at 5/10/20% (``top_decile_lift`` = lift at 10%), Brier."""
    from churnradar.evaluate.metrics import brier_score, pr_auc, roc_auc

    auc = roc_auc(y, p)
    out = {"roc_auc": auc, "gini": 2 * auc - 1, "pr_auc": pr_auc(y, p)}
    for s in LIFT_SHARES:
        out[f"lift_{int(s * 100)}"] = lift_at(y, p, s)
    out["top_decile_lift"] = out["lift_10"]
    out["brier"] = brier_score(y, p)
    return out


def prior_shift(p: np.ndarray, train_rate: float, new_rate: float) -> np.ndarray:
    """Probabilities learnt at churn rate ``train_rate`` moved to ``new_rate``: the odds are
    multiplied by (new odds / training odds), the standard correction for a changed prior."""
    if not (0 < train_rate < 1 and 0 < new_rate < 1):
        raise ConfigError(f"a prior must be strictly between 0 and 1 (got {train_rate}, {new_rate})")
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    w = (new_rate / train_rate) / ((1 - new_rate) / (1 - train_rate))
    odds = p / (1 - p) * w
    return odds / (1 + odds)


def prevalence_gap(train_rate: float, test_rate: float, test_rows: int) -> bool:
    """The test churn rate differs from the training one by more than 2 points and 3 standard errors."""
    se = math.sqrt(train_rate * (1 - train_rate) / max(test_rows, 1))
    return abs(test_rate - train_rate) > max(0.02, 3 * se)


# -- result ------------------------------------------------------------------------------------------


@dataclass
class FitTableResult:
    """Metrics of a flat-table fit (cross-validated or on test rows), every hygiene decision, the
    columns left out, the capacity search and where the reports are."""

    file: Path
    target: str
    mode: str
    rows: int
    positives: int
    adapter: str | None
    types: dict[str, str]
    metrics: dict[str, float]
    folds: list[dict[str, float]] = field(default_factory=list)
    test_file: Path | None = None
    report: Path | None = None
    html: Path | None = None
    seconds: float = 0.0
    hygiene: list[Finding] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    leak_scores: dict[str, float] = field(default_factory=dict)
    searches: list[SearchResult] = field(default_factory=list)
    budget_s: float | None = None
    test_rows: int | None = None
    test_positives: int | None = None
    prior: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    importance: dict[str, float] = field(default_factory=dict)
    split: dict[str, Any] | None = None
    #: the evaluated outcomes and probabilities (out of fold, or of the test rows)
    y_eval: np.ndarray | None = None
    p_eval: np.ndarray | None = None
    #: the fold of each training row (cross-validation) and the row's position in the file
    fold_of_row: np.ndarray | None = None
    row_index: np.ndarray | None = None
    groups: np.ndarray | None = None

    @property
    def params(self) -> dict[str, Any]:
        """The chosen configuration (the most frequent over the folds)."""
        if not self.searches:
            return {}
        keys = [tuple(sorted(s.params.items())) for s in self.searches]
        best = max(set(keys), key=lambda k: (keys.count(k), -keys.index(k)))
        return dict(best)

    def summary(self) -> dict[str, Any]:
        def r(v: Any) -> Any:
            return round(float(v), 4) if isinstance(v, (float, np.floating)) and not math.isnan(v) else v

        out: dict[str, Any] = {
            "file": str(self.file),
            "test_file": str(self.test_file) if self.test_file else None,
            "target": self.target,
            "mode": self.mode,
            "rows": self.rows,
            "positives": self.positives,
            "adapter": self.adapter,
            **{k: r(v) for k, v in self.metrics.items()},
            "folds": [{k: r(v) for k, v in f.items()} for f in self.folds],
            "train": {
                "rows": self.rows,
                "positives": self.positives,
                "churn_rate": r(self.positives / self.rows),
            },
        }
        if self.test_rows is not None:
            out["test"] = {
                "rows": self.test_rows,
                "positives": self.test_positives,
                "churn_rate": r(self.test_positives / self.test_rows),
            }
        out["prior"] = {k: r(v) for k, v in self.prior.items()}
        out["columns"] = {
            t: sorted(c for c, tt in self.types.items() if tt == t) for t in ("numeric", "categorical", "id")
        }
        out["excluded"] = self.excluded
        out["leak_scores"] = self.leak_scores
        out["hygiene"] = [f.to_dict() for f in self.hygiene]
        out["warnings"] = self.warnings
        out["params"] = self.params
        out["search"] = {
            "budget_s": None if self.budget_s is None else round(self.budget_s, 1),
            "seconds": round(sum(s.seconds for s in self.searches), 2),
            "per_fit": [s.to_dict() for s in self.searches],
        }
        out["top_features"] = [
            {"column": c, "gain_share": round(v, 4)}
            for c, v in sorted(self.importance.items(), key=lambda kv: -kv[1])[:15]
        ]
        if self.split:
            out["split"] = self.split
        out["report"] = str(self.report) if self.report else None
        out["report_html"] = str(self.html) if self.html else None
        out["seconds"] = round(self.seconds, 2)
        return out


# -- fit-table ---------------------------------------------------------------------------------------


def _test_findings(findings: list[Finding]) -> list[Finding]:
    for f in findings:
        f.rule = f"test_{f.rule}" if not f.rule.startswith("test_") else f.rule
        f.message = "test rows: " + f.message
    return findings


def fit_table(
    file: Path | str,
    target: str,
    *,
    id_col: str | None = None,
    folds: int = 5,
    test: Path | str | None = None,
    adapter: str = "auto",
    seed: int = 0,
    report: Path | str | None = None,
    params: dict[str, Any] | None = None,
    budget: float | None = None,
    keep: Sequence[str] = (),
    drop: Sequence[str] = (),
    positive: Sequence[str] = (),
    target_map: str | dict[str, int] | None = None,
    split_column: str | None = None,
    train_value: str | None = None,
    prior: float | None = None,
    sheet: str | None = None,
) -> FitTableResult:
    """Clean the table, guard against leaks, then cross-validate (stratified ``folds``) or train on
    ``file`` and evaluate on ``test`` (or on the rows of ``split_column`` other than
    ``train_value``); write Markdown and HTML reports (``report``: a folder, or a ``.md`` path)."""
    from churnradar.ingest.adapters import get_adapter

    started = time.perf_counter()
    file = Path(file)
    if test is not None and split_column is not None:
        raise ConfigError("give either --test or --split-column, not both")
    if (split_column is None) != (train_value is None):
        raise ConfigError("--split-column and --train-value go together")
    if params:
        unknown = sorted(set(params) - {*CAPACITY, "n_estimators"})
        if unknown:
            raise ConfigError(
                f"--params: unknown setting(s) {unknown}; expected num_leaves, min_child_samples, "
                "learning_rate, n_estimators"
            )
    tmap = parse_target_map(target_map) if isinstance(target_map, str) else target_map
    if prior is not None and not 0 < prior < 1:
        raise ConfigError(f"--prior {prior} must be a churn rate strictly between 0 and 1")
    hygiene: list[Finding] = []

    tf = read_table(file, sheet)
    frame = tf.frame
    if tf.encoding == "gb18030":
        hygiene.append(
            Finding(
                "encoding",
                [],
                len(frame),
                "read as GB18030",
                f"{file.name} is not UTF-8; read as GBK/GB18030",
            )
        )
    if tf.renamed:
        hygiene.append(
            Finding(
                "column_names",
                list(tf.renamed.values()),
                len(tf.renamed),
                "trimmed",
                f"{len(tf.renamed)} column names had spaces around them and are read trimmed: "
                + ", ".join(repr(v) for v in tf.renamed.values()),
            )
        )
    columns = list(frame.columns)
    tcol = resolve_column(target, columns, "target")
    icol = resolve_column(id_col, columns, "id") if id_col else None
    scol = resolve_column(split_column, columns, "split") if split_column else None
    keep = [resolve_column(c, columns, "--keep") for c in keep]
    drop = [resolve_column(c, columns, "--drop") for c in drop]

    tframe = None
    split_info = None
    if test is not None:
        tt = read_table(test, sheet)
        tframe = tt.frame
        if tt.encoding == "gb18030":
            hygiene.append(
                Finding(
                    "test_encoding",
                    [],
                    len(tframe),
                    "read as GB18030",
                    f"{Path(test).name} is not UTF-8; read as GBK/GB18030",
                )
            )
        missing = [c for c in columns if c not in tframe.columns and c not in (icol,)]
        if missing:
            raise ConfigError(f"the test file lacks column(s) {', '.join(repr(c) for c in missing[:8])}")
    elif scol is not None:
        flag = frame[scol].astype("string").str.strip()
        values = sorted(flag.dropna().unique().tolist())
        is_train = (flag == str(train_value).strip()).fillna(False).to_numpy()
        if not is_train.any():
            raise ConfigError(
                f"--train-value {train_value!r} does not occur in {scol!r}; its values are {values[:10]}"
            )
        if is_train.all():
            raise ConfigError(f"every row of {scol!r} is {train_value!r}; no rows are left to test on")
        tframe = frame[~is_train].reset_index(drop=True)
        frame = frame[is_train].reset_index(drop=True)
        split_info = {
            "column": scol,
            "train_value": str(train_value),
            "train_rows": len(frame),
            "test_rows": len(tframe),
        }
        hygiene.append(
            Finding(
                "split",
                [scol],
                len(tframe),
                "split; column left out",
                f"split on {scol!r}: {len(frame):,} rows with {str(train_value)!r} train, the other "
                f"{len(tframe):,} rows test; the column is left out of the model",
            )
        )

    ad = get_adapter(adapter, columns)
    positive = list(positive or ())
    y_all = _encode(frame[tcol], positive=positive or None, target_map=tmap, findings=hygiene)
    ok = ~np.isnan(y_all)
    row_index = np.flatnonzero(ok)
    frame = frame[ok].reset_index(drop=True)
    y = y_all[ok].astype(np.int8)
    yt = None
    if tframe is not None:
        tfind: list[Finding] = []
        yt_all = _encode(tframe[tcol], positive=positive or None, target_map=tmap, findings=tfind)
        hygiene += _test_findings([f for f in tfind if f.rule != "target_mapping"])
        tok = ~np.isnan(yt_all)
        tframe = tframe[tok].reset_index(drop=True)
        yt = yt_all[tok].astype(np.int8)

    skip = {c for c in (tcol, scol) if c}
    raw_cols = [c for c in frame.columns if c not in skip]
    kinds = infer_kinds(frame[raw_cols], hygiene)
    typed_train = typed(frame, kinds)
    typed_test = None
    if tframe is not None:
        if icol is not None and icol not in tframe.columns:
            tframe = tframe.assign(**{icol: None})
        typed_test = typed(tframe, kinds)
    if ad is not None:
        typed_train = ad.adapt(typed_train)
        typed_test = ad.adapt(typed_test) if typed_test is not None else None
        kinds = {ad.canonical(c): k for c, k in kinds.items()}
        for c in typed_train.columns:
            kinds.setdefault(c, "numeric")
        icol_c = ad.canonical(icol) if icol else None
        keep = [ad.canonical(c) for c in keep]
        drop = [ad.canonical(c) for c in drop]
        renamed = {c: ad.canonical(c) for c in raw_cols if ad.canonical(c) != c}
        derived = [c for c in typed_train.columns if c not in renamed.values() and c not in raw_cols]
        hygiene.append(
            Finding(
                "adapter",
                list(renamed.values()) + derived,
                len(renamed),
                "renamed",
                f"{ad.title}: {len(renamed)} columns renamed to canonical names ("
                + ", ".join(f"{a} → {b}" for a, b in renamed.items())
                + ")"
                + (f"; derived: {', '.join(derived)}" if derived else ""),
            )
        )
    else:
        icol_c = icol
    plan = plan_columns(
        typed_train, kinds, id_cols=[icol_c] if icol_c else [], keep=keep, drop=drop, findings=hygiene
    )
    X = apply_plan(typed_train, plan)

    # leak guard: single-column ROC-AUC on the training rows
    excluded: list[dict[str, Any]] = []
    leak_scores: dict[str, float] = {}
    for s in scan(X, plan.kinds, y, seed=seed):
        leak_scores[s.column] = s.auc
        if s.detail is None:
            if s.auc >= SUSPECT_AUC and named_like_outcome(s.column, tcol):
                hygiene.append(
                    Finding(
                        "leak_suspect",
                        [s.column],
                        len(y),
                        "used; check it",
                        f"{s.column!r} is named like an outcome and alone reaches ROC-AUC {s.auc:.3f}: check "
                        f"that it is known before the churn happens, or leave it out with --drop '{s.column}'",
                    )
                )
            continue
        if s.column in keep:
            hygiene.append(
                Finding(
                    "kept",
                    [s.column],
                    len(y),
                    "used (--keep)",
                    f"{s.column!r} looks like a leak ({s.detail}) but is used (--keep)",
                )
            )
            continue
        plan.excluded[s.column] = "leak"
        excluded.append({"column": s.column, "reason": "leak", "auc": s.auc, "detail": s.detail})
        hygiene.append(
            Finding(
                "leak",
                [s.column],
                len(y),
                "left out",
                f"{s.column!r} is left out as a likely leak: {s.detail}"
                + ("" if s.detail.startswith("single-column") else f" (single-column ROC-AUC {s.auc:.3f})")
                + f"; --keep '{s.column}' uses it",
            )
        )
    for c, rule in plan.excluded.items():
        if rule != "leak":
            excluded.append({"column": c, "reason": rule, "auc": leak_scores.get(c)})
    X = X[plan.features]
    if X.shape[1] == 0:
        raise ConfigError("no usable columns are left to learn from (see the hygiene findings)")
    groups = duplicate_groups(X, y, hygiene)
    types = plan.types()

    from churnradar.models.tuning import default_budget

    model_kw = dict(params or {})
    searches: list[SearchResult] = []
    importance: dict[str, float] = {}
    fold_metrics: list[dict[str, float]] = []
    warnings: list[str] = []
    prior_info: dict[str, Any] = {}
    fold_of_row = None
    if tframe is not None:
        total_budget = budget if budget is not None else default_budget(len(y), X.shape[1])
        Xt = apply_plan(typed_test, plan, plan.features)
        overlap = overlap_count(X, Xt)
        if overlap:
            hygiene.append(
                Finding(
                    "train_test_overlap",
                    [],
                    overlap,
                    "reported",
                    f"{overlap:,} test rows repeat a training row exactly in every model column",
                )
            )
        model = FlatChurnModel(types=types, random_state=seed, budget=total_budget, **model_kw)
        model.fit(X, y, groups=groups)
        searches.append(model.search_)
        importance = model.importance()
        p_raw = model.predict_proba(Xt)[:, 1]
        train_rate = float(y.mean())
        test_rate = float(yt.mean())
        gap = prevalence_gap(train_rate, test_rate, len(yt))
        prior_info = {"train_rate": train_rate, "test_rate": test_rate, "gap": gap}
        p = p_raw
        target_rate = prior if prior is not None else (test_rate if gap else None)
        if target_rate is not None:
            p = prior_shift(p_raw, train_rate, target_rate)
            prior_info["corrected_to"] = target_rate
            prior_info["source"] = "--prior" if prior is not None else "test churn rate"
            hygiene.append(
                Finding(
                    "prior",
                    [],
                    len(yt),
                    "probabilities corrected",
                    f"probabilities corrected from the training churn rate {train_rate:.1%} to "
                    f"{target_rate:.1%} ({prior_info['source']})",
                )
            )
        if gap:
            warnings.append(
                f"churn rate differs between training ({train_rate:.1%}) and test ({test_rate:.1%}) rows; "
                + (
                    f"probabilities are corrected to the {'given prior' if prior is not None else 'test rate'} "
                    f"{target_rate:.1%}"
                )
            )
        m = metrics(yt, p)
        if target_rate is not None:
            m["brier_uncorrected"] = metrics(yt, p_raw)["brier"]
        mode = "test"
        y_eval, p_eval = yt.astype(float), p
    else:
        if folds < 2:
            raise ConfigError(f"--folds {folds} must be at least 2")
        if int(y.sum()) < folds or int((1 - y).sum()) < folds:
            raise ConfigError(f"{folds}-fold cross-validation needs at least {folds} rows of each class")
        total_budget = budget if budget is not None else folds * default_budget(len(y), X.shape[1])
        fold_of_row = cv_folds(y, groups, folds, seed)
        oof = np.empty(len(y))
        imps = []
        for k in range(folds):
            tr, te = np.flatnonzero(fold_of_row != k), np.flatnonzero(fold_of_row == k)
            model = FlatChurnModel(types=types, random_state=seed, budget=total_budget / folds, **model_kw)
            model.fit(X.iloc[tr], y[tr], groups=None if groups is None else groups[tr])
            searches.append(model.search_)
            imps.append(model.importance())
            oof[te] = model.predict_proba(X.iloc[te])[:, 1]
            fold_metrics.append(metrics(y[te], oof[te]))
        importance = {c: float(np.mean([i[c] for i in imps])) for c in imps[0]}
        m = {k: float(np.mean([f[k] for f in fold_metrics])) for k in fold_metrics[0]}
        m.update(
            {f"{k}_sd": float(np.std([f[k] for f in fold_metrics], ddof=1)) for k in ("roc_auc", "pr_auc")}
        )
        p = oof
        if prior is not None:
            p = prior_shift(oof, float(y.mean()), prior)
            prior_info = {"train_rate": float(y.mean()), "corrected_to": prior, "source": "--prior"}
            hygiene.append(
                Finding(
                    "prior",
                    [],
                    len(y),
                    "probabilities corrected",
                    f"probabilities corrected from the training churn rate {y.mean():.1%} to {prior:.1%} (--prior)",
                )
            )
            m["brier_uncorrected"] = m["brier"]
            m["brier"] = metrics(y, p)["brier"]
        mode = f"{folds}-fold"
        y_eval, p_eval = y.astype(float), p
    if m["roc_auc"] >= TOO_GOOD_AUC:
        warnings.insert(
            0,
            f"ROC-AUC {m['roc_auc']:.3f} is too good to be true for churn: look for columns that record the "
            f"outcome (single-column ROC-AUC of each column is in the JSON, 'leak_scores'; columns at "
            f"≥ {LEAK_AUC} are left out)",
        )
    result = FitTableResult(
        file=file,
        target=tcol,
        mode=mode,
        rows=len(y),
        positives=int(y.sum()),
        adapter=ad.name if ad else None,
        types=types,
        metrics=m,
        folds=fold_metrics,
        test_file=Path(test) if test else None,
        hygiene=hygiene,
        excluded=excluded,
        leak_scores=leak_scores,
        searches=searches,
        budget_s=total_budget,
        test_rows=None if yt is None else len(yt),
        test_positives=None if yt is None else int(yt.sum()),
        prior=prior_info,
        warnings=warnings,
        importance=importance,
        split=split_info,
        y_eval=y_eval,
        p_eval=p_eval,
        fold_of_row=fold_of_row,
        row_index=row_index,
        groups=groups,
    )
    from churnradar.models.flat_report import write_reports

    result.seconds = time.perf_counter() - started
    result.report, result.html = write_reports(result, report)
    return result


def cv_folds(y: np.ndarray, groups: np.ndarray | None, folds: int, seed: int) -> np.ndarray:
    """The fold of each row: stratified on churn, and a row and its duplicates in one fold."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    out = np.empty(len(y), dtype=np.int64)
    if groups is None:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    else:
        splits = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(
            np.zeros(len(y)), y, groups
        )
    for k, (_, te) in enumerate(splits):
        out[te] = k
    return out
