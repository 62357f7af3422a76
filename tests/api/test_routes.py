"""What the read routes return: risk list order, filters and paging, subscriber page, analytics."""

from __future__ import annotations


def test_risk_list_is_sorted_by_risk_and_paged(api):
    c = api.client("analyst")
    first = c.get("/api/risk", params={"page_size": 20}).json()
    second = c.get("/api/risk", params={"page_size": 20, "page": 2}).json()
    ps = [i["p"] for i in first["items"] + second["items"]]
    assert ps == sorted(ps, reverse=True)
    assert not {i["subscriber_id"] for i in first["items"]} & {i["subscriber_id"] for i in second["items"]}
    assert first["total"] == second["total"] > 40
    assert first["model"]["state"] == "scored"


def test_risk_list_filters(api):
    w = api.world
    c = api.client("analyst")
    for level in ("very_high", "high", "low"):
        items = c.get("/api/risk", params={"risk": level, "page_size": 200}).json()["items"]
        assert items and {i["risk_level"] for i in items} == {level}
    county = c.get("/api/risk", params={"region": w.county_b, "page_size": 200}).json()["items"]
    assert county and {i["county_id"] for i in county} == {w.county_b}
    grid = c.get("/api/risk", params={"region": w.grid_a, "page_size": 200}).json()["items"]
    assert grid and {i["grid_id"] for i in grid} == {w.grid_a}
    top = c.get("/api/risk", params={"page_size": 1}).json()["items"][0]
    seg = c.get("/api/risk", params={"segment": top["segment"], "page_size": 50}).json()["items"]
    assert seg and {i["segment"] for i in seg} == {top["segment"]}
    tier = c.get("/api/risk", params={"value": top["value_tier"], "page_size": 50}).json()["items"]
    assert tier and {i["value_tier"] for i in tier} == {top["value_tier"]}
    items = c.get("/api/risk", params={"package": top["package_id"], "page_size": 200}).json()["items"]
    assert items and {i["package_id"] for i in items} == {top["package_id"]}
    assert c.get("/api/risk", params={"segment": "no-such-segment"}).json()["total"] == 0


def test_risk_list_serves_the_models_scores_with_reasons_and_actions(api):
    c = api.client("analyst")
    r = c.get("/api/risk", params={"page_size": 50}).json()
    assert r["model"]["state"] == "scored" and r["model"]["as_of"]
    top = r["items"][0]
    assert top["model_id"] and top["p"] == top["p_churn_3m"]
    assert top["reasons"] and top["reasons"][0]["reason"] and top["reasons"][0]["driver"]
    assert {"clv", "value_tier", "segment", "action", "action_zh", "health_score"} <= set(top)
    assert not any(k.startswith("reason_1") for k in top)  # folded into `reasons`


def test_subscriber_has_score_reasons_value_segment_and_history(api):
    w = api.world
    c = api.client("analyst")
    sid = c.get("/api/risk", params={"region": w.county_a, "page_size": 1}).json()["items"][0][
        "subscriber_id"
    ]
    s = c.get(f"/api/subscribers/{sid}").json()
    sc = s["score"]
    assert sc["p_churn_1m"] <= sc["p_churn_2m"] <= sc["p_churn_3m"]
    assert sc["reasons"] and sc["segment"] and sc["value_tier"] and sc["action"]
    assert 0 <= sc["health_score"] <= 100
    assert len(s["history"]) >= 6 and {"revenue", "mou"} <= set(s["history"][0])
    short = c.get(f"/api/subscribers/{sid}/score").json()
    assert short["score"] == sc


def _open_lines(store, county: str | None, month: str) -> int:
    """Lines in network at the end of ``month`` (of ``county``), counted in SQL from the raw tables."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(
            """SELECT count(*) FROM subscription s JOIN region r USING (grid_id)
               WHERE s.activation_date < (?::DATE + INTERVAL 1 MONTH)
                 AND (? IS NULL OR r.county_id = ?)
                 AND s.subscriber_id NOT IN (SELECT subscriber_id FROM status_event
                     WHERE event_type IN ('deregister', 'port_out') AND event_time < (?::DATE + INTERVAL 1 MONTH))""",
            [f"{month}-01", county, county, f"{month}-01"],
        ).fetchone()[0]
    finally:
        con.close()


def test_overview_and_drill_down_add_up_to_lines_in_network(api):
    w = api.world
    c = api.client("analyst")
    ov = c.get("/api/overview").json()
    last = ov["kpis"]["last_month"][:7]
    assert ov["kpis"]["subscribers"] == _open_lines(w.store, None, last)
    counties = c.get("/api/churn/regions").json()["rows"]
    assert ov["kpis"]["subscribers"] == sum(r["subscribers"] for r in counties)
    grids = c.get("/api/churn/regions", params={"county": w.county_a}).json()["rows"]
    assert sum(g["subscribers"] for g in grids) == _open_lines(w.store, w.county_a, last)
    assert len(w.subs[w.county_a]) > sum(g["subscribers"] for g in grids)  # closed lines are not 用户数
    own = next(r for r in counties if r["id"] == w.county_a)
    assert own["churned_12m"] == sum(g["churned_12m"] for g in grids) > 0
    assert len(ov["monthly"]) >= 6
    packages = c.get("/api/churn/packages").json()
    assert sum(p["subscribers"] for p in packages) == ov["kpis"]["subscribers"]


def test_regional_overview_counts_only_own_county(api):
    w = api.world
    ov = api.client("rm_a").get("/api/overview").json()
    assert ov["kpis"]["subscribers"] == _open_lines(w.store, w.county_a, ov["kpis"]["last_month"][:7])
