"""Model capacity chosen from the data (``fit-table``): a small, time-boxed search with early stopping.

The training rows are split once more (stratified on churn; a row and its duplicates stay on the
same side): LightGBM learns on the inner training part and stops adding trees when the log-loss
of the inner validation part has not improved for a while. A short list of shapes — from two-leaf
stumps (an additive model) to 63-leaf trees, with a minimum leaf size that grows with the table —
is tried in a fixed order; the two shapes with the best validation ROC-AUC are then tried at half
the learning rate and with a doubled and halved leaf size. The search stops starting new
configurations when its time budget is spent. The chosen configuration is refitted on all the
training rows with its number of trees scaled to them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from churnradar.errors import ConfigError

CAPACITY = ("num_leaves", "min_child_samples", "learning_rate")
#: Settings of a fixed configuration (``--params``) that does not give them.
DEFAULT_CAPACITY = {"num_leaves": 31, "min_child_samples": 20, "learning_rate": 0.05}
VALID_SHARE = 0.2


@dataclass
class Trial:
    params: dict[str, Any]
    trees: int
    valid_auc: float
    valid_logloss: float
    seconds: float
    stopped_by_budget: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["valid_auc"] = round(d["valid_auc"], 4)
        d["valid_logloss"] = round(d["valid_logloss"], 4)
        d["seconds"] = round(d["seconds"], 2)
        return d


@dataclass
class SearchResult:
    """What the search tried and chose; ``params`` holds the refit's settings (trees included)."""

    params: dict[str, Any]
    trials: list[Trial] = field(default_factory=list)
    budget_s: float | None = None
    seconds: float = 0.0
    candidates: int = 0
    budget_reached: bool = False
    fixed: bool = False
    inner_rows: int = 0
    valid_rows: int = 0
    valid_positives: int = 0
    #: Why no search ran (e.g. no month left to validate on); None when one ran or was not asked for.
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        extra = {} if self.skipped is None else {"skipped": self.skipped}
        return extra | {
            "params": self.params,
            "fixed": self.fixed,
            "budget_s": None if self.budget_s is None else round(self.budget_s, 1),
            "seconds": round(self.seconds, 2),
            "tried": len(self.trials),
            "candidates": self.candidates,
            "budget_reached": self.budget_reached,
            "inner_rows": self.inner_rows,
            "valid_rows": self.valid_rows,
            "valid_positives": self.valid_positives,
            "trials": [t.to_dict() for t in self.trials],
        }


def default_budget(rows: int, columns: int) -> float:
    """Seconds for one search: 10 s for a small table, growing with its cells, at most 120 s."""
    return float(np.clip(10 + rows * max(columns, 1) / 20_000, 10, 120))


def learning_rate_for(rows: int) -> float:
    return 0.05 if rows <= 200_000 else 0.1


