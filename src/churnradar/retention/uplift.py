"""Multi-treatment uplift models on logged randomised campaigns: T-learner and X-learner on LightGBM,
evaluated with Qini curves and uplift@k.

The outcome is *retention* over the campaign's follow-up window (1 − off-net churn, dated as in
evaluation; an in-network re-selection is retained); uplift of offer ``o`` at ``x`` is ``P(retained | o, x) − P(retained | control, x)``.
Treatments are offer *kinds*, pooled over campaigns. Because targeting only ever lists subscribers
who consented to the offer's channel, each offer's model learns from its treated members *with*
consent on its channel and the control members with the same consent (consent is recorded before
assignment, so the comparison stays randomised).

>>> m = XLearner().fit(X, treatment, retained)          # doctest: +SKIP
>>> m.predict_uplift(X_new)                               # doctest: +SKIP   one column per offer kind
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnradar.periods import add_months
from churnradar.retention.errors import TargetingError

CONTROL = "control"


def _lgbm(kind: str, random_state: int, **params: Any):
    import lightgbm as lgb

    base = {
        "n_estimators": 120,
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_child_samples": 60,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "reg_lambda": 5.0,
        "max_bin": 63,
        "random_state": random_state,
        "n_jobs": 1,  # one thread is far faster than two on a shared 2-core machine
        "verbose": -1,
        **params,
    }
    return lgb.LGBMClassifier(**base) if kind == "clf" else lgb.LGBMRegressor(**base)


class _Base:
    def __init__(self, n_estimators: int = 120, random_state: int = 0, min_rows: int = 50):
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.min_rows = min_rows

    def _check(self, X: pd.DataFrame, treatment: pd.Series, y: pd.Series, mask: dict[str, np.ndarray] | None):
        t = pd.Series(treatment).astype(str).to_numpy()
        if CONTROL not in set(t):
            raise TargetingError(
                f"uplift training data has no {CONTROL!r} rows; arms present: {sorted(set(t))}"
            )
        self.offers_ = sorted(set(t) - {CONTROL})
        if not self.offers_:
            raise TargetingError(
                "uplift training data has control rows only; expected at least one offer arm"
            )
        self.columns_ = list(X.columns)
        y = np.asarray(y, dtype=float)
        mask = mask or {}
        return X.to_numpy(dtype=float), t, y, mask

    def _fit_clf(self, X, y):
        if len(np.unique(y)) < 2:  # all retained (or all churned): a constant model
            return float(y.mean())
        return _lgbm("clf", self.random_state, n_estimators=self.n_estimators).fit(X, y.astype(int))

    @staticmethod
    def _proba(model, X) -> np.ndarray:
        if isinstance(model, float):
            return np.full(len(X), model)
        return model.predict_proba(X)[:, 1]

    @staticmethod
    def _reg(model, X) -> np.ndarray:
        if isinstance(model, float):
            return np.full(len(X), model)
        return model.predict(X)

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        return X.reindex(columns=self.columns_, fill_value=0.0).to_numpy(dtype=float)


class TLearner(_Base):
    """One retention classifier per arm; uplift = P(retained | offer) − P(retained | control)."""

    def fit(self, X: pd.DataFrame, treatment, y, consent: dict[str, np.ndarray] | None = None) -> TLearner:
        Xa, t, ya, mask = self._check(X, treatment, y, consent)
        self.models_: dict[str, Any] = {}
        for o in self.offers_:
            ok = mask.get(o, np.ones(len(t), dtype=bool))
            c_rows, o_rows = (t == CONTROL) & ok, (t == o) & ok
            self.models_[(o, CONTROL)] = self._fit_clf(Xa[c_rows], ya[c_rows])
            self.models_[(o, o)] = self._fit_clf(Xa[o_rows], ya[o_rows])
        return self

    def predict_uplift(self, X: pd.DataFrame) -> pd.DataFrame:
        Xa = self._matrix(X)
        return pd.DataFrame(
            {
                o: self._proba(self.models_[(o, o)], Xa) - self._proba(self.models_[(o, CONTROL)], Xa)
                for o in self.offers_
            },
            index=X.index,
        )

    def predict_relative(self, X: pd.DataFrame) -> pd.DataFrame:
        """Relative churn reduction ``uplift / P(churn | control)`` (clipped to [−1, 1])."""
        Xa = self._matrix(X)
        out = {}
        for o in self.offers_:
            churn_c = 1 - self._proba(self.models_[(o, CONTROL)], Xa)
            up = self._proba(self.models_[(o, o)], Xa) - (1 - churn_c)
            out[o] = np.clip(up / np.maximum(churn_c, 0.02), -1.0, 1.0)
        return pd.DataFrame(out, index=X.index)


class XLearner(_Base):
    """X-learner (Künzel et al. 2019): T-learner outcome models, imputed individual effects
    regressed on each side, combined with the treated share as weight."""

    def fit(self, X: pd.DataFrame, treatment, y, consent: dict[str, np.ndarray] | None = None) -> XLearner:
        Xa, t, ya, mask = self._check(X, treatment, y, consent)
        self.models_: dict[str, Any] = {}
        self.weight_: dict[str, float] = {}
        for o in self.offers_:
            ok = mask.get(o, np.ones(len(t), dtype=bool))
            c_rows, o_rows = (t == CONTROL) & ok, (t == o) & ok
            mu0 = self._fit_clf(Xa[c_rows], ya[c_rows])
            mu1 = self._fit_clf(Xa[o_rows], ya[o_rows])
            d1 = ya[o_rows] - self._proba(mu0, Xa[o_rows])
            d0 = self._proba(mu1, Xa[c_rows]) - ya[c_rows]
            self.models_[(o, "tau1")] = self._fit_reg(Xa[o_rows], d1)
            self.models_[(o, "tau0")] = self._fit_reg(Xa[c_rows], d0)
            n1, n0 = o_rows.sum(), c_rows.sum()
            self.weight_[o] = float(n1 / max(n0 + n1, 1))  # g(x): the treated share
        return self

    def _fit_reg(self, X, d):
        if len(d) < self.min_rows:
            return float(d.mean()) if len(d) else 0.0
        return _lgbm("reg", self.random_state, n_estimators=self.n_estimators).fit(X, d)

    def predict_uplift(self, X: pd.DataFrame) -> pd.DataFrame:
        Xa = self._matrix(X)
        out = {}
        for o in self.offers_:
            g = self.weight_[o]
            out[o] = g * self._reg(self.models_[(o, "tau0")], Xa) + (1 - g) * self._reg(
                self.models_[(o, "tau1")], Xa
            )
        return pd.DataFrame(out, index=X.index)


class SegmentLearner(_Base):
    """Relative effects per segment, times a LightGBM churn baseline.

    Segments are the levers offers act on: prepaid, heavy data user (≥ ``heavy_gb`` GB a month),
    family V-net member, high spender (ARPU ≥ ``high_arpu``) — 16 cells. Per offer the relative churn
    change ``1 − churn(offer) / churn(control)`` is measured in every cell, and an *additive* model
    ``τ = a + Σ_k b_k · lever_k`` is fitted to the cells by weighted least squares (weights: the
    inverse sampling variance of each cell's estimate at the cell's pooled churn rate), with a ridge penalty of ``1 / prior_sd²`` on
    each lever coefficient so that a lever the data cannot resolve shrinks to the offer's average
    effect. Uplift = relative effect × the pooled churn model's probability: a multiplicative effect
    model with five parameters per offer, for the small effects randomised campaigns measure.

    A cell needs ``min_cell`` members in each arm; its churn rates get ``pseudo_rows`` rows at the
    offer-wide rates, and its relative change is clipped to ±``clip_cell``: in a small cell with
    hardly any control churner the ratio explodes (unclipped, such cells pulled the tariff discount's
    lever coefficients to −5…+1.5 on one simulated operator), and a change beyond ±1 (no churn left,
    or churn doubled) is not a plausible cell effect.

    ``wald_p_[offer]`` is the p-value of the unpenalised test that all four lever coefficients are 0.
    With ``fallback_alpha`` set, an offer whose levers are not distinguishable from its average at that
    level gets the average for everyone (``fallback_[offer]``); off by default, because the shrunk
    estimates still carried useful signal where the test could not reject (benchmarks/RESULTS.md).
    """

    SEGMENT_COLUMNS = ("prepaid", "data_gb_3m", "family", "arpu_3m")

    def __init__(self, n_estimators: int = 120, random_state: int = 0, min_rows: int = 50,
                 prior_sd: float = 0.25, heavy_gb: float = 16.0, high_arpu: float = 80.0,
                 fallback_alpha: float | None = None, min_cell: int = 20, pseudo_rows: float = 1.0,
                 clip_cell: float | None = 1.0):  # fmt: skip
        super().__init__(n_estimators, random_state, min_rows)
        self.prior_sd = prior_sd
        self.fallback_alpha = fallback_alpha
        self.min_cell = min_cell
        self.pseudo_rows = pseudo_rows
        self.clip_cell = clip_cell
        self.heavy_gb = heavy_gb
        self.high_arpu = high_arpu

    def _levers(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack(
            [
                X["prepaid"].to_numpy() > 0.5,
                X["data_gb_3m"].to_numpy() >= self.heavy_gb,
                X["family"].to_numpy() > 0.5,
                X["arpu_3m"].to_numpy() >= self.high_arpu,
            ]
        ).astype(np.int64)

    def _cells(self, X: pd.DataFrame) -> np.ndarray:
        return self._levers(X) @ np.array([1, 2, 4, 8])

    def fit(
        self, X: pd.DataFrame, treatment, y, consent: dict[str, np.ndarray] | None = None
    ) -> SegmentLearner:
        Xa, t, ya, mask = self._check(X, treatment, y, consent)
        churn = 1 - ya
        self.base_ = self._fit_clf(Xa, churn)
        cells = self._cells(X)
        design = np.column_stack([np.ones(16), (np.arange(16)[:, None] >> np.arange(4)) & 1]).astype(float)
        self.rel_: dict[str, np.ndarray] = {}
        self.coef_: dict[str, np.ndarray] = {}
        self.wald_p_: dict[str, float] = {}
        self.fallback_: dict[str, bool] = {}
        for o in self.offers_:
            ok = mask.get(o, np.ones(len(t), dtype=bool))
            c_rows, o_rows = (t == CONTROL) & ok, (t == o) & ok
            pc_all = churn[c_rows].mean() if c_rows.any() else 0.0
            po_all = churn[o_rows].mean() if o_rows.any() else 0.0
            overall = 1 - po_all / pc_all if pc_all > 0 else 0.0
            r, w = np.zeros(16), np.zeros(16)
            for c in range(16):
                cc, oc = c_rows & (cells == c), o_rows & (cells == c)
                nc, no = int(cc.sum()), int(oc.sum())
                if nc < self.min_cell or no < self.min_cell:
                    continue
                m = self.pseudo_rows
                pc = (churn[cc].sum() + m * pc_all) / (nc + m)  # pseudo-rows of the overall rate
                po = (churn[oc].sum() + m * po_all) / (no + m)
                if pc <= 0:
                    continue
                r[c] = 1 - po / pc
                if self.clip_cell is not None:
                    r[c] = float(np.clip(r[c], -self.clip_cell, self.clip_cell))
                # variance of 1 − po / pc with the cell's pooled churn rate (weights that do not
                # depend on the cell's own effect estimate, so low-churn-by-chance cells do not dominate)
                p = (churn[cc].sum() + churn[oc].sum() + pc_all) / (nc + no + 1)
                var = (1 - p) / p * (1 / no + 1 / nc) if p > 0 else np.inf
                w[c] = 1.0 / max(var, 1e-6)
            self.wald_p_[o] = self._wald_p(design, w, r)
            if w.sum() == 0 or (
                self.fallback_alpha is not None and not self.wald_p_[o] < self.fallback_alpha
            ):
                # the levers are not distinguishable from the offer's average: use the average
                coef = np.array([overall, 0, 0, 0, 0], dtype=float)
                self.fallback_[o] = True
            else:
                A = design.T @ (w[:, None] * design)
                A[1:, 1:] += np.eye(4) / self.prior_sd**2
                coef = np.linalg.solve(A, design.T @ (w * r))
                self.fallback_[o] = False
            self.coef_[o] = coef
            self.rel_[o] = np.clip(design @ coef, -1.0, 1.0)
        return self

    @staticmethod
    def _wald_p(design: np.ndarray, w: np.ndarray, r: np.ndarray) -> float:
        """p-value of the (unpenalised) weighted least-squares test that every lever coefficient is 0,
        i.e. that the cells' effects differ from one common effect only by chance (χ², 4 df)."""
        from scipy.stats import chi2

        if (w > 0).sum() <= design.shape[1]:
            return 1.0
        A = design.T @ (w[:, None] * design)
        try:
            cov = np.linalg.inv(A)
        except np.linalg.LinAlgError:
            return 1.0
        b = cov @ design.T @ (w * r)
        lev, c = b[1:], cov[1:, 1:]
        try:
            stat = float(lev @ np.linalg.solve(c, lev))
        except np.linalg.LinAlgError:
            return 1.0
        return float(chi2.sf(stat, df=len(lev)))

    def predict_relative(self, X: pd.DataFrame) -> pd.DataFrame:
        """Relative churn reduction of each offer (multiply by a churn probability for uplift)."""
        cells = self._cells(X)
        return pd.DataFrame({o: self.rel_[o][cells] for o in self.offers_}, index=X.index)

    def predict_uplift(self, X: pd.DataFrame) -> pd.DataFrame:
        p = self._proba(self.base_, self._matrix(X))
        cells = self._cells(X)
        return pd.DataFrame({o: self.rel_[o][cells] * p for o in self.offers_}, index=X.index)


