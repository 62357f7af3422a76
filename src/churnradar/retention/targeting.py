"""``churnradar target``: who gets which offer next month, under a budget.

1. covariates, risk and value (CLV) of every open subscriber at ``as_of`` (default: the last month);
2. uplift models (T-, X- and segment learner) trained on the store's logged randomised campaigns and
   scored by cross-fitted Qini; ``auto`` uses the segment learner when its lever columns are present
   (else the T- or X-learner with the higher Qini; see :data:`AUTO_PREFERRED`). It predicts each
   subscriber's uplift for each offer kind, capped at the subscriber's predicted 3-month churn
   probability (an offer cannot save more than would leave);
3. pairs are feasible only with consent on the offer's channel, no do-not-contact flag and room in
   the contact-frequency rule;
4. :func:`churnradar.retention.optimise.optimise` picks at most one offer per subscriber maximising
   Σ(uplift × CLV − cost) under the budget and channel capacities; an offer's cost is paid per
   accepted offer, so the expected cost of listing someone is cost × the share of the offer's listed
   members (assigned, with consent) in the logged campaigns who accepted — reach × acceptance when
   reached — and the budget is an expected spend. The uplift models learn intention-to-treat
   effects (listed vs control, reached or not), so the expected value carries the same reach;
5. the plan is written to ``target_list`` (replacing the month's rows).

On simulated data, ``truth`` (the ``_truth`` folder) scores this plan, top-risk targeting (highest
``p_churn_3m`` first, each given the offer with the best average logged uplift it may receive) and
an oracle at the plan's own spend, in *true* expected retained value ``Σ reach × true uplift × CLV``
(true uplift: the simulator's own for a reached line, which knows who has already decided to leave;
reach: consent × the chance a listed line is reached). The oracle knows every subscriber's true
effect of every offer and optimises ``reach × true effect × predicted churn × CLV − cost`` with the
same risk model, costs, feasibility and spend as the plan;
``true_value_oracle_full`` is also reported: an oracle that knows the true uplift itself, i.e. also
which subscribers have privately decided to leave, which no model of the data can see.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnradar.periods import format_month, parse_month
from churnradar.retention.errors import TargetingError
from churnradar.retention.optimise import Plan, optimise

#: Learners ``auto`` scores by cross-fitted Qini (reported in ``uplift_metrics``).
AUTO_LEARNERS = ("t_learner", "x_learner", "segment_learner")
#: The learner ``auto`` uses when its lever columns are present. Qini only ranks campaign members
#: within an offer; it sees neither the size of the effects nor how they carry over from the
#: high-risk campaign members to the whole base, which is where the T- and X-learner fail (on
#: simulated operators their plans' expected value was 8–18× the truth and they kept 0.29–0.41 of
#: the oracle's value, the segment learner 0.54–0.61; benchmarks/RESULTS.md, Targeting).
AUTO_PREFERRED = "segment_learner"


@dataclass
class TargetResult:
    as_of: date
    plan: Plan
    table: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _truth_path(truth: Path | str) -> Path:
    """``retention_truth.parquet`` of a simulator output: the file, its ``_truth`` folder or the
    output folder."""
    path = Path(truth)
    if path.is_dir():
        path = (
            path / "retention_truth.parquet"
            if (path / "retention_truth.parquet").exists()
            else path / "_truth" / "retention_truth.parquet"
        )
    if not path.exists():
        raise TargetingError(f"no retention truth at {str(path)!r}; expected a simulator _truth folder")
    return path


def _truth_uplift(truth: Path | str, ids: pd.Series, kinds: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(true uplift of a reached line, reach) matrices for the targeting month from
    ``_truth/retention_truth``."""
    path = _truth_path(truth)
    t = pd.read_parquet(path, columns=["subscriber_id", "campaign_id", "offer_kind", "uplift", "reach"])
    t = t[t["campaign_id"].isna()]
    up = t.pivot(index="subscriber_id", columns="offer_kind", values="uplift").reindex(
        index=ids, columns=kinds
    )
    reach = t.pivot(index="subscriber_id", columns="offer_kind", values="reach").reindex(
        index=ids, columns=kinds
    )
    return up.fillna(0.0).to_numpy(), reach.fillna(0.0).to_numpy()


def _truth_effect(truth: Path | str, ids: pd.Series, kinds: list[str]) -> np.ndarray:
    """True relative effect per subscriber and offer kind for the targeting month."""
    path = _truth_path(truth)
    t = pd.read_parquet(path, columns=["subscriber_id", "campaign_id", "offer_kind", "effect"])
    t = t[t["campaign_id"].isna()]
    eff = t.pivot(index="subscriber_id", columns="offer_kind", values="effect").reindex(
        index=ids, columns=kinds
    )
    return eff.fillna(0.0).to_numpy()


