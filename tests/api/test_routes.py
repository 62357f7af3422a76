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
    high = c.get("/api/risk", params={"risk": "high", "page_size": 200}).json()["items"]
    assert high and all(i["p"] >= 0.5 for i in high)
    county = c.get("/api/risk", params={"region": w.county_b, "page_size": 200}).json()["items"]
    assert county and {i["county_id"] for i in county} == {w.county_b}
    grid = c.get("/api/risk", params={"region": w.grid_a, "page_size": 200}).json()["items"]
    assert grid and {i["grid_id"] for i in grid} == {w.grid_a}
    seg = c.get("/api/risk", params={"segment": "high_value_high_risk", "page_size": 50}).json()["items"]
    assert seg and {i["segment"] for i in seg} == {"high_value_high_risk"}
    tier = c.get("/api/risk", params={"value": "A", "page_size": 50}).json()["items"]
    assert tier and {i["value_tier"] for i in tier} == {"A"}
    pkg = c.get("/api/risk", params={"page_size": 1}).json()["items"][0]["package_id"]
    items = c.get("/api/risk", params={"package": pkg, "page_size": 200}).json()["items"]
    assert items and {i["package_id"] for i in items} == {pkg}


def test_subscriber_has_score_reasons_value_segment_and_history(api):
    w = api.world
    s = api.client("analyst").get(f"/api/subscribers/{w.subs[w.county_a][3]}").json()
    assert s["score"]["p_churn_1m"] <= s["score"]["p_churn_2m"] <= s["score"]["p_churn_3m"]
    assert s["score"]["top_reasons"] == ["arrears", "competitor"]
    assert s["score"]["segment"] and s["score"]["value_tier"]
    assert len(s["history"]) >= 6 and {"revenue", "mou"} <= set(s["history"][0])
    short = api.client("analyst").get(f"/api/subscribers/{w.subs[w.county_a][3]}/score").json()
    assert short["score"] == s["score"]


def test_overview_and_drill_down_add_up(api):
    w = api.world
    c = api.client("analyst")
    ov = c.get("/api/overview").json()
    assert ov["kpis"]["subscribers"] == sum(
        r["subscribers"] for r in c.get("/api/churn/regions").json()["rows"]
    )
    grids = c.get("/api/churn/regions", params={"county": w.county_a}).json()["rows"]
    assert sum(g["subscribers"] for g in grids) == len(w.subs[w.county_a])
    assert len(ov["monthly"]) >= 6
    packages = c.get("/api/churn/packages").json()
    assert sum(p["subscribers"] for p in packages) == ov["kpis"]["subscribers"]


def test_regional_overview_counts_only_own_county(api):
    w = api.world
    assert api.client("rm_a").get("/api/overview").json()["kpis"]["subscribers"] == len(w.subs[w.county_a])
