"""The library's read views (churnradar.views): the region scope is respected, stored scores are
served with the model that wrote them, and that model is the one used for posted vectors."""

from __future__ import annotations

import shutil
import warnings
from datetime import date, datetime, time

import pytest

from churnradar import views
from churnradar.errors import ConfigError
from churnradar.views import campaigns, model, risk, scores
from churnradar.views.subscriber import subscriber

#: reads the analytical store only
OPS_STORE = False


@pytest.fixture(scope="module")
def store(api_world):
    rs = views.ReadStore.open(api_world.store)
    yield rs
    rs.close()


def _scope(rs, *regions):
    return views.RegionScope.of_regions(list(regions), rs.region_rows())


def test_risk_list_and_subscriber_keep_to_the_scope(api_world, store):
    w = api_world
    a, b = _scope(store, w.county_a), _scope(store, w.county_b)
    everyone = risk.risk_list(store, views.EVERYTHING, risk.RiskFilters(), page_size=1)["total"]
    in_a = risk.risk_list(store, a, risk.RiskFilters(), page_size=200)
    in_b = risk.risk_list(store, b, risk.RiskFilters(), page_size=1)["total"]
    assert 0 < in_a["total"] < everyone and in_a["total"] + in_b <= everyone
    assert {i["county_id"] for i in in_a["items"]} == {w.county_a}
    other = w.subs[w.county_b][0]
    with pytest.raises(views.NotInScope, match=other):
        subscriber(store, a, other)
    with pytest.raises(views.NotInScope, match=other):
        scores.stored_score(store, a, other)
    assert subscriber(store, b, other)["profile"]["county_id"] == w.county_b
    # a region outside the scope filters to nothing rather than widening it
    assert risk.risk_list(store, a, risk.RiskFilters(region=w.county_b))["total"] == 0


def test_stored_score_is_the_newest_batch_row_with_its_model_id(api_world, store):
    from churnradar.store import connect

    info = scores.score_info(store)
    item = risk.risk_list(store, views.EVERYTHING, risk.RiskFilters(), page_size=1)["items"][0]
    sid = item["subscriber_id"]
    got = scores.stored_score(store, views.EVERYTHING, sid)
    con = connect(api_world.store, read_only=True)
    try:
        as_of, model_id, p3, r1 = con.execute(
            "SELECT as_of, model_id, p_churn_3m, reason_1 FROM score WHERE subscriber_id = ? "
            "ORDER BY as_of DESC LIMIT 1",
            [sid],
        ).fetchone()
    finally:
        con.close()
    assert got["as_of"] == as_of.isoformat() == info["as_of"].isoformat()
    assert got["model_id"] == model_id == info["model_id"] == item["model_id"]
    assert got["p_churn_3m"] == pytest.approx(p3) and got["reasons"][0]["reason"] == r1
    assert scores.stored_score(store, views.EVERYTHING, sid, info["as_of"]) == got
    with pytest.raises(views.NotInScope, match="2023-01"):
        scores.stored_score(store, views.EVERYTHING, sid, date(2023, 1, 1))


@pytest.fixture(scope="module")
def changed_store(api_world, tmp_path_factory):
    """A copy whose registry has a newer model than the one that wrote the scores, an ingested
    campaign with members in two counties, and three scored lines that leave in the last month of
    data (deregistered, ported out, pre-deregistered)."""
    from churnradar.models.registry import load_model, save_model
    from churnradar.store import connect

    w = api_world
    path = tmp_path_factory.mktemp("views") / "store.duckdb"
    shutil.copy(w.store, path)
    _, m = load_model(path)
    m.meta = {**m.meta, "as_of": "2030-01-01"}
    save_model(path, m)
    con = connect(path)
    try:
        con.execute(
            "INSERT INTO campaign VALUES ('MIXED', 'two counties', DATE '2024-03-01', DATE '2024-05-31', 0.2, 'closed')"
        )
        con.execute("INSERT INTO offer VALUES ('OFMIX', 'MIXED', 'data_bonus', 'sms', 5.0, 'test offer')")
        for i, sid in enumerate(w.subs[w.county_a][20:28] + w.subs[w.county_b][20:28]):
            con.execute(
                "INSERT INTO contact VALUES (?, 'MIXED', ?, ?, ?, DATE '2024-03-01', ?, NULL)",
                [f"MX{i:03d}", sid, None if i % 4 == 0 else "OFMIX", i % 4 == 0, i % 4 != 0],
            )
        leavers = con.execute(
            "SELECT subscriber_id FROM score WHERE as_of = (SELECT max(as_of) FROM score) "
            "ORDER BY subscriber_id LIMIT 3"
        ).fetchall()
        last = con.execute("SELECT max(month) FROM usage_monthly").fetchone()[0]
        for (sid,), kind in zip(leavers, ("deregister", "port_out", "pre_deregister"), strict=True):
            con.execute(
                "INSERT INTO status_event (subscriber_id, event_time, event_type, reason) VALUES (?, ?, ?, 'test')",
                [sid, datetime.combine(last.replace(day=15), time(10)), kind],
            )
    finally:
        con.close()
    return path


