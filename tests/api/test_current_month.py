"""Current by default (issue 18's contract): after ``churnradar train`` and ``churnradar score`` with
no ``--as-of``, ``GET /api/overview`` names the store's latest complete month as both its
``data_month`` and its ``score_month`` (``YYYY-MM``)."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from churnradar.as_of import default_training_month, latest_month
from churnradar.cli import main
from churnradar.periods import format_month


@pytest.fixture(scope="module")
def cli_scored(small_operator, tmp_path_factory):
    store = tmp_path_factory.mktemp("current") / "store.duckdb"
    shutil.copy(small_operator.store, store)
    return store


def test_train_and_score_without_as_of_use_the_latest_complete_month(cli_scored, capsys, tmp_path):
    from fastapi.testclient import TestClient

    from churnradar.api import auth, create_app

    store = cli_scored
    con = duckdb.connect(str(store), read_only=True)
    last = con.execute("SELECT max(month) FROM usage_monthly").fetchone()[0]
    con.close()
    assert latest_month(store) == last
    train = ["train", "--store", str(store), "--history", "2", "--params", '{"n_estimators": 30}', "--json"]
    assert main(train) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["as_of"][:7] == format_month(default_training_month(store)) < format_month(last)
    assert main(["score", "--store", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"][:7] == format_month(last)

    app = create_app(store, f"sqlite:///{tmp_path / 'ops.sqlite'}")
    try:
        auth.add_user(app.state.engine, "reader", "a-long-password-1", "analyst", actor="test")
        token = auth.create_token(app.state.engine, "reader", "tests", actor="test")
        ov = TestClient(app, headers={"Authorization": f"Bearer {token}"}).get("/api/overview").json()
    finally:
        app.state.data.close()
    assert ov["data_month"] == ov["score_month"] == format_month(last)
