"""Benchmark of the churn model: training, scoring and reasons, each beside its baseline.

Targets (issue): train on 1,000,000 subscriber-months; score 1,000,000 subscribers at ≥ 300,000
probability rows/s; reason codes for all 1,000,000 in under 2 minutes, with the agreement of the
fast (path) reasons with exact TreeSHAP reported on a sample.

Also the issue's accuracy figures, so that one run records them beside the speed:

- real data (``--data``, default ``shared/data`` beside the repository): IBM Telco 5-fold ROC-AUC
  and BigML churn-80 → churn-20 ROC-AUC through ``fit_table`` (what ``churnradar fit-table`` runs);
- ``baselines``: ``fit_table`` beside a default ``HistGradientBoostingClassifier()`` and a logistic
  regression on the same splits, for both public sets and variants built from them (a planted leak,
  10% duplicate rows, a numeric id, an oversampled training file) and a synthetic interaction table;
  ratios of ROC-AUC and top-decile lift, and whether the planted item is reported in the JSON;
- the rolling-origin backtest on the simulated operator (3 origins ending at ``--as-of``): hazard
  model against the logistic and ARPU-rule baselines, ECE, horizon monotonicity;
- the top reason against the simulator's true reason (``_truth/churn_truth``) among true churners
  in the top risk decile at ``--as-of``, reasons as ``churnradar score`` gives them (exact TreeSHAP
  for the riskiest 10%).

Data: a simulated operator (default 100,000 subscribers × 12 months, seed 5) gives the training
panel (about 1M subscriber-months over 4 feature months); its feature table at the as-of month is
repeated to 1,000,000 rows (ids made unique) for scoring and reasons.

    python benchmarks/bench_model.py                          # full run (~10 min here)
    python benchmarks/bench_model.py --subscribers 20000 --score-rows 200000   # quick
    python benchmarks/bench_model.py --only baselines                         # fit-table vs baselines
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent


def _timed(fn, *a, **k):
    t, c = time.perf_counter(), time.process_time()
    out = fn(*a, **k)
    return out, time.perf_counter() - t, time.process_time() - c


def build_store(work: Path, subscribers: int, months: int, seed: int) -> Path:
    from churnradar.ingest import ingest
    from churnradar.simulate import simulate

    store = work / "store.duckdb"
    if store.exists():
        return store
    simulate(subscribers=subscribers, months=months, seed=seed, out=work / "data", fmt="parquet")
    ingest([work / "data"], store=store, key="bench-key-not-secret")
    return store


def repeat_rows(table: pa.Table, n: int) -> pa.Table:
    reps = -(-n // table.num_rows)
    parts = []
    for r in range(reps):
        ids = pa.array([f"{s}#{r}" for s in table.column("subscriber_id").to_pylist()])
        parts.append(table.set_column(0, "subscriber_id", ids))
    return pa.concat_tables(parts).slice(0, n)


def real_data(root: Path, work: Path) -> dict:
    """ROC-AUC on the public datasets, as ``churnradar fit-table`` computes it."""
    from churnradar.models.flat import fit_table

    runs = {
        "ibm_telco_5fold": (root / "ibm-telco" / "Telco-Customer-Churn.csv", "Churn", "customerID", None),
        "bigml_80_to_20": (
            root / "bigml-churn" / "churn-bigml-80.csv",
            "Churn",
            None,
            root / "bigml-churn" / "churn-bigml-20.csv",
        ),
    }
    res: dict = {}
    for name, (file, target, id_col, test) in runs.items():
        if not file.exists():
            res[name] = {"skipped": f"{file.name} not found"}
            continue
        r = fit_table(file, target, id_col=id_col, folds=5, test=test, report=work / f"{name}.md")
        res[name] = {
            "mode": r.mode,
            "rows": r.rows,
            "positives": r.positives,
            "adapter": r.adapter,
            **{k: round(float(v), 4) for k, v in r.metrics.items()},
            "fold_roc_auc": [round(float(f["roc_auc"]), 4) for f in r.folds],
            "seconds": round(r.seconds, 1),
        }
        if test is None:  # how much the cross-validated figure moves with the fold split
            res[name]["roc_auc_by_split_seed"] = [
                round(
                    float(
                        fit_table(
                            file, target, id_col=id_col, folds=5, seed=seed, report=work / f"{name}.md"
                        ).metrics["roc_auc"]
                    ),
                    4,
                )
                for seed in range(5)
            ]
    return res


#: fit-table's model before the capacity search (kept for comparison)
PREVIOUS_DEFAULT = {"num_leaves": 4, "min_child_samples": 50, "learning_rate": 0.03, "n_estimators": 300}


# -- fit-table against plain baselines ---------------------------------------------------------------


def _baseline_frame(frame, drop: list[str]):
    """What a plain scikit-learn user would feed a model: text columns of numbers as numbers, other
    text as categories, the target and the declared id left out."""
    import pandas as pd

    X = frame.drop(columns=[c for c in drop if c in frame.columns]).copy()
    for c in X.columns:
        if X[c].dtype == object or X[c].dtype == bool:
            num = pd.to_numeric(X[c].astype(str).str.strip().replace("", None), errors="coerce")
            if num.notna().mean() >= 0.95:
                X[c] = num
            else:
                X[c] = X[c].astype(str).astype("category")
    return X


def _baselines(Xtr, ytr, Xte) -> dict:
    """Default HistGradientBoostingClassifier and logistic regression (one-hot, standardised)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats = [c for c in Xtr.columns if isinstance(Xtr[c].dtype, pd.CategoricalDtype)]
    Xte = Xte.copy()
    for c in cats:  # the test rows read with the training categories
        Xte[c] = pd.Categorical(Xte[c].astype(str), categories=Xtr[c].cat.categories)
    hgb = HistGradientBoostingClassifier().fit(Xtr, ytr).predict_proba(Xte)[:, 1]
    nums = [c for c in Xtr.columns if c not in cats]
    ct = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
            ("cat", OneHotEncoder(handle_unknown="ignore"), cats),
        ]
    )
    to_obj = {c: object for c in cats}
    lr = make_pipeline(ct, LogisticRegression(max_iter=2000))
    lr.fit(Xtr.astype(to_obj), ytr)
    return {"histgb": hgb, "logistic": lr.predict_proba(Xte.astype(to_obj))[:, 1]}


