"""Targeting vs top-risk vs oracle as a function of how much logged campaign data there is.

Builds a simulated operator (100,000 subscribers × 12 months, seed 7) per campaign scenario and runs
``churnradar target --budget B --compare --json`` on it; prints one JSON line per (scenario, budget)
with the three true retained values, their ratios, the learner chosen and the logged arm sizes.

Scenarios (``SimConfig.campaign_offsets`` / ``campaign_share``; a campaign's outcome is usable once
its 3-month window plus the 3-month deregistration lag lies inside the data):

- ``quarterly5``: the simulator's defaults, campaigns in months 3, 6, 9 to 5% of the base (2 usable);
- ``quarterly20``: months 3, 6, 9 to 20% of the base (2 usable; the scenario of the first figures);
- ``monthly10``: every month 1–9 to 10% of the base (6 usable);
- ``monthly20``: every month 1–9 to 20% of the base (6 usable).

Members of a campaign whose follow-up window is still running are not selected again. Risk is the
churn model's score of the last month (trained at the last month whose outcomes are observed).

    python benchmarks/bench_uplift_data.py --scenario quarterly20 --scenario monthly20 --budget 20000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SCENARIOS: dict[str, dict] = {
    "quarterly5": {"campaign_offsets": (3, 6, 9), "campaign_share": 0.05},
    "quarterly20": {"campaign_offsets": (3, 6, 9), "campaign_share": 0.20},
    "monthly10": {"campaign_offsets": tuple(range(1, 10)), "campaign_share": 0.10},
    "monthly20": {"campaign_offsets": tuple(range(1, 10)), "campaign_share": 0.20},
}


def build(root: Path, scenario: str, subscribers: int, seed: int) -> dict:
    from churnradar.ingest import ingest
    from churnradar.simulate import SimConfig, simulate

    t = time.perf_counter()
    simulate(
        subscribers=subscribers,
        months=12,
        seed=seed,
        out=root / "data",
        config=SimConfig(**SCENARIOS[scenario]),
    )
    ingest([root / "data"], store=root / "store.duckdb", key="churnradar-bench-key-not-secret")
    return {"build_seconds": round(time.perf_counter() - t, 1)}


def ensure_scored(store: Path) -> None:
    """Targeting reads the churn model's score of the month it targets (the last month): train the
    model at the last month whose outcome window and deregistration lag the data covers, and score."""
    from churnradar.models.pipeline import score_store, train_store
    from churnradar.periods import add_months
    from churnradar.retention.errors import RiskError
    from churnradar.retention.risk import last_month, load_scores

    last = last_month(store)
    try:
        load_scores(store, last)
    except RiskError:
        train_store(store, add_months(last, -6))
        score_store(store, last)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="benchmarks/_work/uplift_data")
    ap.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    ap.add_argument("--budget", action="append", type=float)
    ap.add_argument("--learner", default="auto")
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    for scenario in args.scenario or ["quarterly20", "monthly20"]:
        root = Path(args.work) / f"{scenario}_{args.subscribers}_s{args.seed}"
        info = {}
        if not (root / "store.duckdb").exists():
            info = build(root, scenario, args.subscribers, args.seed)
        ensure_scored(root / "store.duckdb")
        for budget in args.budget or [20_000.0, 50_000.0]:
            load = os.getloadavg()
            t = time.perf_counter()
            env = {**os.environ, "CHURNRADAR_DATABASE_URL": f"sqlite:///{root / 'ops.sqlite'}"}
            out = subprocess.run(
                [str(Path(sys.executable).parent / "churnradar"), "target", "--store", str(root / "store.duckdb"),
                 "--budget", str(budget), "--learner", args.learner, "--compare", "--json"],
                capture_output=True, text=True, env=env, check=True,
            ).stdout  # fmt: skip
            s = json.loads(out)
            um = s["uplift_metrics"]
            row = {
                "scenario": scenario,
                "seed": args.seed,
                "budget": budget,
                "learner": s["learner"],
                "cost": round(s["cost"]),
                "true_value_plan": round(s["true_value_plan"]),
                "true_value_top_risk": round(s["true_value_top_risk"]),
                "true_value_oracle": round(s["true_value_oracle"]),
                "plan_to_top_risk": round(s["ratio_plan_to_top_risk"] or float("nan"), 2),
                "plan_to_oracle": round(s["ratio_plan_to_oracle"] or float("nan"), 3),
                "expected_retained_value": round(s["expected_retained_value"]),
                "mean_qini": {k: round(v["mean_qini"], 4) for k, v in um.items() if isinstance(v, dict)},
                "logged_arm_rows": s["logged_arm_rows"],
                "seconds": round(time.perf_counter() - t, 1),
                "load_before": [round(x, 2) for x in load],
                **info,
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