LEARNERS = {"t_learner": TLearner, "x_learner": XLearner, "segment_learner": SegmentLearner}


# ---- evaluation -----------------------------------------------------------------------------------
def qini_curve(uplift: np.ndarray, treated: np.ndarray, y: np.ndarray, bins: int = 20) -> pd.DataFrame:
    """Qini curve: rows ranked by predicted uplift; at each fraction φ, incremental retained
    ``R_t(φ) − R_c(φ) · N_t(φ) / N_c(φ)``."""
    order = np.argsort(-uplift, kind="stable")
    t, yy = treated[order].astype(bool), y[order].astype(float)
    nt, nc = np.cumsum(t), np.cumsum(~t)
    rt, rc = np.cumsum(yy * t), np.cumsum(yy * ~t)
    cut = np.unique(np.linspace(0, len(order), bins + 1).astype(int))[1:]
    q = rt[cut - 1] - rc[cut - 1] * np.divide(
        nt[cut - 1], nc[cut - 1], out=np.zeros(len(cut)), where=nc[cut - 1] > 0
    )
    return pd.DataFrame({"fraction": cut / len(order), "incremental": q})


def qini_coefficient(uplift: np.ndarray, treated: np.ndarray, y: np.ndarray) -> float:
    """Area between the Qini curve and the random-targeting line, per treated row (higher is better)."""
    curve = qini_curve(uplift, treated, y)
    x = np.concatenate([[0.0], curve["fraction"].to_numpy()])
    q = np.concatenate([[0.0], curve["incremental"].to_numpy()])
    random = x * q[-1]
    area = np.sum((q[1:] - random[1:] + q[:-1] - random[:-1]) / 2 * np.diff(x))
    return float(area / max(treated.sum(), 1))


