"""Choose at most one offer per subscriber to maximise Σ (uplift × CLV − cost) under a total budget
and per-channel capacities; only feasible pairs (consent, contact rules) are candidates.

- ``milp``: scipy's HiGHS MILP (:func:`scipy.optimize.milp`) on the pairs with positive net value;
- ``greedy``: for lists too large for the MILP. Lagrangian multipliers of the budget and channel
  constraints are found by minimising the dual (a valid upper bound, equal to the LP bound at its
  minimum); each subscriber takes the offer with the best penalised value; pairs are accepted by
  penalised value while budget and capacity last, then the leftover budget is filled by net value
  per yuan. The gap to the bound is reported.
``auto`` uses the MILP up to ``milp_max_pairs`` candidate pairs (HiGHS needs seconds for a few
thousand pairs with few distinct costs), else greedy; a MILP that stops at its time limit without
beating the greedy plan yields the greedy plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from churnradar.retention.errors import TargetingError


@dataclass
class Plan:
    """The chosen offer per subscriber (−1: none) and what the plan is worth."""

    choice: np.ndarray
    method: str
    objective: float  # Σ (value − cost) of the chosen pairs
    value: float  # Σ value of the chosen pairs
    cost: float
    bound: float  # an upper bound of the objective (LP / Lagrangian dual)
    seconds: float
    n_pairs: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return float((self.bound - self.objective) / self.bound) if self.bound > 0 else 0.0

    @property
    def n_targeted(self) -> int:
        return int((self.choice >= 0).sum())


def _check(value, cost, feasible, channel_of, budget, capacity):
    value = np.asarray(value, dtype=np.float64)
    n, k = value.shape
    cost = np.broadcast_to(np.asarray(cost, dtype=np.float64), (n, k))
    feasible = np.ones((n, k), dtype=bool) if feasible is None else np.asarray(feasible, dtype=bool)
    if feasible.shape != (n, k):
        raise TargetingError(f"feasible has shape {feasible.shape}; expected {(n, k)}")
    if not np.isfinite(budget) or budget < 0:
        raise TargetingError(f"budget {budget!r} is invalid; expected a non-negative amount of yuan")
    if (cost < 0).any():
        raise TargetingError("offer costs must be ≥ 0")
    channel_of = list(channel_of) if channel_of is not None else ["all"] * k
    if len(channel_of) != k:
        raise TargetingError(f"channel_of has {len(channel_of)} entries; expected one per offer ({k})")
    capacity = dict(capacity or {})
    bad = [c for c in capacity if c not in set(channel_of)]
    if bad:
        raise TargetingError(
            f"capacity for channels {bad} that no offer uses; offers use {sorted(set(channel_of))}"
        )
    return value, cost, feasible, channel_of, float(budget), capacity


def _dual(net, cost, chan_idx, caps, budget, lam, mu):
    """Lagrangian dual value and each subscriber's best penalised offer."""
    pen = net - lam * cost - (mu[chan_idx][None, :] if len(mu) else 0.0)
    best = np.argmax(pen, axis=1)
    top = pen[np.arange(len(pen)), best]
    fin = np.isfinite(caps)
    return float(np.maximum(top, 0).sum() + lam * budget + (mu[fin] * caps[fin]).sum()), best, top


def lagrangian_bound(net, cost, chan_idx, caps, budget, iters: int = 40) -> tuple[float, float, np.ndarray]:
    """Minimise the dual over the budget multiplier λ (bisection on the budget subgradient) and the
    capacity multipliers μ (coordinate bisection). Returns (bound, λ, μ)."""
    mu = np.zeros(len(caps))
    if not len(net):  # no subscriber has an offer worth its cost: nothing to plan, nothing to bound
        return 0.0, 0.0, mu
    ratio = np.where(cost > 0, net / np.maximum(cost, 1e-12), 0.0)
    hi_lam = float(max(ratio.max(), 0.0)) + 1.0
    lam = 0.0
    best = np.inf
    for _ in range(3 if len(caps) else 1):
        lo, hi = 0.0, hi_lam
        for _ in range(iters):  # spend(λ) is non-increasing in λ
            mid = (lo + hi) / 2
            _, b, top = _dual(net, cost, chan_idx, caps, budget, mid, mu)
            spend = cost[np.arange(len(b)), b][top > 0].sum()
            lo, hi = (mid, hi) if spend > budget else (lo, mid)
        lam = hi
        for c in range(len(caps)):
            if not np.isfinite(caps[c]):
                continue
            lo, hi = 0.0, float(max(net.max(), 0.0)) + 1.0
            for _ in range(iters):
                mid = (lo + hi) / 2
                m2 = mu.copy()
                m2[c] = mid
                _, b, top = _dual(net, cost, chan_idx, caps, budget, lam, m2)
                used = ((chan_idx[b] == c) & (top > 0)).sum()
                lo, hi = (mid, hi) if used > caps[c] else (lo, mid)
            mu[c] = hi
        best = min(best, _dual(net, cost, chan_idx, caps, budget, lam, mu)[0])
    # λ = 0, μ = 0 is also a valid (weaker) bound when the budget is not binding
    best = min(best, _dual(net, cost, chan_idx, caps, budget, 0.0, mu)[0])
    return best, lam, mu


def _take(order, cost_sel, chan_sel, caps, budget):
    """Accept items in ``order`` while their channel has capacity and the budget lasts (vectorised:
    capacity by running count per channel, then budget by running sum of the survivors)."""
    keep = np.ones(len(order), dtype=bool)
    for c in range(len(caps)):
        if np.isfinite(caps[c]):
            on = chan_sel == c
            keep &= ~on | (np.cumsum(on) <= caps[c])
    spent = np.cumsum(np.where(keep, cost_sel, 0.0))
    keep &= spent <= budget + 1e-9
    return keep


