"""One truth: for six months × {whole operator, one county, one grid, a regional manager's scope},
`churnradar metrics --json` = `GET /api/metrics` = the KPI report's figures = the dashboard's cards
and trend, and 离网数 equals the label counts of the same kinds and dating."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from churnradar.cli import main
from churnradar.periods import add_months, format_month, parse_month

N_MONTHS = 6
#: on PostgreSQL: the regional manager's scope (read from the operational store's accounts) and
#: the campaign figures; the other scopes repeat the analytical check the SQLite variant makes
POSTGRES_KEEP = ("-manager]", "test_manager_cannot", "test_risk_levels_are_the_stored")


@pytest.fixture(scope="module")
def months(api_world) -> list[str]:
    import duckdb

    con = duckdb.connect(str(api_world.store), read_only=True)
    last = con.execute("SELECT max(month) FROM usage_monthly").fetchone()[0]
    con.close()
    return [format_month(add_months(parse_month(last), -i)) for i in range(N_MONTHS - 1, -1, -1)]


def _scopes(w) -> dict[str, dict]:
    """Each scope: the API caller and region, the CLI's --region, the report's region/grids, and
    the dashboard's caller (the user whose scope is exactly that region)."""
    return {
        "operator": {"user": "analyst", "region": None, "cli": None, "report": {}, "dashboard": "analyst"},
        "county": {
            "user": "analyst",
            "region": w.county_a,
            "cli": w.county_a,
            "report": {"region": w.county_a},
            "dashboard": "rm_a",
        },
        "grid": {
            "user": "analyst",
            "region": w.grid_a,
            "cli": w.grid_a,
            "report": {"grids": {w.grid_a}},
            "dashboard": "agent_a",
        },
        "manager": {
            "user": "rm_a",
            "region": None,
            "cli": w.county_a,
            "report": {"region": w.county_a},
            "dashboard": "rm_a",
        },
    }


def _cli(capsys, store, month, region) -> dict:
    argv = ["metrics", "--store", str(store), "--month", month, "--json"]
    if region:
        argv += ["--region", region]
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def labels(api_world, months) -> dict[tuple[str, str], pa.Table]:
    """(definition, month) -> the labels of as-of month − 1 whose first churn falls in the month
    (``churn_within_1m``): subscriber and event kind, every line (each scope filters its own)."""
    from churnradar.labels import build_labels, churn_events
    from churnradar.labels.definitions import get_definition
    from churnradar.store.backends import open_backend

    bk = open_backend(api_world.store)
    out = {}
    try:
        for name in ("offnet_recorded", "offnet"):
            d = get_definition(name)
            ev = churn_events(bk, d)
            for m in months:
                lab = bk.to_pyarrow(build_labels(bk, add_months(parse_month(m), -1), d, ev))
                out[(name, m)] = lab.filter(lab["churn_within_1m"]).select(["subscriber_id", "event_kind"])
    finally:
        bk.close()
    return out


def _labels_by_kind(labels, store, grids) -> dict[tuple[str, str], dict[str, int]]:
    """(definition, month) -> {event kind: count} of ``labels`` for the lines of ``grids`` (None: all)."""
    import duckdb

    ids = None
    if grids is not None:
        con = duckdb.connect(str(store), read_only=True)
        try:
            rows = con.execute(
                "SELECT subscriber_id FROM subscription WHERE list_contains(?, grid_id)", [sorted(grids)]
            ).fetchall()
        finally:
            con.close()
        ids = pa.array([r[0] for r in rows])
    out = {}
    for key, hit in labels.items():
        if ids is not None:
            hit = hit.filter(pc.is_in(hit["subscriber_id"], value_set=ids))
        kinds = hit["event_kind"].to_pylist()
        out[key] = {k: kinds.count(k) for k in set(kinds)}
    return out


