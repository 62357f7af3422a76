"""Downloads of the API (report workbooks, the risk-list CSV) never hold a live formula, even when
every package, county, grid, channel and competitor name in the store starts like one."""

from __future__ import annotations

import csv
import io

import pytest
from tests.api.conftest import PASSWORD
from tests.reports.test_safe_cells import POISON, formulas_in, poison_store, texts_in

from churnradar.api import auth
from churnradar.reports import report_names

#: reads the analytical store only: run on SQLite alone (login and the operational store are
#: covered on PostgreSQL by test_access, test_security, test_outcomes and the others)
OPS_STORE = False


@pytest.fixture(scope="module")
def poisoned_api(api_world, tmp_path_factory):
    from fastapi.testclient import TestClient

    from churnradar.api import create_app

    root = tmp_path_factory.mktemp("poisoned_api")
    store = root / "store.duckdb"
    poison_store(api_world.store, store)
    app = create_app(store, f"sqlite:///{root / 'ops.sqlite'}")
    auth.add_user(app.state.engine, "analyst", PASSWORD, "analyst", actor="test")
    token = auth.create_token(app.state.engine, "analyst", actor="test")
    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {token}"
    return c


def _check_workbooks(client, tmp_path, names, lang) -> None:
    texts = set()
    for name in names:
        r = client.get(f"/api/reports/{name}", params={"format": "xlsx", "lang": lang})
        assert r.status_code == 200, r.text[:300]
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(r.content)
        assert formulas_in(path) == [], name
        texts |= texts_in(path)
    sfx = "" if lang == "zh" else "_en"
    for key in (("package", "package_name" + sfx), ("region", "grid_name")):
        assert any(t.startswith(POISON[key]) for t in texts), key  # shown as the text it is


def test_report_workbooks_hold_no_formula(poisoned_api, tmp_path):
    """The reports that show package, county, grid, channel and competitor names (every report in
    both languages in the hostile suite; the builders' workbooks are checked in tests/reports)."""
    _check_workbooks(poisoned_api, tmp_path, ["churn", "geography", "revenue", "competitor"], "zh")


@pytest.mark.hostile
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_report_workbook_holds_no_formula(poisoned_api, tmp_path, lang):
    _check_workbooks(poisoned_api, tmp_path, report_names(), lang)


def test_risk_export_csv_quotes_formula_like_text_and_keeps_numbers(poisoned_api):
    r = poisoned_api.get("/api/risk/export.csv", params={"limit": 500})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 500
    for row in rows:
        assert row["county_name"].startswith("'" + POISON[("region", "county_name")])
        assert row["county_name_en"].startswith("'" + POISON[("region", "county_name_en")])
        assert row["grid_name"].startswith("'" + POISON[("region", "grid_name")])
        assert float(row["p"]) >= 0 and not row["p"].startswith("'")
    for value in (v for row in rows for v in row.values()):
        assert not value.startswith(("=", "+", "@", "\t", "\r")), value
        if value.startswith("-"):
            float(value)  # only numbers may start with a minus sign