def uplift_at_k(uplift: np.ndarray, treated: np.ndarray, y: np.ndarray, k: float) -> float:
    """Retention of treated minus control among the top ``k`` share ranked by predicted uplift."""
    n = max(round(k * len(uplift)), 1)
    top = np.argsort(-uplift, kind="stable")[:n]
    t, yy = treated[top].astype(bool), y[top]
    if t.sum() == 0 or (~t).sum() == 0:
        return float("nan")
    return float(yy[t].mean() - yy[~t].mean())


# ---- logged campaigns ------------------------------------------------------------------------------
@dataclass
class Logged:
    """Members of observed randomised campaigns with their covariates at the month before assignment."""

    X: pd.DataFrame
    frame: pd.DataFrame  # subscriber_id, campaign_id, treatment, retained, channel consent columns
    offers: pd.DataFrame  # kind, channel, cost (latest per kind), reach and acceptance per listed member

    def consent_masks(self) -> dict[str, np.ndarray]:
        return {
            k: self.frame[f"consent_{ch}"].to_numpy(dtype=bool)
            for k, ch in zip(self.offers["kind"], self.offers["channel"], strict=True)
        }


def logged_campaigns(store_path: Path | str, campaigns: list[str] | None = None) -> Logged:
    """Members of every campaign in the analytical store whose follow-up window is fully observed."""
    from churnradar.retention.contacts import consent_matrix
    from churnradar.retention.covariates import covariates, design_matrix
    from churnradar.retention.evaluate import campaign_members, member_outcomes
    from churnradar.retention.risk import DEREG_LAG, last_month
    from churnradar.store.backends import open_backend

    bk = open_backend(store_path)
    try:
        camp = bk.table("campaign")
        heads = bk.to_pyarrow(camp.select("campaign_id", "start_date", "end_date").order_by("start_date"))
        heads = heads.to_pandas()
    finally:
        bk.close()
    last = last_month(store_path)
    frames, Xs, offers = [], [], []
    for h in heads.itertuples():
        if campaigns and h.campaign_id not in campaigns:
            continue
        end = pd.Timestamp(h.end_date).date().replace(day=1)
        if last < add_months(end, DEREG_LAG):
            continue
        _, start, _, off, mem = campaign_members(store_path, h.campaign_id)
        kinds = off.set_index("offer_id")["kind"]
        ids = mem["subscriber_id"].astype(str)
        _, outcome = member_outcomes(store_path, ids, start, end)
        churned = ids.map(outcome.set_index("subscriber_id")["churned"]).fillna(False).astype(bool)
        f = pd.DataFrame(
            {
                "subscriber_id": ids,
                "campaign_id": h.campaign_id,
                "treatment": np.where(mem["is_control"].astype(bool), CONTROL, mem["offer_id"].map(kinds)),
                "retained": ~churned.to_numpy(),
                "contacted": mem["contacted"].astype("boolean").fillna(False).to_numpy(dtype=bool),
                "accepted": mem["accepted"].astype("boolean").fillna(False).to_numpy(dtype=bool),
            }
        )
        cov = covariates(store_path, add_months(start, -1)).set_index("subscriber_id")
        f = f[f["subscriber_id"].isin(cov.index)].reset_index(drop=True)
        Xs.append(cov.loc[f["subscriber_id"]].reset_index())
        frames.append(f)
        offers.append(off.assign(start=start))
    if not frames:
        raise TargetingError("no randomised campaign with a fully observed follow-up window in the store")
    frame = pd.concat(frames, ignore_index=True)
    consent = consent_matrix(store_path, frame["subscriber_id"])
    for ch in consent.columns:
        frame[f"consent_{ch}"] = frame["subscriber_id"].map(consent[ch]).fillna(False).astype(bool).to_numpy()
    X = design_matrix(pd.concat(Xs, ignore_index=True))
    off = pd.concat(offers).sort_values("start").groupby("kind", as_index=False).last()
    off = off[["kind", "channel", "cost"]].reset_index(drop=True)
    # per *listed* member (assigned to the offer, with consent on its channel): only the reached can
    # accept, so the expected cost of listing someone is cost × reach × acceptance when reached
    reach, accept = [], []
    for k, ch in zip(off["kind"], off["channel"], strict=True):
        col = f"consent_{ch}"
        ok = frame[col].to_numpy(dtype=bool) if col in frame else np.ones(len(frame), dtype=bool)
        listed = (frame["treatment"] == k).to_numpy() & ok
        reach.append(float(frame["contacted"].to_numpy()[listed].mean()) if listed.any() else 1.0)
        accept.append(float(frame["accepted"].to_numpy()[listed].mean()) if listed.any() else 1.0)
    off["reach"] = reach
    off["acceptance"] = accept
    return Logged(X, frame, off)