@pytest.mark.parametrize("scope", ["operator", "county", "grid", "manager"])
def test_cli_api_report_dashboard_and_labels_tell_one_truth(api, months, labels, capsys, scope):
    from churnradar.reports import ReportContext
    from churnradar.reports.kpi import department_kpis, recorded_offnet

    w = api.world
    sp = _scopes(w)[scope]
    client = api.client(sp["user"])
    grids = None

    # the API and the CLI: the same object
    by_month = {}
    for m in months:
        params = {"month": m, **({"region": sp["region"]} if sp["region"] else {})}
        r = client.get("/api/metrics", params=params)
        assert r.status_code == 200, r.text
        got = r.json()
        cli = _cli(capsys, w.store, m, sp["cli"])
        if scope == "manager":  # the manager's scope is their county; the CLI names it
            assert got["region"] is None and cli["region"] == w.county_a
            assert got["metrics"] == cli["metrics"]
        else:
            assert got == cli
        assert got["month"] == m
        by_month[m] = {k: v["value"] for k, v in got["metrics"].items()}
        full = got["metrics"]
    assert any(by_month[m]["deregistrations"] for m in months)  # the figures are not all empty

    # the KPI report: 上月末在网数, 销户数, 携出数, 离网率, 携出率 per month; company rows of the last month
    with ReportContext.open(w.store, months[-1], window=N_MONTHS, **sp["report"]) as ctx:
        grids = ctx.grids
        rec = recorded_offnet(ctx).set_index("month")
        for m in months:
            v = by_month[m]
            assert rec.loc[m, "base"] == v["lines_start"]
            assert rec.loc[m, "deregistrations"] == v["deregistrations"]
            assert rec.loc[m, "port_outs"] == v["port_outs"]
            assert rec.loc[m, "offnet_rate"] == v["offnet_rate"]
            assert rec.loc[m, "port_out_rate"] == v["port_out_rate"]
        k = department_kpis(ctx)
        company = k[k["department"] == "company"].set_index("kpi")["value"]
        last = by_month[months[-1]]
        for kpi in ("offnet_rate", "port_out_rate", "stock_revenue_churn_rate", "customer_retention"):
            assert company[kpi] == last[kpi], kpi

    # the dashboard: cards of the last month and the trend of every month
    ov = api.client(sp["dashboard"]).get("/api/overview").json()
    trend = {row["month"][:7]: row for row in ov["monthly"]}
    for m in months:
        v = by_month[m]
        assert trend[m]["subscribers"] == v["lines_end"]
        assert trend[m]["active"] == v["active_lines"]
        assert trend[m]["deregistered"] == v["deregistrations"]
        assert trend[m]["ported_out"] == v["port_outs"]
        assert trend[m]["churn_rate"] == v["offnet_rate"]
        assert trend[m]["revenue"] == v["revenue"]
    cards = ov["kpis"]
    assert cards["last_month"][:7] == months[-1]
    assert cards["subscribers"] == last["lines_end"]
    assert cards["churn_rate_last_month"] == last["offnet_rate"]
    assert cards["churned_last_month"] == last["deregistrations"]
    for card, meta in ov["definitions"].items():  # each card carries its metric's 口径
        assert cards[card] == last[meta["metric"]], card
        assert meta["definition_zh"] == full[meta["metric"]]["definition_zh"]

    # the labels: 离网数 of each kind and dating = the label counts of as-of month − 1
    by_kind = _labels_by_kind(labels, w.store, grids)
    for m in months:
        v = by_month[m]
        rec_kinds = by_kind[("offnet_recorded", m)]
        assert rec_kinds.get("offnet", 0) == v["deregistrations"]
        assert rec_kinds.get("port_out", 0) == v["port_outs"]
        assert sum(rec_kinds.values()) == v["offnet_churn"]
        assert sum(by_kind[("offnet", m)].values()) == v["offnet_churn_left"]