def _scores(y, p) -> dict:
    from churnradar.models.flat import metrics

    m = metrics(y, p)
    return {k: round(float(m[k]), 4) for k in ("roc_auc", "top_decile_lift", "pr_auc", "brier")}


def _variants(root: Path, work: Path) -> dict:
    """The two public sets and variants built from them: a planted leak, 10% duplicate rows, a
    numeric id column, an oversampled training file (positives duplicated to 50%)."""
    import pandas as pd

    telco = root / "ibm-telco" / "Telco-Customer-Churn.csv"
    b80 = root / "bigml-churn" / "churn-bigml-80.csv"
    b20 = root / "bigml-churn" / "churn-bigml-20.csv"
    rng = np.random.default_rng(7)
    out: dict = {}
    if telco.exists():
        out["telco_5fold"] = {"file": telco, "target": "Churn", "id": "customerID"}
        t = pd.read_csv(telco, dtype=str, keep_default_na=False)
        y = (t["Churn"] == "Yes").to_numpy()
        leak = t.copy()  # a satisfaction-style score that records the outcome: noisy copy of the target
        leak["RetentionScore"] = np.clip(np.round(50 * y + rng.normal(25, 15, len(t))), 0, 100).astype(int)
        leak.to_csv(work / "telco_leak.csv", index=False)
        out["telco_leak"] = {
            "file": work / "telco_leak.csv",
            "target": "Churn",
            "id": "customerID",
            "planted": "RetentionScore",
            "baseline_drop": ["RetentionScore"],
        }
        dup = pd.concat([t, t.sample(frac=0.10, random_state=7)], ignore_index=True)
        dup = dup.sample(frac=1.0, random_state=8).reset_index(drop=True)
        dup.to_csv(work / "telco_dups.csv", index=False)
        out["telco_dups"] = {
            "file": work / "telco_dups.csv",
            "target": "Churn",
            "id": "customerID",
            "planted": "dups",
        }
    if b80.exists() and b20.exists():
        out["bigml_80_to_20"] = {"file": b80, "target": "Churn", "test": b20}
        a, b = (
            pd.read_csv(b80, dtype=str, keep_default_na=False),
            pd.read_csv(b20, dtype=str, keep_default_na=False),
        )
        ids = rng.permutation(np.arange(3_000_000, 3_000_000 + len(a) + len(b)))
        a2, b2 = a.copy(), b.copy()
        a2.insert(0, "CustomerNumber", ids[: len(a)])
        b2.insert(0, "CustomerNumber", ids[len(a) :])
        a2.to_csv(work / "bigml_id_80.csv", index=False)
        b2.to_csv(work / "bigml_id_20.csv", index=False)
        out["bigml_numeric_id"] = {
            "file": work / "bigml_id_80.csv",
            "target": "Churn",
            "test": work / "bigml_id_20.csv",
            "planted": "CustomerNumber",
        }
        pos = a[a["Churn"] == "True"]
        extra = pos.sample(n=int((a["Churn"] == "False").sum() - len(pos)), replace=True, random_state=9)
        over = pd.concat([a, extra], ignore_index=True).sample(frac=1.0, random_state=10)
        over.to_csv(work / "bigml_oversampled_80.csv", index=False)
        out["bigml_oversampled"] = {
            "file": work / "bigml_oversampled_80.csv",
            "target": "Churn",
            "test": b20,
            "planted": "oversampled",
        }
    # not a public set: churn driven by three-way interactions, where small trees fall short
    n = 20_000
    x = rng.normal(size=(n, 6))
    plan = rng.choice(["prepaid", "postpaid", "family", "data"], size=n)
    logit = (
        -2.0
        + 2.5 * (x[:, 0] > 0) * (x[:, 1] > 0) * (x[:, 2] > 0)
        - 1.5 * (x[:, 0] < 0) * (x[:, 1] < 0) * (x[:, 3] > 0.5)
        + 1.2 * np.sin(3 * x[:, 4]) * x[:, 5]
        + 1.0 * (plan == "prepaid") * (x[:, 3] > 0) * (x[:, 5] < 0)
    )
    churn = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    syn = pd.DataFrame(np.round(x, 4), columns=[f"x{i}" for i in range(6)]).assign(
        plan=plan, Churn=np.where(churn, "Yes", "No")
    )
    syn.to_csv(work / "synthetic_interactions.csv", index=False)
    out["synthetic_interactions_5fold"] = {"file": work / "synthetic_interactions.csv", "target": "Churn"}
    return out