def top_risk_plan(
    risk: np.ndarray,
    ate: np.ndarray,
    cost: np.ndarray,
    feasible: np.ndarray,
    budget: float,
    channel_of,
    capacity,
) -> np.ndarray:
    """Highest risk first; each gets the feasible offer with the best average uplift (``ate``)."""
    n = feasible.shape[0]
    pref = np.argsort(-ate, kind="stable")
    choice = np.full(n, -1, dtype=np.int64)
    left = budget
    cap = {c: float((capacity or {}).get(c, np.inf)) for c in set(channel_of)}
    for i in np.argsort(-risk, kind="stable"):
        for kk in pref:
            if ate[kk] <= 0:
                break
            if feasible[i, kk]:
                if cost[kk] <= left and cap[channel_of[kk]] >= 1:
                    choice[i] = kk
                    left -= cost[kk]
                    cap[channel_of[kk]] -= 1
                break
        if left < cost.min():
            break
    return choice


def _plan_value(choice: np.ndarray, value: np.ndarray) -> float:
    rows = np.flatnonzero(choice >= 0)
    return float(value[rows, choice[rows]].sum())


def plan_targets(
    store_path: Path | str,
    budget: float,
    as_of: str | date | None = None,
    capacity: dict[str, float] | None = None,
    learner: str = "auto",
    method: str = "auto",
    engine=None,
    rules=None,
    truth: Path | str | None = None,
    write: bool = True,
    seed: int = 0,
    min_arm_rows: int = 300,
    progress=None,
) -> TargetResult:
    """Build, optimise and (with ``write``) store the target list; see the module docstring."""
    from churnradar.retention.contacts import ContactRules, consent_matrix, screen
    from churnradar.retention.covariates import covariates, design_matrix
    from churnradar.retention.policy import Policy, segment_and_act
    from churnradar.retention.risk import RiskWarning, last_month, load_scores
    from churnradar.retention.uplift import (
        CONTROL,
        LEARNERS,
        SegmentLearner,
        fit_and_evaluate,
        logged_campaigns,
    )
    from churnradar.retention.value import customer_value

    say = progress or (lambda *_a, **_k: None)
    if learner not in ("auto", *LEARNERS):
        raise TargetingError(f"learner {learner!r} is unknown; expected auto, {', '.join(LEARNERS)}")
    month = parse_month(as_of) if as_of is not None else last_month(store_path)
    say("target", 0, 5)
    cov = covariates(store_path, month)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", RiskWarning)
        risk = load_scores(store_path, month, cov)
    val = segment_and_act(customer_value(cov, risk), Policy.load())
    say("target", 1, 5)
    logged = logged_campaigns(store_path)
    say("target", 2, 5)
    learners, prefer = (learner,), None
    if learner == "auto":
        levers = set(SegmentLearner.SEGMENT_COLUMNS) <= set(logged.X.columns)
        learners = AUTO_LEARNERS if levers else tuple(n for n in AUTO_LEARNERS if n != "segment_learner")
        prefer = AUTO_PREFERRED if levers else None
    name, model, metrics = fit_and_evaluate(logged, learners, seed=seed, prefer=prefer)
    say("target", 3, 5)
    offers = logged.offers.reset_index(drop=True)
    # an offer whose logged arm is too small to estimate from is not targeted
    t_arm = logged.frame["treatment"].to_numpy()
    masks = logged.consent_masks()
    n_arm = {k: int(((t_arm == k) & masks[k]).sum()) for k in offers["kind"]}
    dropped = [k for k, v in n_arm.items() if v < min_arm_rows]
    offers = offers[~offers["kind"].isin(dropped)].reset_index(drop=True)
    if offers.empty:
        raise TargetingError(
            f"no offer has {min_arm_rows} logged treated members with consent to learn from; have {n_arm}"
        )
    kinds = offers["kind"].tolist()
    channel_of = offers["channel"].tolist()
    # expected spend per targeted subscriber: the cost is paid per *accepted* offer
    cost = (offers["cost"] * offers["acceptance"]).to_numpy(dtype=float)
    X = design_matrix(cov, list(logged.X.columns))
    p3 = val["p_churn_3m"].to_numpy()
    if hasattr(model, "predict_relative"):  # relative effects times the churn model's risk
        up = model.predict_relative(X).reindex(columns=kinds, fill_value=0.0).to_numpy() * p3[:, None]
    else:
        up = model.predict_uplift(X).reindex(columns=kinds, fill_value=0.0).to_numpy()
    # an offer cannot save more than the churn that would happen: cap the uplift at the predicted
    # churn probability (the models learn on high-risk campaign members and extrapolate to the base)
    up = np.minimum(up, p3[:, None])
    clv = val["clv"].to_numpy()
    consent = consent_matrix(store_path, cov["subscriber_id"]).reindex(cov["subscriber_id"])
    feasible = np.column_stack([consent[ch].to_numpy(dtype=bool) for ch in channel_of])
    if engine is not None:
        why = screen(engine, store_path, cov["subscriber_id"], month, rules or ContactRules())
        feasible &= (why.reindex(cov["subscriber_id"]).to_numpy() == "")[:, None]
    value = up * clv[:, None]
    plan = optimise(value, cost, budget, feasible, channel_of, capacity, method=method)
    say("target", 4, 5)
    rows = np.flatnonzero(plan.choice >= 0)
    ks = plan.choice[rows]
    table = pd.DataFrame(
        {
            "as_of": month,
            "subscriber_id": cov["subscriber_id"].to_numpy()[rows],
            "region": cov["region"].to_numpy()[rows],
            "segment": val["segment"].to_numpy()[rows],
            "offer_kind": np.asarray(kinds, dtype=object)[ks],
            "channel": np.asarray(channel_of, dtype=object)[ks],
            "cost": cost[ks],
            "uplift": up[rows, ks],
            "clv": clv[rows],
            "p_churn_3m": val["p_churn_3m"].to_numpy()[rows],
            "expected_value": value[rows, ks],
            "net_value": value[rows, ks] - cost[ks],
            "learner": name,
        }
    ).sort_values("net_value", ascending=False, kind="stable")
    table.insert(2, "rank", np.arange(1, len(table) + 1))
    if write:
        import pyarrow as pa

        from churnradar.store.derived import replace_rows

        replace_rows(
            Path(store_path),
            "target_list",
            pa.Table.from_pandas(table, preserve_index=False),
            {"as_of": month},
        )
    summary: dict[str, Any] = {
        "as_of": format_month(month),
        "budget": float(budget),
        "n_candidates": len(cov),
        "n_targeted": plan.n_targeted,
        "cost": plan.cost,
        "expected_retained_value": plan.value,
        "expected_net_value": plan.objective,
        "method": plan.method,
        "lp_bound": plan.bound,
        "gap_to_bound": plan.gap,
        "seconds": plan.seconds,
        "learner": name,
        "uplift_metrics": metrics,
        "logged_arm_rows": n_arm,
        "offers": offers[["kind", "channel", "cost", "reach", "acceptance"]].to_dict("records"),
        "offers_not_targeted": dropped,
        "risk_source": risk.attrs.get("source"),
        "by_offer": table.groupby("offer_kind")
        .agg(n=("subscriber_id", "size"), cost=("cost", "sum"))
        .reset_index()
        .to_dict("records"),
    }
    if truth is not None:
        true_up, reach = _truth_uplift(truth, cov["subscriber_id"], kinds)
        true_value = reach * true_up * clv[:, None]
        t = logged.frame["treatment"].to_numpy()
        y = logged.frame["retained"].to_numpy(dtype=float)
        masks = logged.consent_masks()
        ate = np.array(
            [
                y[(t == k) & masks[k]].mean() - y[(t == CONTROL) & masks[k]].mean()
                if ((t == k) & masks[k]).any()
                else 0.0
                for k in kinds
            ]
        )
        spend = plan.cost  # compare at the plan's own spend
        top = top_risk_plan(val["p_churn_3m"].to_numpy(), ate, cost, feasible, spend, channel_of, capacity)
        true_eff = _truth_effect(truth, cov["subscriber_id"], kinds)
        oracle = optimise(
            reach * true_eff * p3[:, None] * clv[:, None],
            cost,
            spend,
            feasible,
            channel_of,
            capacity,
            method=method,
        )
        full = optimise(true_value, cost, spend, feasible & (reach > 0), channel_of, capacity, method=method)
        summary.update(
            {
                "true_value_plan": _plan_value(plan.choice, true_value),
                "true_value_top_risk": _plan_value(top, true_value),
                "true_value_oracle": _plan_value(oracle.choice, true_value),
                "true_value_oracle_full": _plan_value(full.choice, true_value),
                "cost_top_risk": float(cost[top[top >= 0]].sum()),
                "cost_oracle": oracle.cost,
                "cost_plan": plan.cost,
                "true_net_value_plan": _plan_value(plan.choice, true_value) - plan.cost,
                "true_net_value_top_risk": _plan_value(top, true_value) - float(cost[top[top >= 0]].sum()),
                "true_net_value_oracle": _plan_value(oracle.choice, true_value) - oracle.cost,
                "n_top_risk": int((top >= 0).sum()),
                "n_oracle": oracle.n_targeted,
                "top_risk_offer_ate": dict(zip(kinds, ate.round(4).tolist(), strict=True)),
            }
        )
        summary["ratio_plan_to_top_risk"] = (
            summary["true_value_plan"] / summary["true_value_top_risk"]
            if summary["true_value_top_risk"] > 0
            else None
        )
        summary["ratio_plan_to_oracle"] = (
            summary["true_value_plan"] / summary["true_value_oracle"]
            if summary["true_value_oracle"] > 0
            else None
        )
    say("target", 5, 5)
    return TargetResult(month, plan, table, summary)
