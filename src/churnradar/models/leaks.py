"""Leak guard of ``fit-table``: columns that carry the answer are left out before fitting.

A column is a likely leak when it alone ranks churners almost perfectly — its single-column
ROC-AUC is at least :data:`LEAK_AUC` — or when it is a copy or a function of the churn column.
Numbers are scored by their value (either direction, missing values first or last) and by the
churn rate of their value bins; text columns by the churn rate of each category. Rates are
computed out of fold (each row's rate learnt without the row's fold), so that a column of many
rare values (an identifier) does not look predictive. Only training rows are read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LEAK_AUC = 0.95
#: A column named like an outcome (churn, reason, status, …) is reported from this single-column AUC.
SUSPECT_AUC = 0.80
OUTCOME_WORDS = (
    "churn",
    "cancel",
    "attrition",
    "exit",
    "leave",
    "left",
    "reason",
    "category",
    "status",
    "satisf",
    "score",
    "离网",
    "流失",
    "销户",
    "拆机",
    "原因",
    "状态",
)
#: A cross-validated or test ROC-AUC this high is reported as "too good to be true".
TOO_GOOD_AUC = 0.99


@dataclass
class LeakScore:
    column: str
    auc: float
    detail: str | None  # None: not a leak; else why


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def _codes(values: np.ndarray, numeric: bool, bins: int = 20) -> np.ndarray:
    """Integer codes: a category per text value or per quantile bin of a number; missing its own code."""
    if numeric:
        x = values.astype(float)
        ok = np.isfinite(x)
        codes = np.full(len(x), -1, dtype=np.int64)
        if ok.any():
            edges = np.unique(np.quantile(x[ok], np.linspace(0, 1, bins + 1)[1:-1]))
            codes[ok] = np.searchsorted(edges, x[ok], side="right")
        return codes + 1
    codes, _ = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    return codes.astype(np.int64) + 1


def out_of_fold_rate(codes: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, smooth: float = 10.0):
    """Each row's category churn rate, learnt on the other folds (smoothed towards the overall rate)."""
    from sklearn.model_selection import StratifiedKFold

    k = int(codes.max()) + 1
    out = np.empty(len(y), dtype=float)
    n_min = int(min(y.sum(), len(y) - y.sum()))
    folds = max(2, min(folds, n_min))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(codes, y):
        prior = y[tr].mean()
        s = np.bincount(codes[tr], weights=y[tr], minlength=k)
        n = np.bincount(codes[tr], minlength=k)
        rate = (s + smooth * prior) / (n + smooth)
        out[te] = rate[codes[te]]
    return out


def determines_target(codes: np.ndarray, y: np.ndarray) -> bool:
    """Every value (with at least two rows) has one churn outcome, and such values cover most rows."""
    frame = pd.DataFrame({"c": codes, "y": y})
    g = frame.groupby("c")["y"].agg(["nunique", "size"])
    shared = g[g["size"] >= 2]
    return bool(len(shared) >= 2 and (shared["nunique"] == 1).all() and shared["size"].sum() >= 0.8 * len(y))


def leak_score(name: str, values: np.ndarray, numeric: bool, y: np.ndarray, seed: int = 0) -> LeakScore:
    """The column's single-column ROC-AUC (best of its readings) and whether it is a likely leak."""
    y = np.asarray(y, dtype=float)
    aucs = []
    if numeric:
        x = np.asarray(values, dtype=float)
        finite = np.isfinite(x)
        if finite.any():
            lo, hi = np.nanmin(x[finite]), np.nanmax(x[finite])
            span = (hi - lo) or 1.0
            for fill in (lo - span, hi + span):  # missing values first, then last
                a = _auc(y, np.where(finite, x, fill))
                aucs.append(max(a, 1 - a))
    codes = _codes(np.asarray(values), numeric)
    if int(codes.max()) >= 1:
        aucs.append(_auc(y, out_of_fold_rate(codes, y, seed=seed)))
    auc = max(aucs) if aucs else 0.5
    detail = None
    exact = _exact_codes(values, numeric)
    if exact.max() == 1 and (pd.DataFrame({"c": exact, "y": y}).groupby("c")["y"].nunique() == 1).all():
        detail = "a copy of the churn column"
    elif determines_target(exact, y):
        detail = "every value has a single churn outcome (a function of the churn column)"
    if detail is None and auc >= LEAK_AUC:
        detail = f"single-column ROC-AUC {auc:.3f} ≥ {LEAK_AUC}"
    return LeakScore(name, round(float(auc), 4), detail)


def _exact_codes(values: np.ndarray, numeric: bool) -> np.ndarray:
    s = pd.Series(values, dtype=float if numeric else object)
    return pd.factorize(s, use_na_sentinel=False)[0].astype(np.int64)


def named_like_outcome(column: str, target: str) -> bool:
    """The column's name contains the churn column's name or a word that names an outcome."""
    name = column.casefold()
    return target.casefold() in name or any(w in name for w in OUTCOME_WORDS)


def scan(X: pd.DataFrame, kinds: dict[str, str], y: np.ndarray, seed: int = 0) -> list[LeakScore]:
    """The leak score of every column of ``X`` (numeric or categorical per ``kinds``)."""
    return [leak_score(c, X[c].to_numpy(), kinds[c] == "numeric", y, seed) for c in X.columns]