def test_manager_cannot_read_another_regions_metrics(api):
    w = api.world
    c = api.client("rm_a")
    assert c.get("/api/metrics", params={"region": w.county_b}).status_code == 404
    import duckdb

    con = duckdb.connect(str(w.store), read_only=True)
    grid_b = con.execute("SELECT min(grid_id) FROM region WHERE county_id = ?", [w.county_b]).fetchone()[0]
    con.close()
    r = c.get("/api/metrics", params={"region": grid_b})
    assert r.status_code == 404 and "metrics" not in r.json()
    own = c.get("/api/metrics").json()["metrics"]["lines_end"]["value"]
    whole = api.client("analyst").get("/api/metrics").json()["metrics"]["lines_end"]["value"]
    county = api.client("analyst").get("/api/metrics", params={"region": w.county_a}).json()
    assert own == county["metrics"]["lines_end"]["value"] < whole


def test_month_outside_the_data_is_refused_with_the_range(api):
    r = api.client("analyst").get("/api/metrics", params={"month": "1999-01"})
    assert r.status_code == 400 and "outside the data" in r.json()["detail"]


def test_risk_levels_are_the_stored_scores_and_campaigns_compare_with_control(api, months):
    import duckdb

    w = api.world
    c = api.client("rm_a")
    got = c.get("/api/metrics", params={"month": months[-1]}).json()["metrics"]
    con = duckdb.connect(str(w.store), read_only=True)
    try:
        levels = dict(
            con.execute(
                """SELECT sc.risk_level, count(*) FROM score sc JOIN subscription s USING (subscriber_id)
                   JOIN region r USING (grid_id) WHERE r.county_id = ? AND sc.as_of = ? GROUP BY 1""",
                [w.county_a, f"{months[-1]}-01"],
            ).fetchall()
        )
        members = con.execute(
            """SELECT c.subscriber_id, c.is_control, c.campaign_id FROM contact c JOIN subscription s USING (subscriber_id)
               JOIN region r USING (grid_id) WHERE r.county_id = ? AND c.assigned_date >= DATE '2024-03-01'
               AND c.assigned_date < DATE '2024-04-01'""",
            [w.county_a],
        ).df()
    finally:
        con.close()
    assert levels and got["scored_lines"]["value"] == sum(levels.values())
    for level in ("low", "medium", "high", "very_high"):
        assert got[f"risk_{level}"]["value"] == levels.get(level, 0)

    # campaign members assigned in 2024-03; churned = an off-net exit (month left) in 2024-03..06
    from churnradar.labels import churn_events, get_definition
    from churnradar.store.backends import open_backend

    bk = open_backend(w.store)
    try:
        ev = bk.to_pyarrow(churn_events(bk, get_definition("offnet"))).to_pandas()
    finally:
        bk.close()
    off = ev[ev.kind.isin(["offnet", "port_out"])]
    left = off[(off.event_month >= date(2024, 3, 1)) & (off.event_month <= date(2024, 6, 1))]
    members["churned"] = members.subscriber_id.isin(set(left.subscriber_id))
    camp = c.get("/api/metrics", params={"month": "2024-03"}).json()["metrics"]
    treated, control = members[~members.is_control], members[members.is_control]
    assert camp["campaign_members"]["value"] == len(members) > 0
    assert camp["campaign_retention_rate"]["value"] == pytest.approx(1 - treated.churned.mean())
    assert camp["campaign_control_retention_rate"]["value"] == pytest.approx(1 - control.churned.mean())
    assert camp["campaign_uplift"]["value"] == pytest.approx(control.churned.mean() - treated.churned.mean())

    # the campaign page's evaluation per arm: the same member outcomes
    hist = members[members.campaign_id == w.hist_campaign[w.county_a]]
    arms = {a["arm"]: a for a in c.get(f"/api/campaigns/{w.hist_campaign[w.county_a]}").json()["evaluation"]}
    ctrl = hist[hist.is_control]
    assert arms["control"]["n"] == len(ctrl) > 0
    assert arms["control"]["retention_rate"] == pytest.approx(1 - ctrl.churned.mean())
    treated_arms = [a for k, a in arms.items() if k != "control"]
    assert sum(a["n"] for a in treated_arms) == (~hist.is_control).sum()
    assert sum(a["retention_rate"] * a["n"] for a in treated_arms) == pytest.approx(
        (1 - hist[~hist.is_control].churned).sum()
    )
