"""Value (CLV, CVF, 80/20 tiers, switching cost) and the value × risk policy table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnradar.retention.errors import PolicyError
from churnradar.retention.policy import Policy, segment_and_act, segment_label
from churnradar.retention.value import clv, cvf, monthly_hazards, value_tiers


def test_clv_is_discounted_margin_over_the_survival_curve():
    risk = pd.DataFrame({"p_churn_1m": [0.1], "p_churn_2m": [0.19], "p_churn_3m": [0.271]})
    got = clv(pd.Series([100.0]), risk, margin_rate=0.5, horizon_months=3, annual_discount=0.0)
    # constant hazard 0.1: 50 × (0.9 + 0.81 + 0.729)
    assert got.iloc[0] == pytest.approx(50 * (0.9 + 0.81 + 0.729), rel=1e-6)


def test_riskier_subscribers_are_worth_less():
    risk = pd.DataFrame({"p_churn_1m": [0.01, 0.2], "p_churn_2m": [0.02, 0.36], "p_churn_3m": [0.03, 0.49]})
    v = clv(pd.Series([50.0, 50.0]), risk)
    assert v.iloc[0] > 2 * v.iloc[1]


def test_horizon_probabilities_give_monotone_survival():
    risk = pd.DataFrame({"p_churn_1m": [0.05], "p_churn_2m": [0.08], "p_churn_3m": [0.2]})
    h = monthly_hazards(risk, 6)
    assert h[0, 0] == pytest.approx(0.05) and np.all(h >= 0) and h[0, 5] == h[0, 2]


def test_eighty_twenty_tiers_follow_cumulative_revenue_share():
    rev = pd.Series([500.0, 300.0, 100.0, 50.0, 30.0, 20.0])
    tiers = value_tiers(rev, cuts=(0.5, 0.8))
    assert tiers.tolist() == ["high", "mid", "low", "low", "low", "low"]


def test_cvf_is_a_relative_rank_with_user_weights():
    f = pd.DataFrame({"arpu_3m": [10, 50, 100], "arrears": [0, 0, 100]})
    assert cvf(f, {"arpu_3m": 1.0}).tolist() == pytest.approx([100 / 3, 200 / 3, 100])
    # heavy weight on arrears (lower is better) puts the indebted big spender last
    assert cvf(f, {"arpu_3m": 0.2, "-arrears": 0.8}).idxmin() == 2
    with pytest.raises(PolicyError, match="CVF variable 'nps' is not available"):
        cvf(f, {"nps": 1.0})


def _frame(tier, p, value):
    return pd.DataFrame({"value_tier": tier, "p_churn_3m": p, "clv": value})


def test_default_policy_follows_value_and_risk():
    f = _frame(
        ["high", "mid", "low", "low", "high"], [0.5, 0.2, 0.6, 0.6, 0.01], [2000.0, 500, 300, 10, 2000]
    )
    out = segment_and_act(f)
    assert out["segment"].tolist()[:2] == ["high×very_high", "mid×high"]
    assert out["action"].tolist() == [
        "one_to_one",
        "standard_offer",
        "cost_checked_touch",
        "no_action",
        "no_action",
    ]
    assert out["offer_kind"].iloc[0] == "competitive_package" and out["channel"].iloc[0] == "account_manager"
    assert out["action_zh"].iloc[0] == "客户经理一对一"
    assert segment_label("high×very_high") == "高价值×极高风险"


def test_policy_table_is_configurable_and_checked(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text(
        '[risk]\ncuts = [0.5]\nnames = ["low", "high"]\n'
        '[[rule]]\nvalue = ["*"]\nrisk = ["high"]\naction = "standard_offer"\noffer_kind = "data_bonus"\nchannel = "sms"\n'
        '[[rule]]\nvalue = ["*"]\nrisk = ["*"]\naction = "no_action"\n',
        encoding="utf-8",
    )
    out = segment_and_act(_frame(["low", "high"], [0.6, 0.4], [1.0, 1.0]), Policy.load(p))
    assert out["action"].tolist() == ["standard_offer", "no_action"]
    p.write_text(
        '[risk]\ncuts = []\nnames = ["all"]\n[[rule]]\nvalue = ["*"]\nrisk = ["*"]\naction = "bribe"\n'
    )
    with pytest.raises(PolicyError, match="action 'bribe' is unknown; expected one of one_to_one"):
        Policy.load(p)


def test_risk_comes_from_the_score_table_and_an_unscored_month_is_refused(tmp_path):
    import datetime as dt

    import duckdb

    from churnradar.retention.errors import RiskError
    from churnradar.retention.risk import load_scores

    store = tmp_path / "s.duckdb"
    con = duckdb.connect(str(store))
    con.execute(
        "CREATE TABLE score AS SELECT DATE '2024-06-01' AS as_of, 'M7' AS model_id, 'U1' AS subscriber_id, "
        "0.01 AS p_churn_1m, 0.02 AS p_churn_2m, 0.03 AS p_churn_3m, 80.0 AS health"
    )
    con.close()
    got = load_scores(store, dt.date(2024, 6, 1))
    assert got.to_dict("records") == [
        {"subscriber_id": "U1", "p_churn_1m": 0.01, "p_churn_2m": 0.02, "p_churn_3m": 0.03}
    ]
    assert got.attrs["source"] == "score table (model M7)" and got.attrs["model_id"] == "M7"
    with pytest.raises(RiskError, match=r"no model has scored 2024-07 .* --as-of 2024-07"):
        load_scores(store, "2024-07")