def _greedy(net, cost, chan_idx, caps, budget, lam, mu):
    n = net.shape[0]
    _, best, top = _dual(net, cost, chan_idx, caps, budget, lam, mu)
    choice = np.full(n, -1, dtype=np.int64)
    # pass 1: the penalised optimum, in order of penalised value, while budget and capacity last
    order = np.argsort(-top, kind="stable")
    order = order[top[order] > 0]
    keep = _take(order, cost[order, best[order]], chan_idx[best[order]], caps, budget)
    chosen = order[keep]
    choice[chosen] = best[chosen]
    left = budget - cost[chosen, best[chosen]].sum()
    cap_left = caps - np.bincount(chan_idx[best[chosen]], minlength=len(caps))
    # pass 2: fill what is left with the best net value per yuan among unassigned subscribers
    cand_i, cand_k = np.nonzero((net > 0) & (choice < 0)[:, None])
    if len(cand_i) and left > 0:
        eff = net[cand_i, cand_k] / np.maximum(cost[cand_i, cand_k], 1e-9)
        o = np.argsort(-eff, kind="stable")
        cand_i, cand_k = cand_i[o], cand_k[o]
        first = np.zeros(len(cand_i), dtype=bool)
        first[np.unique(cand_i, return_index=True)[1]] = True  # each subscriber's best pair by efficiency
        cand_i, cand_k = cand_i[first], cand_k[first]
        keep = _take(np.arange(len(cand_i)), cost[cand_i, cand_k], chan_idx[cand_k], cap_left, left)
        choice[cand_i[keep]] = cand_k[keep]
    return choice


def _milp(net, cost, chan_idx, caps, budget, time_limit):
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix, vstack

    ii, kk = np.nonzero(net > 0)
    m = len(ii)
    n = net.shape[0]
    if m == 0:
        return np.full(n, -1, dtype=np.int64), {"status": "empty"}
    cols = np.arange(m)
    one = csr_matrix((np.ones(m), (ii, cols)), shape=(n, m))
    rows = [one, csr_matrix(cost[ii, kk][None, :])]
    ub = [np.ones(n), [budget]]
    for c in range(len(caps)):
        if np.isfinite(caps[c]):
            rows.append(csr_matrix((chan_idx[kk] == c).astype(float)[None, :]))
            ub.append([caps[c]])
    A = vstack(rows).tocsr()
    res = milp(
        -net[ii, kk],
        constraints=LinearConstraint(A, -np.inf, np.concatenate([np.asarray(u, dtype=float) for u in ub])),
        integrality=np.ones(m),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "mip_rel_gap": 1e-4, "disp": False},
    )
    if res.x is None:
        return None, {"status": res.message}
    x = res.x > 0.5
    choice = np.full(n, -1, dtype=np.int64)
    choice[ii[x]] = kk[x]
    info = {
        "status": res.message,
        "mip_dual_bound": float(-res.mip_dual_bound) if res.mip_dual_bound is not None else None,
    }
    return choice, info


def _objective(net: np.ndarray, choice: np.ndarray) -> float:
    rows = np.flatnonzero(choice >= 0)
    return float(net[rows, choice[rows]].sum())


def optimise(
    value,
    cost,
    budget: float,
    feasible=None,
    channel_of=None,
    capacity: dict[str, float] | None = None,
    method: str = "auto",
    milp_max_pairs: int = 5_000,
    time_limit: float = 20.0,
) -> Plan:
    """Pick at most one offer per row of ``value`` (n × k expected retained value in yuan).

    ``cost`` is the cost per targeted subscriber of each offer (k, or n × k); ``feasible`` an n × k
    mask; ``channel_of`` each offer's channel; ``capacity`` the most subscribers per channel.
    """
    if method not in ("auto", "milp", "greedy"):
        raise TargetingError(f"method {method!r} is unknown; expected auto, milp or greedy")
    t0 = time.perf_counter()
    value, cost, feasible, channel_of, budget, capacity = _check(
        value, cost, feasible, channel_of, budget, capacity
    )
    chans = sorted(set(channel_of))
    chan_idx = np.array([chans.index(c) for c in channel_of])
    caps = np.array([float(capacity.get(c, np.inf)) for c in chans])
    net = np.where(feasible, value - cost, -np.inf)
    net = np.where(np.isfinite(net), net, -1.0)  # infeasible pairs never have positive net value
    n_pairs = int((net > 0).sum())
    useful = (net > 0).any(axis=1)  # other rows add nothing to the dual or to any plan
    bound, lam, mu = lagrangian_bound(net[useful], cost[useful], chan_idx, caps, budget)
    use = method if method != "auto" else ("milp" if n_pairs <= milp_max_pairs else "greedy")
    info: dict[str, Any] = {"lambda": lam, "mu": dict(zip(chans, mu.tolist(), strict=True))}
    if use == "milp":
        choice, extra = _milp(net, cost, chan_idx, caps, budget, time_limit)
        info.update(extra)
        greedy = _greedy(net, cost, chan_idx, caps, budget, lam, mu)
        if choice is None or _objective(net, greedy) > _objective(net, choice):
            # the MILP stopped at its time limit without a better plan than the greedy one
            use, choice = "greedy", greedy
    else:
        choice = _greedy(net, cost, chan_idx, caps, budget, lam, mu)
    rows = np.flatnonzero(choice >= 0)
    ks = choice[rows]
    return Plan(
        choice=choice,
        method=use,
        objective=float(net[rows, ks].sum()),
        value=float(value[rows, ks].sum()),
        cost=float(cost[rows, ks].sum()),
        bound=float(bound),
        seconds=time.perf_counter() - t0,
        n_pairs=n_pairs,
        info=info,
    )
