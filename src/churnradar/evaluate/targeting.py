"""Check a retention target list against the simulator's ground truth (``_truth/retention_truth.parquet``).

Product code never reads the truth: :func:`churnradar.retention.targeting.plan_targets` returns the
inputs its optimiser saw (:class:`churnradar.retention.targeting.PlanInputs`) and
:func:`compare_with_truth` scores, in *true* expected retained value ``Σ reach × true uplift × CLV``
(true uplift: the simulator's own for a reached line, which knows who has already decided to leave;
reach: consent × the chance a listed line is reached), three plans at the plan's own spend:

- the plan itself;
- top-risk targeting: highest ``p_churn_3m`` first, each given the feasible offer with the best
  average logged uplift (:func:`top_risk_plan`);
- an oracle that knows every subscriber's true relative effect of every offer and optimises
  ``reach × true effect × predicted churn × CLV − cost`` with the same risk model, costs,
  feasibility and spend as the plan.

``true_value_oracle_full`` is also reported: an oracle that knows the true uplift itself, i.e. also
which subscribers have privately decided to leave, which no model of the data can see.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnradar.retention.errors import TargetingError
from churnradar.retention.optimise import optimise

if TYPE_CHECKING:
    from churnradar.retention.targeting import TargetResult


def truth_path(truth: Path | str) -> Path:
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


def default_truth(store_path: Path | str) -> Path:
    """The simulator's ``_truth`` folder beside a store it wrote (``data/_truth`` next to the store
    file, as ``churnradar simulate`` and the demo lay them out)."""
    path = Path(store_path).parent / "data" / "_truth"
    if not path.exists():
        raise TargetingError(
            f"--compare needs the simulator's _truth folder; {path} does not exist (use --truth)"
        )
    return path


def _truth_matrix(truth: Path | str, ids: np.ndarray, kinds: list[str], column: str) -> np.ndarray:
    """``column`` of the truth's targeting-month rows (no campaign) per subscriber (rows, in ``ids``
    order) and offer kind (columns, in ``kinds`` order); 0 where the truth has no row."""
    t = pd.read_parquet(truth_path(truth), columns=["subscriber_id", "campaign_id", "offer_kind", column])
    t = t[t["campaign_id"].isna()]
    wide = t.pivot(index="subscriber_id", columns="offer_kind", values=column)
    return wide.reindex(index=pd.Index(ids), columns=kinds).fillna(0.0).to_numpy()


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


def compare_with_truth(result: TargetResult, truth: Path | str) -> dict[str, Any]:
    """True value of ``result``'s plan, of top-risk targeting and of the oracles at the plan's spend
    (see the module docstring); the keys extend the plan's summary."""
    inp = result.inputs
    if inp is None:
        raise TargetingError("the target result carries no plan inputs to compare with the truth")
    plan = result.plan
    ids, kinds, cost = inp.subscriber_id, inp.kinds, inp.cost
    true_up = _truth_matrix(truth, ids, kinds, "uplift")
    reach = _truth_matrix(truth, ids, kinds, "reach")
    true_eff = _truth_matrix(truth, ids, kinds, "effect")
    clv = inp.clv[:, None]
    true_value = reach * true_up * clv
    spend = plan.cost  # compare at the plan's own spend
    top = top_risk_plan(
        inp.p_churn_3m, inp.logged_ate, cost, inp.feasible, spend, inp.channel_of, inp.capacity
    )
    oracle = optimise(
        reach * true_eff * inp.p_churn_3m[:, None] * clv,
        cost,
        spend,
        inp.feasible,
        inp.channel_of,
        inp.capacity,
        method=inp.method,
    )
    full = optimise(
        true_value, cost, spend, inp.feasible & (reach > 0), inp.channel_of, inp.capacity, method=inp.method
    )
    cost_top = float(cost[top[top >= 0]].sum())
    out: dict[str, Any] = {
        "true_value_plan": _plan_value(plan.choice, true_value),
        "true_value_top_risk": _plan_value(top, true_value),
        "true_value_oracle": _plan_value(oracle.choice, true_value),
        "true_value_oracle_full": _plan_value(full.choice, true_value),
        "cost_top_risk": cost_top,
        "cost_oracle": oracle.cost,
        "cost_plan": plan.cost,
        "n_top_risk": int((top >= 0).sum()),
        "n_oracle": oracle.n_targeted,
        "top_risk_offer_ate": dict(zip(kinds, inp.logged_ate.round(4).tolist(), strict=True)),
    }
    out["true_net_value_plan"] = out["true_value_plan"] - plan.cost
    out["true_net_value_top_risk"] = out["true_value_top_risk"] - cost_top
    out["true_net_value_oracle"] = out["true_value_oracle"] - oracle.cost
    out["ratio_plan_to_top_risk"] = (
        out["true_value_plan"] / out["true_value_top_risk"] if out["true_value_top_risk"] > 0 else None
    )
    out["ratio_plan_to_oracle"] = (
        out["true_value_plan"] / out["true_value_oracle"] if out["true_value_oracle"] > 0 else None
    )
    return out
