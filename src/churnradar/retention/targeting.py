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

Risk is the month's ``score`` (:func:`churnradar.retention.risk.load_scores`): a month no churn model
has scored is refused with the command that scores it. On simulated data the plan can be compared
with the simulator's truth by :func:`churnradar.evaluate.targeting.compare_with_truth`, from the
inputs the plan keeps in :attr:`TargetResult.inputs`.
"""

from __future__ import annotations

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
class PlanInputs:
    """What the optimiser saw, per candidate (rows) and offer (columns): kept so a plan can be
    compared with other plans at the same spend (:mod:`churnradar.evaluate.targeting`)."""

    subscriber_id: np.ndarray
    kinds: list[str]
    channel_of: list[str]
    cost: np.ndarray  # expected spend per listed subscriber
    feasible: np.ndarray  # consent, do-not-contact and contact rules
    p_churn_3m: np.ndarray
    clv: np.ndarray
    capacity: dict[str, float] | None
    method: str
    #: the logged offers' average effect (listed minus control, with consent), the top-risk rule's
    #: choice of offer
    logged_ate: np.ndarray


@dataclass
class TargetResult:
    as_of: date
    plan: Plan
    table: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    inputs: PlanInputs | None = None


def plan_targets(
    store_path: Path | str,
    budget: float,
    as_of: str | date | None = None,
    capacity: dict[str, float] | None = None,
    learner: str = "auto",
    method: str = "auto",
    engine=None,
    rules=None,
    write: bool = True,
    seed: int = 0,
    min_arm_rows: int = 300,
    progress=None,
    candidates=None,
    segments=None,
) -> TargetResult:
    """Build, optimise and (with ``write``) store the target list; see the module docstring.

    ``candidates`` (subscriber ids) and ``segments`` (value × risk segments) restrict who may be
    listed; everyone else stays in the month's covariates but is infeasible for every offer."""
    from churnradar.retention.contacts import ContactRules, consent_matrix, screen
    from churnradar.retention.covariates import covariates, design_matrix
    from churnradar.retention.policy import Policy, segment_and_act
    from churnradar.retention.risk import last_month, load_scores
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
    risk = load_scores(store_path, month)  # first: an unscored month is refused before any work
    cov = covariates(store_path, month)
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
    if candidates is not None:
        feasible &= cov["subscriber_id"].astype(str).isin(set(map(str, candidates))).to_numpy()[:, None]
    if segments:
        known = set(val["segment"].astype(str))
        bad = sorted(set(segments) - known)
        if bad:
            raise TargetingError(
                f"segments {bad} do not occur in {format_month(month)}; expected some of {sorted(known)}"
            )
        feasible &= val["segment"].isin(list(segments)).to_numpy()[:, None]
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
    t = logged.frame["treatment"].to_numpy()
    y = logged.frame["retained"].to_numpy(dtype=float)
    ate = np.array(
        [
            y[(t == k) & masks[k]].mean() - y[(t == CONTROL) & masks[k]].mean()
            if ((t == k) & masks[k]).any() and ((t == CONTROL) & masks[k]).any()
            else 0.0
            for k in kinds
        ]
    )
    inputs = PlanInputs(
        subscriber_id=cov["subscriber_id"].to_numpy(),
        kinds=kinds,
        channel_of=channel_of,
        cost=cost,
        feasible=feasible,
        p_churn_3m=p3,
        clv=clv,
        capacity=capacity,
        method=method,
        logged_ate=ate,
    )
    say("target", 5, 5)
    return TargetResult(month, plan, table, summary, inputs)
