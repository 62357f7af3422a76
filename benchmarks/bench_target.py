"""Benchmark of the targeting optimiser (results: benchmarks/RESULTS.md, section "Targeting").

    python benchmarks/bench_target.py                     # 1,000,000 candidates × 5 offers
    python benchmarks/bench_target.py --candidates 4000   # also solves the MILP for comparison

Data: synthetic but shaped like the retention problem: per-subscriber churn risk (beta), CLV
(lognormal around 500 yuan), a relative effect per offer that depends on a segment and can be
negative, five offers on four channels with costs 5–60 yuan, 70% consent per channel, capacity on
the outbound call and account-manager channels, and a budget of 0.5 yuan per candidate (binding).

Reported: wall time of :func:`churnradar.retention.optimise.optimise` (greedy above the MILP size
limit), the plan's objective, the Lagrangian/LP upper bound and the gap; with ``--milp`` (default
for ≤ 20,000 candidates) the HiGHS MILP on the same data and the greedy-vs-MILP difference.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from churnradar.retention.optimise import optimise

OFFERS = ("tariff_discount", "data_bonus", "family_vnet", "loyalty_credit", "competitive_package")
CHANNELS = ("outbound_call", "sms", "account_manager", "app_push", "account_manager")
COST = np.array([60.0, 15.0, 30.0, 5.0, 50.0])


def problem(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    risk = rng.beta(0.6, 8, n)
    clv = rng.lognormal(np.log(500), 0.7, n)
    seg = rng.integers(0, 4, n)
    base = np.array([0.15, 0.10, 0.05, 0.03, 0.20])
    mod = np.array([[0.1, -0.1, 0.05, -0.2], [0.2, -0.05, 0.0, 0.0], [-0.1, 0.1, 0.0, 0.05],
                    [0.0, 0.0, 0.02, 0.0], [-0.15, 0.0, 0.1, 0.2]])  # fmt: skip
    tau = base[None, :] + mod.T[seg] + rng.normal(0, 0.05, (n, 5))
    value = tau * risk[:, None] * clv[:, None]
    chan = sorted(set(CHANNELS))
    consent = rng.random((n, len(chan))) < 0.7
    feasible = consent[:, [chan.index(c) for c in CHANNELS]]
    return value, feasible


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=1_000_000)
    ap.add_argument("--budget-per-candidate", type=float, default=0.5)
    ap.add_argument("--milp", action="store_true", help="also solve the MILP (slow beyond ~20k pairs)")
    args = ap.parse_args()
    n = args.candidates
    t0 = time.perf_counter()
    value, feasible = problem(n)
    build = time.perf_counter() - t0
    budget = args.budget_per_candidate * n
    capacity = {"outbound_call": n * 0.01, "account_manager": n * 0.002}
    t0 = time.perf_counter()
    plan = optimise(value, COST, budget, feasible, CHANNELS, capacity, method="greedy")
    wall = time.perf_counter() - t0
    out = {
        "candidates": n,
        "offers": len(OFFERS),
        "budget": budget,
        "capacity": capacity,
        "positive_pairs": plan.n_pairs,
        "build_seconds": round(build, 2),
        "greedy_seconds": round(wall, 2),
        "targeted": plan.n_targeted,
        "cost": round(plan.cost, 1),
        "objective": round(plan.objective, 1),
        "lp_bound": round(plan.bound, 1),
        "gap_to_lp_bound": plan.gap,
        "machine": f"{platform.node()} {platform.machine()} Python {platform.python_version()}",
    }
    if args.milp or n <= 20_000:
        t0 = time.perf_counter()
        exact = optimise(
            value,
            COST,
            budget,
            feasible,
            CHANNELS,
            capacity,
            method="milp",
            milp_max_pairs=10**9,
            time_limit=600,
        )
        out["milp_seconds"] = round(time.perf_counter() - t0, 2)
        out["milp_objective"] = round(exact.objective, 1)
        out["milp_method_used"] = exact.method
        out["greedy_vs_milp"] = (
            (exact.objective - plan.objective) / exact.objective if exact.objective else 0.0
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
