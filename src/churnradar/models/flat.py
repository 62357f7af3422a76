"""Churn models on flat tables: one row per customer, a churn column (public datasets, extracts).

``fit_table`` reads a CSV, maps known public datasets to canonical names (``ingest.adapters``),
infers each column's type, encodes the target (Yes/No, True/False, 1/0, …), and either runs
stratified K-fold cross-validation or trains on the file and evaluates on a test file. The model is
:class:`FlatChurnModel`, a small, regularised LightGBM classifier.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnradar.errors import ChurnRadarError, ConfigError

POSITIVE = {"yes", "y", "true", "t", "1", "1.0", "churn", "churned", "left", "是"}
NEGATIVE = {"no", "n", "false", "f", "0", "0.0", "stay", "stayed", "retained", "active", "否"}


class TargetEncodingError(ChurnRadarError):
    """The churn column has values that are not a known yes/no encoding."""


def encode_target(values: pd.Series) -> np.ndarray:
    """0/1 from Yes/No, True/False, 1/0, Y/N, churned/stayed (any case); anything else is an error."""
    if values.isna().any():
        raise TargetEncodingError(
            f"the churn column {values.name!r} has {int(values.isna().sum())} empty values; every row needs one"
        )
    if values.dtype == bool:
        return values.to_numpy().astype(np.int8)
    text = values.astype(str).str.strip().str.lower()
    bad = sorted(set(text) - POSITIVE - NEGATIVE)
    if bad:
        raise TargetEncodingError(
            f"the churn column {values.name!r} has values {bad[:5]} that are not a yes/no encoding; expected "
            "Yes/No, True/False, 1/0, Y/N or churned/stayed"
        )
    y = text.isin(POSITIVE).to_numpy().astype(np.int8)
    if y.min() == y.max():
        raise TargetEncodingError(f"the churn column {values.name!r} has only one class ({text.iloc[0]!r})")
    return y


def infer_types(frame: pd.DataFrame, max_categories: int = 60) -> dict[str, str]:
    """Each column's type: ``numeric``, ``categorical`` or ``id`` (dropped: unique text per row).

    Text columns whose non-blank values parse as numbers (≥ 98%) are numeric, blanks as missing
    (IBM Telco's ``TotalCharges``); low-cardinality text is categorical.
    """
    out: dict[str, str] = {}
    n = len(frame)
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[c] = "numeric"
            continue
        text = s.astype("string").str.strip()
        filled = text[text.notna() & (text != "")]
        num = pd.to_numeric(filled, errors="coerce")
        if len(filled) and num.notna().mean() >= 0.98:
            out[c] = "numeric"
        elif filled.nunique() <= max(max_categories, 0) and filled.nunique() < max(n * 0.5, 2):
            out[c] = "categorical"
        else:
            out[c] = "id"
    return out


class FlatChurnModel:
    """Regularised LightGBM classifier for one-row-per-customer tables (scikit-learn style)."""

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.03,
        num_leaves: int = 4,
        min_child_samples: int = 50,
        feature_fraction: float = 0.7,
        bagging_fraction: float = 0.8,
        reg_lambda: float = 5.0,
        num_threads: int = 1,
        random_state: int = 0,
        types: dict[str, str] | None = None,
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

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        cols = []
        for c in self.columns_:
            if c not in X.columns:
                raise ConfigError(f"column {c!r} is missing; the model was fitted with {self.columns_}")
            s = X[c]
            if c in self.categories_:
                idx = pd.Categorical(s.astype("string").str.strip(), categories=self.categories_[c]).codes
                cols.append(np.where(idx < 0, np.nan, idx).astype(np.float64))
            else:
                if not pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                    s = pd.to_numeric(s.astype("string").str.strip().replace("", None), errors="coerce")
                cols.append(np.asarray(s, dtype=np.float64))
        return np.column_stack(cols) if cols else np.empty((len(X), 0))

    def fit(self, X: pd.DataFrame, y: Any) -> FlatChurnModel:
        import lightgbm as lgb

        types = self.types or infer_types(X)
        self.columns_ = [c for c in X.columns if types.get(c) in ("numeric", "categorical")]
        self.categories_ = {
            c: sorted(X[c].astype("string").str.strip().dropna().unique().tolist())
            for c in self.columns_
            if types[c] == "categorical"
        }
        cat_idx = [i for i, c in enumerate(self.columns_) if c in self.categories_]
        params = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.reg_lambda,
            "cat_smooth": 20,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.num_threads,
            "verbosity": -1,
        }
        ds = lgb.Dataset(
            self._matrix(X),
            label=np.asarray(y, dtype=float),
            feature_name=[f"f{i}" for i in range(len(self.columns_))],
            categorical_feature=cat_idx or "auto",
            params={"verbosity": -1},
        )
        self.booster_ = lgb.train(params, ds, num_boost_round=self.n_estimators)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise ConfigError("this FlatChurnModel is not fitted yet; call fit(X, y) first")
        p = self.booster_.predict(self._matrix(X), num_threads=self.num_threads)
        return np.column_stack([1 - p, p])


@dataclass
class FitTableResult:
    """Metrics of a flat-table fit (cross-validated or on a test file) and where the report is."""

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
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "test_file": str(self.test_file) if self.test_file else None,
            "target": self.target,
            "mode": self.mode,
            "rows": self.rows,
            "positives": self.positives,
            "adapter": self.adapter,
            **{k: round(v, 4) for k, v in self.metrics.items()},
            "folds": [{k: round(v, 4) for k, v in f.items()} for f in self.folds],
            "columns": {
                t: sorted(c for c, tt in self.types.items() if tt == t)
                for t in ("numeric", "categorical", "id")
            },
            "report": str(self.report) if self.report else None,
            "seconds": round(self.seconds, 2),
        }


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read as CSV: {exc}") from None


def _prepare(frame: pd.DataFrame, target: str, id_col: str | None, adapter_name: str):
    from churnradar.ingest.adapters import get_adapter

    adapter = get_adapter(adapter_name, list(frame.columns))
    if adapter is not None:
        frame = adapter.adapt(frame)
        target = adapter.canonical(target)
        id_col = adapter.canonical(id_col) if id_col else None
    if target not in frame.columns:
        raise ConfigError(f"target column {target!r} is not in the file; columns: {', '.join(frame.columns)}")
    if id_col and id_col not in frame.columns:
        raise ConfigError(f"id column {id_col!r} is not in the file; columns: {', '.join(frame.columns)}")
    y = encode_target(frame[target])
    X = frame.drop(columns=[c for c in (target, id_col) if c])
    return X, y, adapter, target


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from churnradar.evaluate.metrics import brier_score, pr_auc, roc_auc, top_decile_lift

    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "top_decile_lift": top_decile_lift(y, p),
        "brier": brier_score(y, p),
    }


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
) -> FitTableResult:
    """Cross-validate (stratified ``folds``) or train on ``file`` and test on ``test``; write a report."""
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    file = Path(file)
    frame = _read(file)
    X, y, ad, tcol = _prepare(frame, target, id_col, adapter)
    types = infer_types(X)
    fold_metrics: list[dict[str, float]] = []
    if test is not None:
        tframe = _read(Path(test))
        Xt, yt, _, _ = _prepare(tframe, target, id_col, adapter)
        model = FlatChurnModel(types=types, random_state=seed, **(params or {})).fit(X, y)
        metrics = _metrics(yt, model.predict_proba(Xt)[:, 1])
        mode = "test"
    else:
        if folds < 2:
            raise ConfigError(f"--folds {folds} must be at least 2")
        if int(y.sum()) < folds or int((1 - y).sum()) < folds:
            raise ConfigError(f"{folds}-fold cross-validation needs at least {folds} rows of each class")
        skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for tr, te in skf.split(X, y):
            model = FlatChurnModel(types=types, random_state=seed, **(params or {})).fit(X.iloc[tr], y[tr])
            fold_metrics.append(_metrics(y[te], model.predict_proba(X.iloc[te])[:, 1]))
        metrics = {k: float(np.mean([f[k] for f in fold_metrics])) for k in fold_metrics[0]}
        metrics.update(
            {f"{k}_sd": float(np.std([f[k] for f in fold_metrics], ddof=1)) for k in ("roc_auc", "pr_auc")}
        )
        mode = f"{folds}-fold"
    result = FitTableResult(
        file=file,
        target=tcol,
        mode=mode,
        rows=len(y),
        positives=int(y.sum()),
        adapter=ad.name if ad else None,
        types=types,
        metrics=metrics,
        folds=fold_metrics,
        test_file=Path(test) if test else None,
        seconds=time.perf_counter() - started,
    )
    result.report = write_report(result, Path(report) if report else Path(f"fit-table-{file.stem}.md"))
    return result


def write_report(r: FitTableResult, path: Path) -> Path:
    """A short Markdown report of a flat-table fit."""
    s = r.summary()
    lines = [
        f"# Churn model on {r.file.name}",
        "",
        f"- date: {date.today().isoformat()}; rows: {r.rows:,}; churners: {r.positives:,} ({r.positives / r.rows:.1%})",
        f"- target: `{r.target}`; adapter: {r.adapter or 'none'}; evaluation: "
        + (
            f"trained on {r.file.name}, tested on {r.test_file.name}"
            if r.test_file
            else f"stratified {r.mode} cross-validation"
        ),
        f"- model: FlatChurnModel (LightGBM, {FlatChurnModel().n_estimators} trees × {FlatChurnModel().num_leaves} leaves)",
        f"- numeric columns: {', '.join(s['columns']['numeric']) or '-'}",
        f"- categorical columns: {', '.join(s['columns']['categorical']) or '-'}",
        f"- dropped (identifier-like): {', '.join(s['columns']['id']) or '-'}",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier"):
        sd = r.metrics.get(f"{k}_sd")
        lines.append(f"| {k} | {r.metrics[k]:.4f}" + (f" ± {sd:.4f}" if sd is not None else "") + " |")
    if r.folds:
        lines += ["", "Per fold ROC-AUC: " + ", ".join(f"{f['roc_auc']:.4f}" for f in r.folds)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
