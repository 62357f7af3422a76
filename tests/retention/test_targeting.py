"""Uplift models, Qini, the budgeted optimiser and `churnradar target` on a simulated operator."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churnradar.cli import main
from churnradar.periods import add_months
from churnradar.retention.errors import TargetingError
from churnradar.retention.optimise import optimise
from churnradar.retention.uplift import SegmentLearner, TLearner, XLearner, qini_coefficient, uplift_at_k


def _problem(n=600, k=3, seed=0):
    rng = np.random.default_rng(seed)
    value = rng.gamma(0.6, 30, (n, k)) - 5
    feasible = rng.random((n, k)) < 0.7
    return value, np.array([10.0, 20.0, 5.0]), feasible


@pytest.mark.parametrize("method", ["milp", "greedy"])
def test_plan_respects_budget_capacity_consent_and_one_offer(method):
    value, cost, feasible = _problem()
    plan = optimise(
        value, cost, 1500, feasible, ["sms", "outbound_call", "sms"], {"outbound_call": 20}, method=method
    )
    rows = np.flatnonzero(plan.choice >= 0)
    ks = plan.choice[rows]
    assert plan.cost == pytest.approx(cost[ks].sum()) and plan.cost <= 1500 + 1e-9
    assert (ks == 1).sum() <= 20
    assert feasible[rows, ks].all()
    assert (value[rows, ks] - cost[ks] > 0).all()
    assert plan.objective <= plan.bound + 1e-6


def test_greedy_is_close_to_the_milp_and_reports_its_gap():
    value, cost, feasible = _problem(n=800, seed=3)
    exact = optimise(value, cost, 2000, feasible, method="milp")
    greedy = optimise(value, cost, 2000, feasible, method="greedy")
    assert exact.method == "milp"
    assert greedy.objective >= 0.99 * exact.objective
    assert 0 <= greedy.gap < 0.01


@pytest.mark.parametrize("method", ["auto", "milp", "greedy"])
def test_no_offer_worth_its_cost_gives_an_empty_plan(method):
    """Every offer costs more than it keeps: an empty plan with a zero bound, not an error."""
    value, cost, feasible = _problem(n=50, seed=4)
    plan = optimise(
        np.zeros_like(value),
        cost,
        2000,
        feasible,
        channel_of=["sms", "call", "sms"],
        capacity={"call": 5},
        method=method,
    )
    assert (plan.choice == -1).all() and plan.objective == 0 and plan.cost == 0 and plan.bound == 0


def test_bad_budget_and_capacity_name_the_problem():
    value, cost, _ = _problem(n=10)
    with pytest.raises(TargetingError, match="budget -1 is invalid"):
        optimise(value, cost, -1)
    with pytest.raises(TargetingError, match=r"capacity for channels \['fax'\]"):
        optimise(value, cost, 10, channel_of=["sms"] * 3, capacity={"fax": 3})


def test_qini_rewards_ranking_by_true_uplift():
    rng = np.random.default_rng(1)
    n = 20_000
    true = rng.uniform(-0.05, 0.25, n)
    treated = rng.random(n) < 0.5
    y = rng.random(n) < 0.6 + treated * true
    assert qini_coefficient(true, treated, y) > 0.02 > qini_coefficient(-true, treated, y)
    assert uplift_at_k(true, treated, y, 0.1) > 0.15


@pytest.mark.parametrize("learner", [TLearner, XLearner])
def test_learners_find_the_segment_an_offer_works_in(learner):
    rng = np.random.default_rng(2)
    n = 8_000
    X = pd.DataFrame({"prepaid": rng.integers(0, 2, n), "noise": rng.normal(size=n)})
    arm = rng.choice(["control", "discount", "data"], n)
    p = 0.7 + 0.2 * ((arm == "discount") & (X.prepaid == 1)) + 0.15 * ((arm == "data") & (X.prepaid == 0))
    y = rng.random(n) < p
    up = learner(random_state=0).fit(X, arm, y).predict_uplift(X)
    by = up.groupby(X.prepaid).mean()
    assert by.loc[1, "discount"] > by.loc[0, "discount"] + 0.1
    assert by.loc[0, "data"] > by.loc[1, "data"] + 0.05


def _lever_data(n, works_on_prepaid, seed):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "prepaid": rng.integers(0, 2, n),
            "data_gb_3m": rng.gamma(2.0, 6.0, n),
            "family": rng.integers(0, 2, n),
            "arpu_3m": rng.gamma(3.0, 20.0, n),
        }
    )
    arm = rng.choice(["control", "discount"], n)
    churn = 0.2 * (1 - (arm == "discount") * (works_on_prepaid * 0.6 * X.prepaid + 0.1))
    return X, arm, rng.random(n) >= churn


def test_segment_learner_falls_back_to_the_offer_average_only_without_distinguishable_levers():
    X, arm, retained = _lever_data(20_000, works_on_prepaid=True, seed=5)
    m = SegmentLearner(fallback_alpha=0.05).fit(X, arm, retained)
    assert m.wald_p_["discount"] < 1e-6 and not m.fallback_["discount"]
    rel = m.predict_relative(X)["discount"].groupby(X.prepaid).mean()
    assert rel.loc[1] > rel.loc[0] + 0.4
    X, arm, retained = _lever_data(20_000, works_on_prepaid=False, seed=6)
    m = SegmentLearner(fallback_alpha=0.05).fit(X, arm, retained)
    assert m.fallback_["discount"]  # the same effect (0.1) everywhere: one number for everyone
    assert m.predict_relative(X)["discount"].nunique() == 1
    assert abs(m.coef_["discount"][0] - 0.1) < 0.09  # standard error ≈ 0.028


@pytest.fixture(scope="module")
def campaigns_operator(tmp_path_factory):
    """6,000 subscribers × 12 months with large campaigns (25% of the base) so uplift can be learnt."""
    from tests.conftest import build_operator

    from churnradar.simulate import SimConfig

    root = tmp_path_factory.mktemp("campaigns_operator")
    cfg = SimConfig(campaign_share=0.25)
    return build_operator(root, subscribers=6_000, months=12, seed=4, config=cfg).store


@pytest.fixture(scope="module")
def scored_operator(campaigns_operator):
    """The campaigns operator with a small churn model's scores of its last month (retention reads
    the score of the month it targets)."""
    import warnings

    from churnradar.models.pipeline import score_store, train_store
    from churnradar.retention.risk import last_month

    last = last_month(campaigns_operator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_store(campaigns_operator, add_months(last, -4), history_months=2, params={"n_estimators": 40})
        score_store(campaigns_operator, last)
    return campaigns_operator


def _unscored_store(path):
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE usage_monthly AS SELECT DATE '2024-06-01' AS month, 'U1' AS subscriber_id")
    con.execute(
        "CREATE TABLE score AS SELECT DATE '2024-05-01' AS as_of, 'm1' AS model_id, 'U1' AS subscriber_id, "
        "0.1 AS p_churn_1m, 0.2 AS p_churn_2m, 0.3 AS p_churn_3m"
    )
    con.close()
    return path


def test_target_refuses_a_month_no_model_has_scored(tmp_path, capsys, monkeypatch):
    """No silent stand-in model: the error names the month and the command that scores it."""
    from churnradar.retention.errors import RiskError
    from churnradar.retention.targeting import plan_targets

    store = _unscored_store(tmp_path / "s.duckdb")
    with pytest.raises(
        RiskError, match=r"no model has scored 2024-06 .*churnradar score --store .* --as-of 2024-06"
    ):
        plan_targets(store, 1000, write=False)
    monkeypatch.setenv("CHURNRADAR_DATABASE_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    assert main(["target", "--store", str(store), "--budget", "1000", "--as-of", "2024-06"]) == 1
    err = capsys.readouterr().err
    assert "no model has scored 2024-06" in err and "--as-of 2024-06" in err


def test_target_cli_writes_the_list_and_compares_with_truth(scored_operator, capsys, monkeypatch, tmp_path):
    import duckdb

    campaigns_operator = scored_operator
    monkeypatch.setenv("CHURNRADAR_DATABASE_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    args = ["target", "--store", str(campaigns_operator), "--budget", "3000", "--compare", "--json"]
    assert main(args) == 0
    s = json.loads(capsys.readouterr().out)
    assert {"n_targeted", "cost", "expected_retained_value"} <= set(s)
    assert {"true_value_plan", "true_value_top_risk", "true_value_oracle"} <= set(s)
    assert 0 < s["cost"] <= 3000 and s["n_targeted"] > 0
    con = duckdb.connect(str(campaigns_operator), read_only=True)
    n, offers, spend = con.sql(
        "SELECT count(*), count(DISTINCT subscriber_id), sum(cost) FROM target_list"
    ).fetchone()
    con.close()
    assert n == offers == s["n_targeted"] and spend == pytest.approx(s["cost"])
    # the budget is an expected spend, the plan's value is net positive in expectation
    assert s["expected_retained_value"] > s["cost"]
    # the expected cost of listing someone counts reach: the simulator reaches 75% of the listed
    # members with consent and 25% of the reached accept, so ≈ 19% of the listed accept (not 25%)
    for o in s["offers"]:
        if s["logged_arm_rows"][o["kind"]] >= 300:
            assert abs(o["reach"] - 0.75) < 0.07, o
            assert abs(o["acceptance"] - 0.75 * 0.25) < 0.05, o
    assert s["learner"] == "segment_learner"  # auto, with the levers in the data
    assert s["risk_source"].startswith("score table (model ")
    # the truth comparison is at the plan's own spend
    assert s["cost_plan"] == pytest.approx(s["cost"]) and s["cost_oracle"] <= s["cost"] + 1e-6


def test_monthly_campaigns_do_not_reselect_members_of_a_running_campaign(tmp_path):
    from churnradar.simulate import SimConfig, simulate

    cfg = SimConfig(campaign_offsets=(1, 2, 3, 4, 5), campaign_share=0.2)
    simulate(subscribers=1_500, months=7, seed=3, out=tmp_path, config=cfg)
    c = pd.read_parquet(tmp_path / "contact.parquet", columns=["campaign_id", "subscriber_id"])
    assert c["campaign_id"].nunique() == 5
    month = c["campaign_id"].str[2:].astype(int)  # RC01 is month offset 1, RC02 offset 2, ...
    for sub, ms in month.groupby(c["subscriber_id"]):
        gaps = np.diff(np.sort(ms.to_numpy()))
        assert (gaps >= cfg.campaign_followup_months).all(), (sub, ms.tolist())
    # and members come back once their window is over
    assert (c.groupby("subscriber_id").size() > 1).any()
