"""Report downloads and forecasts, limited to whole counties in the caller's regions."""

from __future__ import annotations

#: reads the analytical store only: run on SQLite alone (login and the operational store are
#: covered on PostgreSQL by test_access, test_security, test_outcomes and the others)
OPS_STORE = False


def test_report_list_names_every_report(api):
    names = {r["name"] for r in api.client("analyst").get("/api/reports").json()}
    assert {"churn", "geography", "forecast"} <= names


def test_regional_manager_downloads_own_county_report_and_it_is_audited(api):
    w = api.world
    r = api.client("rm_a").get("/api/reports/churn", params={"format": "html", "lang": "en"})
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert w.county_a in r.headers["content-disposition"]
    assert b"<html" in r.content[:2000].lower()
    rows = api.client("admin").get("/api/audit", params={"action": "export.report"}).json()
    assert any(x["actor"] == "rm_a" and x["detail"]["county"] == w.county_a for x in rows)


def test_regional_manager_cannot_download_other_county_report(api):
    w = api.world
    r = api.client("rm_a").get("/api/reports/churn", params={"county": w.county_b})
    assert r.status_code == 404


def test_agent_cannot_download_reports(api):
    assert api.client("agent_a").get("/api/reports/churn").status_code == 403


def test_unknown_report_is_not_found(api):
    assert api.client("analyst").get("/api/reports/nosuchreport").status_code == 404


def test_forecast_on_a_short_history_is_non_seasonal(api):
    # the small operator has 12 months; a seasonal backtest needs 18: non-seasonal models forecast
    r = api.client("analyst").get("/api/forecast").json()
    assert r["state"] == "forecast" and r["seasonal"] is False and r["rows"]
    assert r["summary"]["history_months"] == 12
