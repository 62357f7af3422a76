"""KPI cards and the county ranking over REST (issue 18): each card's value, the month before and
the same month a year before are ``churnradar.metrics.store_metrics`` of those months in the
caller's regions; 完成率 only where the operator's targets file sets a target; a regional manager
sees their own counties only."""

from __future__ import annotations

import shutil

import pytest

from churnradar.metrics import store_metrics
from churnradar.metrics.targets import read_targets
from churnradar.periods import add_months, format_month, parse_month
from churnradar.views.kpis import CARDS, change

#: reads the analytical store only: run on SQLite alone
OPS_STORE = False


@pytest.fixture(scope="module")
def last_month(api) -> str:
    return format_month(api.app.state.data.store.data_months()[1])


def _card(body: dict, key: str) -> dict:
    return next(c for c in body["cards"] if c["key"] == key)


def _targets(tmp_path, world, body: str):
    path = tmp_path / "targets.csv"
    path.write_text("kpi,period,region,target,direction\n" + body, encoding="utf-8")
    return read_targets(path, counties={world.county_a, world.county_b})


@pytest.mark.parametrize("month", [None, "2024-06"])
def test_cards_equal_the_metrics_of_the_month_and_the_month_before(api, last_month, month):
    body = api.client("analyst").get("/api/kpis", params={"month": month} if month else {}).json()
    m = month or last_month  # default: the latest complete month
    prev = format_month(add_months(parse_month(m), -1))
    assert (body["month"], body["previous_month"]) == (m, prev)
    now, before = store_metrics(api.world.store, m), store_metrics(api.world.store, prev)
    assert {c["key"] for c in body["cards"]} == set(CARDS)
    for c in body["cards"]:
        mid = c["metric"]
        assert c["value"] == now.values[mid], mid
        assert c["previous"] == before.values[mid], mid
        assert c["mom"] == pytest.approx(change(now.values[mid], before.values[mid], c["unit"])), mid
        assert c["provisional"] == (mid in now.provisional), mid
        # the data start in 2024-01: no same month of 2023, so no 同比 (shown "—"), never 0
        assert c["last_year"] is None and c["yoy"] is None, mid
        assert c["target"] is None and c["attainment"] is None  # no targets file: no 完成率
        assert c["definition_zh"] and c["definition_en"]
    # the churn rate's change is a difference of ratios, a count's a share
    rate, lost = _card(body, "churn_rate_last_month"), _card(body, "churned_last_month")
    assert rate["mom"] == pytest.approx(rate["value"] - rate["previous"])
    assert lost["mom"] == pytest.approx(lost["value"] / lost["previous"] - 1)
    # the churn rate dated by the month left is not final in the last months of data
    assert _card(body, "churn_rate_left")["provisional"] == (m == last_month)


def test_first_month_of_data_has_no_previous_month(api):
    first = format_month(api.app.state.data.store.data_months()[0])
    body = api.client("analyst").get("/api/kpis", params={"month": first}).json()
    assert all(c["previous"] is None and c["mom"] is None for c in body["cards"])
    assert any(c["value"] for c in body["cards"])


def test_month_outside_the_data_is_refused_with_the_range(api):
    r = api.client("analyst").get("/api/kpis", params={"month": "1999-01"})
    assert (
        r.status_code == 400 and "outside the data" in r.json()["detail"] and "2024-01" in r.json()["detail"]
    )


def test_regional_manager_sees_their_county_figures_only(api, last_month):
    w = api.world
    mine = api.client("rm_a").get("/api/kpis").json()
    county = store_metrics(w.store, last_month, region=w.county_a)
    whole = store_metrics(w.store, last_month)
    for c in mine["cards"]:
        assert c["value"] == county.values[c["metric"]], c["key"]
    assert _card(mine, "subscribers")["value"] < whole.values["lines_end"]
    assert api.client("rm_a").get("/api/kpis", params={"region": w.county_b}).status_code == 404
    ranking = api.client("rm_a").get("/api/kpis/counties").json()
    assert [r["county_id"] for r in ranking["rows"]] == [w.county_a]