def test_risk_list_status_of_each_line_and_lines_that_left_are_left_out(changed_store):
    """Issue 18: 在网 / 单停 / 双停 / 预销户 / 销户 / 携出 per line at the last month of data; lines
    ended or pre-deregistered only on request."""
    rs = views.ReadStore.open(changed_store)
    try:
        everyone = risk.risk_list(rs, views.EVERYTHING, risk.RiskFilters(status="all"), page_size=200)
        active = risk.risk_list(rs, views.EVERYTHING, risk.RiskFilters(), page_size=1)
        ended = risk.risk_list(rs, views.EVERYTHING, risk.RiskFilters(status="ended"), page_size=200)
        assert active["status"] == "active" and active["total"] == everyone["total"] - ended["total"]
        # the three lines changed above, and the simulated lines pre-deregistered on the arrears path
        status = {i["subscriber_id"]: i["status"] for i in ended["items"]}
        assert ended["total"] == len(status) > 3
        changed = [
            r["subscriber_id"]
            for r in rs.rows(
                "SELECT subscriber_id FROM score WHERE as_of = (SELECT max(as_of) FROM score) "
                "ORDER BY subscriber_id LIMIT 3"
            )
        ]
        assert [status[sid] for sid in changed] == ["deregister", "port_out", "pre_deregister"]
        assert set(status.values()) == {"deregister", "port_out", "pre_deregister"}
        assert {i["status"] for i in everyone["items"]} <= {
            "active",
            "suspend_oneway",
            "suspend_twoway",
            "deregister",
            "port_out",
            "pre_deregister",
        }
        assert ended["data_month"] == rs.data_months()[1]
        with pytest.raises(ConfigError, match="status 'gone'"):
            risk.risk_list(rs, views.EVERYTHING, risk.RiskFilters(status="gone"))
    finally:
        rs.close()


def test_overview_names_the_data_and_score_months(store):
    from churnradar.views.overview import overview

    ov = overview(store, views.EVERYTHING)
    assert ov["data_month"] == store.data_months()[1]
    assert ov["score_month"] == scores.score_info(store)["as_of"] is not None


def test_the_model_of_the_stored_scores_is_used_not_the_newest(changed_store):
    from churnradar.api.data import AnalyticalData
    from churnradar.api.scoring import Scorer
    from churnradar.models.registry import load_model

    newest = load_model(changed_store)[0].model_id
    data = AnalyticalData(changed_store)
    try:
        wrote = scores.score_info(data.store)["model_id"]
        assert wrote and newest != wrote
        assert model.scoring_model(data.store)[0].model_id == wrote
        assert Scorer(data).score_features({})["model_id"] == wrote
        assert data.model_rows()[0]["model_id"] == newest and data.current_model()["model_id"] == wrote
    finally:
        data.close()


def test_campaign_evaluation_is_evaluate_campaign_and_needs_the_whole_campaign(api_world, changed_store):
    from churnradar.retention.evaluate import evaluate_campaign

    w = api_world
    rs = views.ReadStore.open(changed_store)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ev = evaluate_campaign(changed_store, "MIXED", with_segments=False)
        arms, notes = campaigns.evaluation(rs, views.EVERYTHING, "MIXED")
        by_arm = {a["arm"]: a for a in arms}
        assert by_arm["control"]["n"] == ev.overall["n_control"] == 4
        assert by_arm["control"]["retention_rate"] == pytest.approx(ev.overall["control_retention"])
        assert by_arm["OFMIX"]["uplift_vs_control"] == pytest.approx(ev.overall["uplift"])
        assert by_arm["OFMIX"]["contacted"] == 12 and by_arm["control"]["contacted"] == 0
        assert notes["observed"] is True
        # a county holding half the members gets no evaluation (it would include the other half)
        arms_a, notes_a = campaigns.evaluation(rs, _scope(rs, w.county_a), "MIXED")
        assert arms_a == [] and "outside your regions" in notes_a["unavailable"]
        shown = campaigns.campaign(rs, _scope(rs, w.county_a), "MIXED")
        assert shown["campaign"]["contacts"] == 8 and shown["evaluation"] == []
        with pytest.raises(views.NotInScope):
            campaigns.campaign(rs, _scope(rs, "no-such-county"), "MIXED")
    finally:
        rs.close()


def test_risk_route_filters_by_status(api):
    c = api.client("analyst")
    got = c.get("/api/risk", params={"status": "all", "page_size": 5}).json()
    assert got["status"] == "all" and all(
        i["status"] in ("active", "deregister", "port_out") for i in got["items"]
    )
    assert c.get("/api/risk").json()["status"] == "active"
    assert c.get("/api/risk", params={"status": "gone"}).status_code == 422
    page = c.get("/risk", params={"status": "ended"})
    assert page.status_code == 200