def side_by_side(root: Path, work: Path, budget: float | None = None) -> dict:
    """fit-table against a default HistGradientBoostingClassifier and logistic regression on the
    same splits (the folds fit-table used; the same training and test files)."""
    import pandas as pd

    from churnradar.models.flat import fit_table

    res: dict = {}
    for name, case in _variants(root, work).items():
        t0 = time.perf_counter()
        r = fit_table(
            case["file"],
            case["target"],
            id_col=case.get("id"),
            test=case.get("test"),
            folds=5,
            budget=budget,
            report=work / "reports",
        )
        seconds = time.perf_counter() - t0
        s = r.summary()
        old = fit_table(  # the previous fixed default: 300 trees × 4 leaves, rate 0.03
            case["file"],
            case["target"],
            id_col=case.get("id"),
            test=case.get("test"),
            folds=5,
            params=PREVIOUS_DEFAULT,
            report=work / "reports_fixed",
        )
        raw = pd.read_csv(case["file"], dtype=str, keep_default_na=False)
        drop = [case["target"], *([case["id"]] if case.get("id") else []), *case.get("baseline_drop", [])]
        ytrue = r.y_eval
        if case.get("test") is None:
            X = _baseline_frame(raw.iloc[r.row_index].reset_index(drop=True), drop)
            y = (
                raw[case["target"]].iloc[r.row_index].str.strip().str.lower().isin(["yes", "true", "1"])
            ).to_numpy()
            base = {"histgb": np.empty(len(y)), "logistic": np.empty(len(y))}
            for k in np.unique(r.fold_of_row):
                tr, te = r.fold_of_row != k, r.fold_of_row == k
                b = _baselines(X[tr], y[tr], X[te])
                for m in base:
                    base[m][te] = b[m]
            folds = [np.flatnonzero(r.fold_of_row == k) for k in np.unique(r.fold_of_row)]
            mean = {
                m: {
                    k: round(float(np.mean([_scores(y[f], p[f])[k] for f in folds])), 4)
                    for k in ("roc_auc", "top_decile_lift", "pr_auc", "brier")
                }
                for m, p in base.items()
            }
        else:
            test = pd.read_csv(case["test"], dtype=str, keep_default_na=False)
            both = _baseline_frame(pd.concat([raw, test], ignore_index=True), drop)
            X, Xt = both.iloc[: len(raw)], both.iloc[len(raw) :]
            y = raw[case["target"]].str.strip().str.lower().isin(["yes", "true", "1"]).to_numpy()
            base = _baselines(X, y, Xt)
            mean = {m: _scores(ytrue, p) for m, p in base.items()}
        fit = {k: round(float(s[k]), 4) for k in ("roc_auc", "top_decile_lift", "pr_auc", "brier")}
        rules = {f["rule"] for f in s["hygiene"]}
        excluded = {e["column"]: e["reason"] for e in s["excluded"]}
        planted = case.get("planted")
        reported = None
        if planted == "dups":
            reported = "duplicate_rows" in rules
        elif planted == "oversampled":
            reported = "duplicate_rows" in rules and bool(s.get("prior", {}).get("gap"))
        elif planted:
            reported = planted in excluded
        res[name] = {
            "mode": r.mode,
            "train_rows": r.rows,
            "test_rows": r.test_rows,
            "fit_table": fit,
            "fixed_300x4": {k: round(float(old.metrics[k]), 4) for k in ("roc_auc", "top_decile_lift")},
            "histgb": mean["histgb"],
            "logistic": mean["logistic"],
            "ratio_auc_vs_histgb": round(fit["roc_auc"] / mean["histgb"]["roc_auc"], 4),
            "ratio_lift_vs_histgb": round(fit["top_decile_lift"] / mean["histgb"]["top_decile_lift"], 4),
            "params": s["params"],
            "search_s": s["search"]["seconds"],
            "budget_s": s["search"]["budget_s"],
            "excluded": s["excluded"],
            "hygiene_rules": sorted(rules),
            "planted": planted,
            "planted_reported": reported,
            "warnings": s["warnings"],
            "seconds": round(seconds, 1),
        }
        print(json.dumps({name: res[name]}), file=sys.stderr, flush=True)
    return res


