"""Hand-computed feature values on the hand-made operator, on every backend."""

from __future__ import annotations

import math

import pytest
from handmade import AS_OF

from churnradar.features import compute_features

_COMPUTED: dict[str, dict[str, dict]] = {}


@pytest.fixture
def values(backend_name, open_on, handmade_store) -> dict[str, dict]:
    """Feature rows by subscriber (computed once per backend)."""
    if backend_name not in _COMPUTED:
        rows = compute_features(open_on(handmade_store), AS_OF).to_pyarrow().to_pylist()
        _COMPUTED[backend_name] = {r["subscriber_id"]: r for r in rows}
    return _COMPUTED[backend_name]


def close(a, b) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_population_is_active_at_the_end_of_the_month(values):
    # B deregistered in T-1, F in T-4, E activated after T; C ports out only after T
    assert sorted(values) == ["A", "C", "D"]


def test_revenue_10_20_30_has_slope_10_and_growth_half(values):
    a = values["A"]
    assert a["arpu_1m"] == 30.0
    assert a["arpu_3m_mean"] == 20.0
    assert a["arpu_trend_3m"] == 10.0
    assert a["arpu_trend_6m"] == 10.0
    assert a["arpu_mom_change"] == 0.5
    assert close(a["arpu_6m_cv"], 0.5)  # sample std 10 / mean 20
    assert a["arpu_3m_vs_prior_3m"] is None  # no bill in T-5..T-3
    assert a["arpu_decline_months_3m"] == 0


def test_flat_revenue_has_zero_slope_and_zero_volatility(values):
    d = values["D"]
    assert d["arpu_trend_3m"] == 0.0
    assert d["arpu_6m_cv"] == 0.0
    assert d["arpu_mom_change"] == 0.0


def test_usage_changes_and_shares(values):
    a = values["A"]
    assert a["mou_1m"] == 50.0
    assert a["mou_mom_change"] == -0.5
    assert a["mou_trend_3m"] == -50.0  # two points: 100 in T-1, 50 in T
    assert a["mou_decline_months_3m"] == 1
    assert a["onnet_share_3m"] == 0.6
    assert a["competitor_share_3m"] == 0.2
    assert close(a["competitor_share_change"], 0.0)
    assert a["zero_activity_months_3m"] == 1
    assert a["months_since_active"] == 1
    assert a["voice_out_share_3m"] == pytest.approx(50 / 150, rel=1e-12)


def test_subscriber_without_usage_rows_gets_nulls_and_zero_counts(values):
    c = values["C"]
    assert c["mou_1m"] is None
    assert c["mou_decline_months_3m"] == 0
    assert c["months_since_active"] == 6
    assert c["complaints_6m"] == 0
    assert c["months_since_complaint"] == 24


def test_complaint_recency_counts_and_silence(values):
    a, d = values["A"], values["D"]
    assert a["complaints_1m"] == 0
    assert a["complaints_3m"] == 1
    assert a["complaints_unresolved_6m"] == 1
    assert a["months_since_complaint"] == 2  # the complaint of 2024-07-01 is after T
    assert a["inquiries_3m"] == 1
    assert a["silent_after_unresolved_complaint"] is False  # the inquiry in T breaks the silence
    assert d["silent_after_unresolved_complaint"] is True
    assert d["months_since_complaint"] == 3


def test_churned_neighbour_share_counts_only_churn_up_to_t(values):
    a = values["A"]
    # our numbers called in T-5..T: B (deregistered T-1), C (ports out after T), D (active)
    assert a["churned_neighbours_6m"] == 1
    assert a["churned_neighbour_share_6m"] == pytest.approx(1 / 3, rel=1e-12)
    assert a["ported_neighbours_6m"] == 0
    assert a["call_peers_1m"] == 2
    assert a["call_peers_3m"] == 4
    assert a["call_peers_mom_change"] == pytest.approx(-1 / 3, rel=1e-12)
    assert a["competitor_peer_share_1m"] == 0.0


def test_family_group_size_churn_and_degree(values):
    a, d = values["A"], values["D"]
    assert a["in_family_group"] is True
    assert a["family_group_size"] == 2  # A and D; B left in T-1
    assert a["family_churned_6m"] == 1
    assert a["family_call_degree_3m"] == 2  # B and D
    assert d["family_call_degree_3m"] == 0
    assert values["C"]["family_group_size"] == 0


def test_multi_sim_handset(values):
    a, d = values["A"], values["D"]
    assert a["imei_shared_subscriptions_1m"] == 1
    assert d["imei_shared_subscriptions_1m"] == 1
    assert a["competitor_second_sim_1m"] is True
    assert a["competitor_second_sim_months_3m"] == 1
    assert a["handset_changes_3m"] == 1


def test_status_history(values):
    a, d = values["A"], values["D"]
    assert a["suspensions_6m"] == 1
    assert a["reactivations_6m"] == 1
    assert a["months_since_suspension"] == 3
    assert a["is_suspended"] is False  # the suspension of 2024-07-01 is after T
    assert d["is_suspended"] is True
    assert d["months_since_suspension"] == 0


def test_contract_tenure_brand(values):
    a = values["A"]
    assert a["tenure_months"] == 10
    assert a["months_to_contract_end"] == 2
    assert a["contract_expiring_3m"] is True
    assert a["brand"] == "premium"
    assert a["is_premium_brand"] is True
    assert a["package_fee"] == 88.0
    assert a["is_prepaid"] is False
    assert values["D"]["brand_rank_change"] == 0


def test_balance_and_arrears(values):
    a = values["A"]
    assert a["balance_1m"] == 15.0
    assert a["balance_months_of_spend"] == 0.75
    assert a["arrears_1m"] == 3.0
    assert a["arrears_months_6m"] == 1
    assert a["arrears_to_arpu"] == 0.15


def test_home_grid_quality(values):
    a = values["A"]
    assert close(a["grid_drop_rate_3m"], 0.02)
    assert close(a["grid_drop_rate_trend_3m"], 0.01)
    assert close(a["grid_drop_rate_vs_county"], 0.02 / 0.03)


def test_campaign_history_before_t(values):
    a = values["A"]
    assert a["campaign_assignments_12m"] == 1  # the assignment of 2024-07-01 is after T
    assert a["campaign_contacts_6m"] == 1
    assert a["months_since_campaign_contact"] == 1
    assert a["offers_accepted_12m"] == 1
    assert a["offer_acceptance_rate_12m"] == 1.0
