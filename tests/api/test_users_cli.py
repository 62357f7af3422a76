"""`churnradar users add|list|remove|token` manage accounts in the operational store."""

from __future__ import annotations

import json

import pytest

from churnradar.cli import main


@pytest.fixture
def cli_env(api_world, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'users.sqlite'}"
    monkeypatch.setenv("CHURNRADAR_DATABASE_URL", url)
    monkeypatch.setenv("CHURNRADAR_PASSWORD", "a-long-enough-password")
    return api_world


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_add_list_remove(cli_env, capsys):
    store = str(cli_env.store)
    assert (
        _run(
            capsys,
            "users",
            "add",
            "li",
            "--store",
            store,
            "--role",
            "regional_manager",
            "--region",
            cli_env.county_a,
        )[0]
        == 0
    )
    code, out, _ = _run(capsys, "users", "list", "--store", store, "--json")
    assert code == 0
    users = {u["username"]: u for u in json.loads(out)}
    assert users["li"]["role"] == "regional_manager" and users["li"]["regions"] == [cli_env.county_a]
    assert _run(capsys, "users", "remove", "li", "--store", store)[0] == 0
    code, out, _ = _run(capsys, "users", "list", "--store", store, "--json")
    assert "li" not in {u["username"] for u in json.loads(out)}


def test_regional_manager_needs_a_known_region(cli_env, capsys):
    store = str(cli_env.store)
    code, _, err = _run(capsys, "users", "add", "zhao", "--store", store, "--role", "regional_manager")
    assert code == 1 and "needs at least one region" in err
    code, _, err = _run(
        capsys, "users", "add", "zhao", "--store", store, "--role", "regional_manager", "--region", "NOWHERE"
    )
    assert code == 1 and "unknown region" in err


def test_weak_password_and_duplicate_names_are_refused(cli_env, capsys, monkeypatch):
    store = str(cli_env.store)
    monkeypatch.setenv("CHURNRADAR_PASSWORD", "short")
    code, _, err = _run(capsys, "users", "add", "qian", "--store", store, "--role", "analyst")
    assert code == 1 and "too short" in err
    monkeypatch.setenv("CHURNRADAR_PASSWORD", "a-long-enough-password")
    assert _run(capsys, "users", "add", "qian", "--store", store, "--role", "analyst")[0] == 0
    code, _, err = _run(capsys, "users", "add", "qian", "--store", store, "--role", "analyst")
    assert code == 1 and "already exists" in err


def test_token_from_cli_authenticates_on_the_api(cli_env, capsys, monkeypatch):
    from fastapi.testclient import TestClient

    from churnradar.api import create_app

    store = str(cli_env.store)
    assert _run(capsys, "users", "add", "bot", "--store", store, "--role", "analyst")[0] == 0
    code, out, _ = _run(capsys, "users", "token", "bot", "--store", store, "--label", "nightly export")
    token = out.strip()
    assert code == 0 and token.startswith("cr_")
    import os

    client = TestClient(create_app(cli_env.store, os.environ["CHURNRADAR_DATABASE_URL"]))
    r = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["username"] == "bot"