def fit_and_evaluate(
    logged: Logged,
    learners: tuple[str, ...] = ("t_learner", "x_learner"),
    folds: int = 3,
    seed: int = 0,
    prefer: str | None = None,
) -> tuple[str, Any, dict[str, Any]]:
    """Cross-fitted comparison: split the logged members into ``folds`` random folds, predict each
    fold from a model fitted on the others, and score Qini and uplift@10%/30% per offer on *every*
    member's out-of-fold prediction (a single 30% hold-out scored a third as many rows, so the choice
    between learners whose Qini is near zero was mostly noise); refit the best (highest mean Qini)
    on everything. With ``prefer`` (a learner among ``learners`` whose inputs are present) that
    learner is refitted whatever the Qini says; every learner is still scored. Returns (name, model,
    metrics)."""
    if folds < 2:
        raise TargetingError(f"folds = {folds}; expected at least 2")
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(logged.frame)) % folds
    t = logged.frame["treatment"].to_numpy()
    y = logged.frame["retained"].to_numpy(dtype=float)
    masks = logged.consent_masks()
    metrics: dict[str, Any] = {}
    for name in learners:
        pred: pd.DataFrame | None = None
        for f in range(folds):
            test = fold == f
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = LEARNERS[name](random_state=seed)
                model.fit(logged.X[~test], t[~test], y[~test], {k: v[~test] for k, v in masks.items()})
            p = model.predict_uplift(logged.X[test])
            if pred is None:
                pred = pd.DataFrame(0.0, index=logged.X.index, columns=p.columns)
            pred.loc[test, p.columns] = p.to_numpy()
        per = {}
        for o in pred.columns:
            rows = np.isin(t, [o, CONTROL]) & masks.get(o, np.ones(len(t), dtype=bool))
            u = pred[o].to_numpy()[rows]
            tr = t[rows] == o
            per[o] = {
                "n": int(rows.sum()),
                "qini": qini_coefficient(u, tr, y[rows]),
                "uplift_at_10pct": uplift_at_k(u, tr, y[rows], 0.1),
                "uplift_at_30pct": uplift_at_k(u, tr, y[rows], 0.3),
            }
        metrics[name] = {"per_offer": per, "mean_qini": float(np.mean([v["qini"] for v in per.values()]))}
    best = max(learners, key=lambda n: metrics[n]["mean_qini"])
    if prefer is not None and prefer in learners:
        best = prefer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LEARNERS[best](random_state=seed).fit(logged.X, t, y, masks)
    metrics["chosen"] = best
    metrics["folds"] = folds
    return best, model, metrics