def _capacity(model) -> dict:
    """The hazard booster's capacity and the search that chose it (without the trial list)."""
    s = model.hazard.search_summary()
    keep = ("fixed", "budget_s", "seconds", "tried", "candidates", "budget_reached", "valid_rows", "skipped")
    return {**model.hazard.capacity_, **{k: s[k] for k in keep if k in s}}


def simulated_backtest(data, as_of) -> tuple[dict, dict]:
    """Three rolling origins ending at ``as_of``: hazard vs the two baselines (what ``churnradar backtest`` runs)."""
    from churnradar.evaluate.backtest import run_backtest
    from churnradar.periods import add_months

    months = [add_months(as_of, -i) for i in (2, 1, 0)]
    (r, t, c) = _timed(run_backtest, data, months)
    means = {h: r.means(h) for h in r.horizons}
    beats = all(
        means[h]["hazard"][k] > means[h][b][k]
        for h in r.horizons
        for b in ("logistic", "arpu_rule")
        for k in ("roc_auc", "top_decile_lift")
    )
    hz = [x for x in r.rows if x["model"] == "hazard"]
    return {
        "origins": [f"{m:%Y-%m}" for m in r.origins],
        "means": {
            str(h): {m: {k: round(float(v), 4) for k, v in d.items()} for m, d in means[h].items()}
            for h in r.horizons
        },
        "hazard_beats_both_baselines_on_auc_and_lift": beats,
        "hazard_ece_max": round(max(x["ece"] for x in hz), 4),
        "hazard_ece_by_origin_horizon": {f"{x['origin']} {x['horizon']}m": round(x["ece"], 4) for x in hz},
        "monotone_violations": r.monotone_violations,
        "rows_per_origin": [x["n"] for x in hz if x["horizon"] == r.horizon],
        "capacity_by_origin": {f"{t:%Y-%m}": _capacity(m) for t, m in r.models.items()},
        "seconds": round(t, 1),
        "cpu_s": round(c, 1),
    }, r.models