def candidates(rows: int) -> list[dict[str, Any]]:
    """The shapes tried first, in order; the minimum leaf size grows with the table."""
    lr = learning_rate_for(rows)
    base = 20 if rows >= 2_000 else max(5, rows // 100)
    big = int(np.clip(rows // 40, base, 200))
    out = [
        {"num_leaves": 31, "min_child_samples": base, "learning_rate": lr},
        {"num_leaves": 4, "min_child_samples": big, "learning_rate": lr},
        {"num_leaves": 15, "min_child_samples": base, "learning_rate": lr},
        {"num_leaves": 2, "min_child_samples": base, "learning_rate": lr},
        {"num_leaves": 8, "min_child_samples": 2 * base, "learning_rate": lr},
    ]
    if rows >= 3_000:
        out.append({"num_leaves": 63, "min_child_samples": max(5, base // 2), "learning_rate": lr})
    return out


def refinements(best: list[dict[str, Any]], rows: int) -> list[dict[str, Any]]:
    out = []
    for p in best:
        out.append({**p, "learning_rate": p["learning_rate"] / 2})
        out.append({**p, "min_child_samples": min(2 * p["min_child_samples"], max(rows // 10, 2))})
        out.append({**p, "min_child_samples": max(2, p["min_child_samples"] // 2)})
    return out


def inner_split(y: np.ndarray, groups: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the inner training and validation parts (stratified, groups kept together)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    k = round(1 / VALID_SHARE)
    n_min = int(min(y.sum(), len(y) - y.sum()))
    if n_min < 2:
        raise ConfigError("too few rows of one churn class to hold some out for validation")
    k = max(2, min(k, n_min))
    if groups is None:
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
        return next(splitter.split(np.zeros(len(y)), y))
    splitter = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
    return next(splitter.split(np.zeros(len(y)), y, groups))


class _Stop:
    """Early stopping on the first validation metric (lower is better) and a wall-clock deadline."""

    order = 30

    def __init__(self, patience: int, deadline: float):
        self.patience = patience
        self.deadline = deadline
        self.best = np.inf
        self.best_iter = 0
        self.best_list: list = []
        self.by_budget = False

    def __call__(self, env) -> None:
        import lightgbm as lgb

        value = env.evaluation_result_list[0][2]
        if value < self.best - 1e-12:
            self.best, self.best_iter, self.best_list = value, env.iteration, env.evaluation_result_list
        late = time.perf_counter() > self.deadline
        if env.iteration - self.best_iter >= self.patience or late:
            self.by_budget = late and env.iteration - self.best_iter < self.patience
            raise lgb.callback.EarlyStopException(self.best_iter, self.best_list)


def run_stages(
    result: SearchResult,
    first: list[dict[str, Any]],
    refine: Any,
    run: Any,
    deadline: float,
) -> None:
    """Fit ``first`` in order, then ``refine(two best params)``; each configuration once, and none
    started once ``deadline`` has passed (the first always runs). Trials go into ``result``."""
    stages = [first]
    seen: set[tuple] = set()
    stage = 0
    while stage < len(stages):
        for p in stages[stage]:
            key = tuple(sorted(p.items()))
            if key in seen:
                continue
            seen.add(key)
            result.candidates += 1
            if result.trials and time.perf_counter() >= deadline:
                result.budget_reached = True
                continue
            result.trials.append(run(p))
        if stage == 0 and refine is not None:
            best = sorted(result.trials, key=lambda t: (-t.valid_auc, t.valid_logloss))[:2]
            stages.append(refine([t.params for t in best]))
        stage += 1
    result.budget_reached = result.budget_reached or any(t.stopped_by_budget for t in result.trials)


def lgb_params(p: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    out["num_leaves"] = int(p["num_leaves"])
    out["min_data_in_leaf"] = int(p["min_child_samples"])
    out["learning_rate"] = float(p["learning_rate"])
    out["max_depth"] = -1
    return out


def search(
    X: np.ndarray,
    y: np.ndarray,
    *,
    base: dict[str, Any],
    categorical: list[int],
    groups: np.ndarray | None = None,
    budget: float | None = None,
    seed: int = 0,
    fixed: dict[str, Any] | None = None,
) -> SearchResult:
    """Choose num_leaves, min_child_samples, learning_rate and the number of trees (see module doc).

    With ``fixed`` only that configuration is fitted (its unset settings from
    :data:`DEFAULT_CAPACITY`); the number of trees still comes from early stopping."""
    import lightgbm as lgb
    from sklearn.metrics import log_loss, roc_auc_score

    started = time.perf_counter()
    rows = len(y)
    if budget is None:
        budget = default_budget(rows, X.shape[1])
    deadline = started + budget
    tr, va = inner_split(y, groups, seed)
    ds_params = {"verbosity": -1, "feature_pre_filter": False}
    cat = categorical or "auto"
    dtrain = lgb.Dataset(X[tr], label=y[tr], categorical_feature=cat, params=ds_params, free_raw_data=False)
    dvalid = lgb.Dataset(X[va], label=y[va], reference=dtrain, categorical_feature=cat, params=ds_params)
    result = SearchResult(
        params={},
        budget_s=budget,
        inner_rows=len(tr),
        valid_rows=len(va),
        valid_positives=int(y[va].sum()),
        fixed=fixed is not None,
    )

    def run(p: dict[str, Any]) -> Trial:
        t0 = time.perf_counter()
        lr = float(p["learning_rate"])
        stop = _Stop(patience=int(max(30, 5 / lr)), deadline=deadline)
        booster = lgb.train(
            lgb_params(p, base) | {"metric": "binary_logloss"},
            dtrain,
            num_boost_round=int(max(200, 250 / lr)),
            valid_sets=[dvalid],
            callbacks=[stop],
        )
        trees = max(1, booster.best_iteration or booster.current_iteration())
        pv = booster.predict(X[va], num_iteration=trees, num_threads=base.get("num_threads", 1))
        return Trial(
            params=dict(p),
            trees=trees,
            valid_auc=float(roc_auc_score(y[va], pv)),
            valid_logloss=float(log_loss(y[va], np.clip(pv, 1e-7, 1 - 1e-7))),
            seconds=time.perf_counter() - t0,
            stopped_by_budget=stop.by_budget,
        )

    first = (
        [DEFAULT_CAPACITY | {k: v for k, v in fixed.items() if k in CAPACITY}] if fixed is not None else None
    )
    run_stages(
        result, first or candidates(rows), None if fixed else (lambda b: refinements(b, rows)), run, deadline
    )
    best = max(result.trials, key=lambda t: (t.valid_auc, -t.valid_logloss))
    scale = rows / max(len(tr), 1)
    result.params = {**best.params, "n_estimators": max(1, round(best.trees * scale))}
    result.seconds = time.perf_counter() - started
    return result


# -- the hazard model (``train``) ------------------------------------------------------------------
#: The hazard model's settings when none is searched (``--params`` gives the rest, or a history too
#: short for a validation month).
HAZARD_DEFAULT = {"num_leaves": 7, "min_child_samples": 200, "learning_rate": 0.08, "n_estimators": 120}
HAZARD_KEYS = (*CAPACITY, "n_estimators")
#: Most trees one trial may grow before early stopping ends it.
HAZARD_MAX_TREES = 800


def hazard_budget(rows: int, columns: int) -> float:
    """Seconds for the hazard model's search: 20 s, growing with the training cells, at most 240 s."""
    return float(np.clip(20 + rows * max(columns, 1) / 1_500_000, 20, 240))


def hazard_candidates() -> list[dict[str, Any]]:
    """Shapes tried first, in order (the search may stop after the first ones when time runs out):
    the previous fixed shape, deeper and shallower trees, stumps (an additive model)."""
    return [
        {"num_leaves": 7, "min_child_samples": 200, "learning_rate": 0.08},
        {"num_leaves": 15, "min_child_samples": 200, "learning_rate": 0.08},
        {"num_leaves": 4, "min_child_samples": 400, "learning_rate": 0.08},
        {"num_leaves": 31, "min_child_samples": 400, "learning_rate": 0.08},
        {"num_leaves": 2, "min_child_samples": 200, "learning_rate": 0.08},
    ]


def hazard_refinements(best: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for p in best:
        out.append({**p, "learning_rate": p["learning_rate"] / 2})
        out.append({**p, "min_child_samples": 2 * p["min_child_samples"]})
        out.append({**p, "min_child_samples": max(20, p["min_child_samples"] // 2)})
    return out


def check_hazard_params(params: dict[str, Any]) -> dict[str, Any]:
    """``--params`` for the hazard model: known keys with valid values, else a :class:`ConfigError`."""
    unknown = sorted(set(params) - set(HAZARD_KEYS))
    if unknown:
        raise ConfigError(
            f"--params {unknown} not known for the hazard model; expected any of {list(HAZARD_KEYS)}"
        )
    for k in ("num_leaves", "min_child_samples", "n_estimators"):
        v = params.get(k)
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, int) or v < (2 if k == "num_leaves" else 1)
        ):
            least = 2 if k == "num_leaves" else 1
            raise ConfigError(f"--params {k}={v!r} is not valid; expected a whole number ≥ {least}")
    lr = params.get("learning_rate")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr <= 1):
        raise ConfigError(f"--params learning_rate={lr!r} is not valid; expected a number in (0, 1]")
    return dict(params)


def search_hazard(
    train: tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray | None],
    valid: tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray | None],
    *,
    base: dict[str, Any],
    feature_name: list[str],
    categorical: list[str],
    budget: float | None = None,
    fixed: dict[str, Any] | None = None,
) -> SearchResult:
    """Capacity of the hazard booster chosen on a later validation month (see ``ChurnHazardModel``).

    ``train`` and ``valid`` are (feature blocks, events, init scores, weights or None): the
    training slice's rows whose outcome month is before its last one, and those of the last one.
    Trials stop adding trees when the validation log-loss has not improved for a while; the trial
    with the best (weighted) validation ROC-AUC is chosen and its trees scaled to all training
    rows. ``fixed`` (``--params``) fits that one configuration (unset settings from
    :data:`HAZARD_DEFAULT`), its trees from early stopping unless it sets ``n_estimators``.
    """
    import lightgbm as lgb
    from sklearn.metrics import log_loss, roc_auc_score

    started = time.perf_counter()
    tb, ty, ti, tw = train
    vb, vy, vi, vw = valid
    n_inner, n_valid = len(ty), len(vy)
    cols = len(feature_name)
    if budget is None:
        budget = hazard_budget(n_inner + n_valid, cols)
    deadline = started + budget
    ds_params = {"verbosity": -1, "max_bin": 255, "feature_pre_filter": False}
    cat = categorical or "auto"

    def data(blocks: list[np.ndarray]) -> Any:
        return blocks[0] if len(blocks) == 1 else list(blocks)

    dtrain = lgb.Dataset(
        data(tb), label=ty, weight=tw, init_score=ti, feature_name=feature_name,
        categorical_feature=cat, params=ds_params, free_raw_data=True,
    )  # fmt: skip
    dvalid = lgb.Dataset(
        data(vb), label=vy, weight=vw, init_score=vi, reference=dtrain, feature_name=feature_name,
        categorical_feature=cat, params=ds_params, free_raw_data=True,
    )  # fmt: skip
    result = SearchResult(
        params={},
        budget_s=budget,
        inner_rows=n_inner,
        valid_rows=n_valid,
        valid_positives=int(np.asarray(vy).sum()),
        fixed=fixed is not None,
    )
    threads = int(base.get("num_threads", 1))

    def run(p: dict[str, Any]) -> Trial:
        t0 = time.perf_counter()
        lr = float(p["learning_rate"])
        stop = _Stop(patience=int(max(20, 2 / lr)), deadline=deadline)
        booster = lgb.train(
            lgb_params(p, base) | {"metric": "binary_logloss", "max_depth": base.get("max_depth", -1)},
            dtrain,
            num_boost_round=HAZARD_MAX_TREES,
            valid_sets=[dvalid],
            callbacks=[stop],
        )
        trees = max(1, booster.best_iteration or booster.current_iteration())
        raw = np.concatenate(
            [booster.predict(b, num_iteration=trees, raw_score=True, num_threads=threads) for b in vb]
        )
        pv = 1 / (1 + np.exp(-(raw + vi)))
        return Trial(
            params=dict(p),
            trees=trees,
            valid_auc=float(roc_auc_score(vy, pv, sample_weight=vw)),
            valid_logloss=float(log_loss(vy, np.clip(pv, 1e-7, 1 - 1e-7), sample_weight=vw)),
            seconds=time.perf_counter() - t0,
            stopped_by_budget=stop.by_budget,
        )

    first = hazard_candidates()
    if fixed is not None:
        first = [{k: fixed.get(k, HAZARD_DEFAULT[k]) for k in CAPACITY}]
    run_stages(result, first, None if fixed is not None else hazard_refinements, run, deadline)
    best = max(result.trials, key=lambda t: (t.valid_auc, -t.valid_logloss))
    scale = (n_inner + n_valid) / max(n_inner, 1)
    result.params = {**best.params, "n_estimators": max(1, round(best.trees * scale))}
    result.seconds = time.perf_counter() - started
    return result