def test_county_ranking_values_rank_and_month_before(api, last_month):
    w = api.world
    body = api.client("analyst").get("/api/kpis/counties").json()
    assert body["kpi"] == "offnet_rate" and body["month"] == last_month
    rows = body["rows"]
    assert {w.county_a, w.county_b} <= {r["county_id"] for r in rows}
    prev = format_month(add_months(parse_month(last_month), -1))
    for r in rows[:3] + [x for x in rows if x["county_id"] == w.county_a]:
        assert r["value"] == pytest.approx(
            store_metrics(w.store, last_month, region=r["county_id"]).values["offnet_rate"]
        )
        assert r["previous"] == pytest.approx(
            store_metrics(w.store, prev, region=r["county_id"]).values["offnet_rate"]
        )
    values = [r["value"] for r in rows if r["value"] is not None]
    assert values == sorted(values, reverse=True) and len(set(values)) > 1
    assert [r["rank"] for r in rows if r["value"] is not None] == list(range(1, len(values) + 1))
    lost = api.client("analyst").get("/api/kpis/counties", params={"kpi": "port_outs"}).json()
    assert sum(r["value"] for r in lost["rows"]) == store_metrics(w.store, last_month).values["port_outs"]
    bad = api.client("analyst").get("/api/kpis/counties", params={"kpi": "revenue"})
    assert bad.status_code == 400 and "offnet_rate" in bad.json()["detail"]


def test_targets_give_attainment_where_set_and_only_there(api, last_month, tmp_path, monkeypatch):
    w = api.world
    year = last_month[:4]
    targets = _targets(
        tmp_path,
        w,
        f"offnet_rate,{year},operator,1.5%,\n"
        f"revenue,{last_month},operator,100000,\n"
        f"offnet_rate,{last_month},{w.county_a},2%,\n",
    )
    monkeypatch.setattr(api.app.state, "targets", targets, raising=False)
    body = api.client("analyst").get("/api/kpis").json()
    assert body["targets_loaded"] and body["target_region"] == "operator"
    rate, revenue = _card(body, "churn_rate_last_month"), _card(body, "revenue_last_month")
    assert rate["target"] == {"value": 0.015, "direction": "lower", "period": year, "region": "operator"}
    assert rate["attainment"] == pytest.approx(1 - (rate["value"] - 0.015) / 0.015)
    assert revenue["attainment"] == pytest.approx(revenue["value"] / 100000)
    assert [c["key"] for c in body["cards"] if c["target"]] == ["churn_rate_last_month", "revenue_last_month"]
    assert all(c["attainment"] is None for c in body["cards"] if not c["target"])
    # the regional manager's cards compare with their county's target, not the operator's
    mine = _card(api.client("rm_a").get("/api/kpis").json(), "churn_rate_last_month")
    assert mine["target"]["region"] == w.county_a
    assert mine["attainment"] == pytest.approx(1 - (mine["value"] - 0.02) / 0.02)
    assert _card(api.client("rm_a").get("/api/kpis").json(), "revenue_last_month")["target"] is None
    rows = {r["county_id"]: r for r in api.client("analyst").get("/api/kpis/counties").json()["rows"]}
    assert rows[w.county_a]["attainment"] == pytest.approx(1 - (rows[w.county_a]["value"] - 0.02) / 0.02)
    assert rows[w.county_b]["target"] is None and rows[w.county_b]["attainment"] is None


def test_same_month_last_year_on_a_longer_history(tmp_path_factory):
    """14 months (2023-09 … 2024-10): 同比 of 2024-10 is against 2023-10, of 2024-09 against 2023-09,
    and 2024-08 has no 2023-08."""
    from tests.conftest import build_operator
    from tests.cycle.test_drift_and_champion import LAUNCH, SIM

    from churnradar.views import EVERYTHING, ReadStore
    from churnradar.views.kpis import kpi_cards

    op = build_operator(tmp_path_factory.mktemp("kpis_yoy") / "op", **SIM, config=LAUNCH)
    store = tmp_path_factory.mktemp("kpis_yoy_store") / "store.duckdb"
    shutil.copy(op.store, store)
    rs = ReadStore.open(store)
    try:
        for month, year_before in (("2024-10", "2023-10"), ("2024-09", "2023-09"), ("2024-08", None)):
            body = kpi_cards(rs, EVERYTHING, month)
            assert body["last_year_month"] == (year_before or "2023-08")
            then = store_metrics(store, year_before) if year_before else None
            now = store_metrics(store, month)
            for c in body["cards"]:
                mid = c["metric"]
                if then is None:
                    assert c["last_year"] is None and c["yoy"] is None
                    continue
                assert c["last_year"] == then.values[mid], (month, mid)
                expected = change(now.values[mid], then.values[mid], c["unit"])
                if expected is None:  # a count that was 0 a year before: no share to show
                    assert c["yoy"] is None, mid
                else:
                    assert c["yoy"] == pytest.approx(expected), mid
            if then is not None:
                assert _card(body, "churn_rate_last_month")["yoy"] is not None
                assert _card(body, "subscribers")["yoy"] is not None
    finally:
        rs.close()