def truth_agreement(data, as_of, feats, truth: Path, model=None) -> dict:
    """Top reason vs the simulator's true reason, scores and reasons as ``churnradar score`` makes them."""
    import pyarrow.compute as pc

    from churnradar.evaluate.reasons import reason_agreement
    from churnradar.models.pipeline import DEFAULT_EXACT_SHARE, finish_scores, fit_churn_model

    if model is None:  # the backtest's last origin's model is what `train --as-of` gives
        model, _ = fit_churn_model(data, as_of)
    scored = model.score(feats, reasons="path")

    def top_features(ids):
        return feats.filter(pc.is_in(feats.column("subscriber_id"), value_set=ids))

    table, n_exact = finish_scores(model, scored, top_features, as_of, "bench", DEFAULT_EXACT_SHARE)
    r = reason_agreement(table.to_pandas(), truth, as_of)
    return {"exact_rows": n_exact, **r}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--as-of", default="2024-06")
    ap.add_argument("--score-rows", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2, help="threads for scoring (numba and LightGBM)")
    ap.add_argument("--sample", type=int, default=5_000, help="rows for the path-vs-exact agreement")
    ap.add_argument("--work", type=Path, default=None, help="folder to keep the simulated store in")
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data", help="public datasets")
    ap.add_argument(
        "--only",
        nargs="+",
        choices=("real", "baselines", "speed", "backtest", "truth"),
        default=("real", "baselines", "speed", "backtest", "truth"),
    )
    ap.add_argument("--budget", type=float, default=None, help="fit-table search budget (default: its own)")
    args = ap.parse_args(argv)

    import numba

    from churnradar.evaluate.backtest import LogisticHazard
    from churnradar.models.pipeline import DEFAULT_EXACT_SHARE, TrainingData, fit_churn_model
    from churnradar.periods import parse_month
    from churnradar.store.backends import open_backend

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_model_"))
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        | {"work": str(work)},
        "load_average_start": [round(x, 2) for x in __import__("os").getloadavg()],
    }
    if "real" in args.only:
        out["real_data"] = real_data(args.data, work)
        print(json.dumps(out["real_data"]), file=sys.stderr, flush=True)
    if "baselines" in args.only:
        out["fit_table_vs_baselines"] = side_by_side(args.data, work, args.budget)
    if not {"speed", "backtest", "truth"} & set(args.only):
        print(json.dumps(out, indent=2))
        return 0
    _, t_build, _ = _timed(build_store, work, args.subscribers, args.months, args.seed)
    out["build_store_s"] = round(t_build, 1)
    as_of = parse_month(args.as_of)
    bk = open_backend(work / "store.duckdb")
    data = TrainingData(bk)
    for m in (4, 3, 2, 1):  # feature months of the training window, computed before the timing
        from churnradar.periods import add_months

        data.features(add_months(as_of, -m))
        data.labels(add_months(as_of, -m))
    feats = data.features(as_of)

    models: dict = {}
    if "backtest" in args.only:
        out["backtest"], models = simulated_backtest(data, as_of)
        print(json.dumps(out["backtest"]), file=sys.stderr, flush=True)
    if "truth" in args.only:
        truth = work / "data" / "_truth" / "churn_truth.parquet"
        out["truth"] = truth_agreement(data, as_of, feats, truth, models.get(as_of))
        print(json.dumps(out["truth"]), file=sys.stderr, flush=True)
    bk.close()  # the backtest read its earlier months; training below uses the cached ones
    if "speed" not in args.only:
        out["load_average_end"] = [round(x, 2) for x in __import__("os").getloadavg()]
        print(json.dumps(out, indent=2))
        return 0

    # -- training -------------------------------------------------------------------------------
    (model, panel), t_train, c_train = _timed(fit_churn_model, data, as_of)
    _, t_lr, _ = _timed(LogisticHazard().fit, panel)
    out["train"] = {
        "panel_rows": panel.num_rows,
        "features": len(model.hazard.encoder_.columns_),
        "trees": model.hazard.booster_.num_trees(),
        "hazard_lightgbm_s": round(t_train, 1),
        "hazard_cpu_s": round(c_train, 1),
        "baseline_logistic_s": round(t_lr, 1),
        "ratio_hazard_vs_logistic": round(t_train / t_lr, 2),
    }
    print(json.dumps(out["train"]), file=sys.stderr, flush=True)

    # -- scoring --------------------------------------------------------------------------------
    numba.set_num_threads(args.threads)
    model.hazard.num_threads = args.threads
    big = repeat_rows(feats, args.score_rows)
    X, t_enc, c_enc = _timed(model.hazard.transform_features, big)
    model.trees.predict_raw(X[:1000])  # compile (cached on disk after the first run)
    raw, t_raw, c_raw = _timed(model.trees.predict_raw, X)
    lgb_raw, t_lgb, c_lgb = _timed(model.hazard.booster_.predict, X, raw_score=True, num_threads=args.threads)
    probs, t_prob, c_prob = _timed(model.hazard.proba_from_raw, raw)
    _, t_score, _ = _timed(model.score, big, reasons=None)
    n = big.num_rows
    out["score"] = {
        "rows": n,
        "encode_s": round(t_enc, 2),
        "compiled_trees_s": round(t_raw, 2),
        "baseline_lightgbm_predict_s": round(t_lgb, 2),
        "ratio_compiled_vs_lightgbm": round(t_lgb / t_raw, 2),
        "max_abs_diff_vs_lightgbm": float(np.abs(raw - lgb_raw).max()),
        "calibrate_compose_s": round(t_prob, 2),
        "probability_rows_per_s": int(n / (t_enc + t_raw + t_prob)),
        "probability_rows_per_cpu_s": int(n / (c_enc + c_raw + c_prob)),
        "lightgbm_probability_rows_per_cpu_s": int(n / (c_enc + c_lgb + c_prob)),
        "load_average_1m": round(__import__("os").getloadavg()[0], 1),
        "lightgbm_probability_rows_per_s": int(n / (t_enc + t_lgb + t_prob)),
        "full_score_rows_per_s_with_health_and_levels": int(n / t_score),
        "monotone": bool((np.diff(probs, axis=1) >= 0).all()),
    }
    print(json.dumps(out["score"]), file=sys.stderr, flush=True)

    # -- reasons --------------------------------------------------------------------------------
    ex, booster = model.explainer, model.hazard.booster_
    _, t_path, _ = _timed(ex.explain, booster, X, "path", model.trees)
    n_exact = int(np.ceil(DEFAULT_EXACT_SHARE * n))
    order = np.argsort(-probs[:, -1], kind="stable")
    top = np.ascontiguousarray(X[order[:n_exact]])
    _, t_exact_top, _ = _timed(ex.explain, booster, top, "exact")
    rng = np.random.default_rng(0)
    sample = np.ascontiguousarray(
        X[rng.choice(feats.num_rows, size=min(args.sample, feats.num_rows), replace=False)]
    )
    riskiest = np.ascontiguousarray(X[order[: args.sample]])
    agreement = {}
    for name, rows in (("random", sample), ("riskiest", riskiest)):
        (e, t_e, _) = _timed(ex.explain, booster, rows, "exact")
        p = ex.explain(booster, rows, "path", model.trees)
        top1 = float(np.mean(e["code"][:, 0] == p["code"][:, 0]))
        overlap = float(
            np.mean(
                [
                    len({c for c in a if c} & {c for c in b if c}) / max(1, len({c for c in a if c}))
                    for a, b in zip(e["code"], p["code"], strict=True)
                ]
            )
        )
        agreement[name] = {"rows": len(rows), "top1": round(top1, 3), "top3_overlap": round(overlap, 3)}
        agreement[name]["exact_rows_per_s"] = int(len(rows) / t_e)
    out["reasons"] = {
        "rows": n,
        "path_all_s": round(t_path, 1),
        "path_rows_per_s": int(n / t_path),
        "exact_top_rows": n_exact,
        "exact_top_s": round(t_exact_top, 1),
        "exact_rows_per_s": int(n_exact / t_exact_top),
        "all_rows_path_plus_exact_top_s": round(t_path + t_exact_top, 1),
        "exact_all_rows_estimate_s": round(n / (n_exact / t_exact_top), 0),
        "agreement_path_vs_exact": agreement,
    }
    out["load_average_end"] = [round(x, 2) for x in __import__("os").getloadavg()]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
