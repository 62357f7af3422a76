"""Fixtures of the API tests: a scored copy of the small operator, two campaigns per county, users of
every role, and the app on SQLite and (when ``CHURNRADAR_TEST_POSTGRES_URL`` is set) PostgreSQL."""

from __future__ import annotations

import functools
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from tests.conftest import postgres_database

from churnradar.api import auth

POSTGRES_ENV = "CHURNRADAR_TEST_POSTGRES_URL"
PASSWORD = "correct-horse-battery"

# cheap argon2 parameters for tests (production keeps argon2-cffi's defaults)
auth.set_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass
class World:
    """What the API tests know about their store: two counties and the objects in each."""

    store: Path
    county_a: str
    county_b: str
    grid_a: str
    subs: dict[str, list[str]]  # county -> subscriber ids
    hist_campaign: dict[str, str]  # county -> ingested campaign whose contacts all live there
    ops_campaign: dict[str, str]  # county -> operational campaign whose contacts all live there
    ops_contacts: dict[str, list[str]]  # county -> contact ids of its operational campaign
    hist_contacts: dict[str, list[str]] = field(default_factory=dict)


def _train_and_score(store: Path) -> None:
    """The real pipeline on the copy: a small churn model, its scores, then value and segments."""
    import warnings

    import duckdb

    from churnradar.models.pipeline import score_store, train_store
    from churnradar.periods import add_months, format_month
    from churnradar.retention.segments import write_segments

    con = duckdb.connect(str(store), read_only=True)
    last = con.execute("SELECT max(month) FROM usage_monthly").fetchone()[0]
    con.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_store(store, format_month(add_months(last, -4)), history_months=2, params={"n_estimators": 40})
        score_store(store, format_month(last))
        write_segments(store, format_month(last))


@pytest.fixture(scope="session")
def api_world(small_operator, tmp_path_factory) -> World:
    """A copy of the small operator with scores and per-county campaigns in both stores.

    Built once per source hash (``tests.conftest.cached_build``: training the model is the slow
    part), copied once per session and reused by the browser tests (a marker file in the session's
    base temporary folder).
    """
    import json

    from tests.conftest import WHOLE_PACKAGE, cached_build

    root = tmp_path_factory.getbasetemp() / "api_store"
    ready = root / "world.json"
    if not ready.exists():
        key = f"api-world-{small_operator.subscribers}x{small_operator.months}-s{small_operator.seed}"
        build = functools.partial(_build_world, small_operator.store)
        cached = cached_build(key, build, WHOLE_PACKAGE, also=(Path(__file__),))
        root.mkdir(exist_ok=True)
        shutil.copy(cached / "store.duckdb", root / "store.duckdb")
        shutil.copy(cached / "world.json", ready)
    return World(**{**json.loads(ready.read_text()), "store": root / "store.duckdb", "ops_contacts": {}})


def _build_world(source: Path, folder: Path) -> None:
    """``folder/store.duckdb``: a copy of ``source`` with two counties' campaigns, scored; the facts
    the tests need in ``folder/world.json``."""
    import json

    import duckdb

    store = folder / "store.duckdb"
    shutil.copy(source, store)
    con = duckdb.connect(str(store))
    try:
        counties = [
            r[0]
            for r in con.execute(
                "SELECT r.county_id FROM subscription s JOIN region r USING (grid_id) "
                "GROUP BY 1 ORDER BY count(*) DESC, 1"
            ).fetchall()
        ]
        a, b = counties[0], counties[1]
        subs = {
            c: [
                r[0]
                for r in con.execute(
                    "SELECT s.subscriber_id FROM subscription s JOIN region r USING (grid_id) "
                    "WHERE r.county_id = ? ORDER BY 1",
                    [c],
                ).fetchall()
            ]
            for c in (a, b)
        }
        grid_a = con.execute("SELECT min(grid_id) FROM region WHERE county_id = ?", [a]).fetchone()[0]
        # an ingested (historical) campaign per county whose contacts all live in that county
        hist, hist_contacts = {}, {}
        for c in (a, b):
            cid = f"HX{c}"
            hist[c] = cid
            con.execute(
                "INSERT INTO campaign VALUES (?, ?, DATE '2024-03-01', DATE '2024-05-31', 0.2, 'closed')",
                [cid, f"history {c}"],
            )
            con.execute(
                "INSERT INTO offer VALUES (?, ?, 'data_bonus', 'sms', 5.0, 'test offer')", [f"OF{c}", cid]
            )
            ids = []
            for i, sid in enumerate(subs[c][:10]):
                kid = f"HK{c}{i:03d}"
                ids.append(kid)
                con.execute(
                    "INSERT INTO contact VALUES (?, ?, ?, ?, ?, DATE '2024-03-01', true, TIMESTAMP '2024-03-05 10:00:00')",
                    [kid, cid, sid, None if i % 5 == 0 else f"OF{c}", i % 5 == 0],
                )
            hist_contacts[c] = ids
    finally:
        con.close()
    _train_and_score(store)
    facts = {
        "county_a": a,
        "county_b": b,
        "grid_a": grid_a,
        "subs": subs,
        "hist_campaign": hist,
        "ops_campaign": {a: f"OP{a}", b: f"OP{b}"},
        "hist_contacts": hist_contacts,
    }
    (folder / "world.json").write_text(json.dumps(facts))


def pytest_collection_modifyitems(config, items):
    """Tests of a module with ``OPS_STORE = False`` (it reads the analytical store only) run on the
    SQLite operational store alone: their PostgreSQL variant would test nothing more. A module's
    ``POSTGRES_KEEP`` (parts of test ids) keeps the PostgreSQL variant of those tests only: the
    ones whose operational side differs (the rest repeat an analytical check)."""
    keep, drop = [], []
    for item in items:
        param = getattr(getattr(item, "callspec", None), "params", {}).get("database_url")
        pg_keep = getattr(item.module, "POSTGRES_KEEP", None)
        if param == "postgresql" and (
            getattr(item.module, "OPS_STORE", True) is False
            or (pg_keep is not None and not any(k in item.nodeid for k in pg_keep))
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    """The operational store the app runs on: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('ops') / 'ops.sqlite'}"
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set (scripts/test.sh starts a throwaway PostgreSQL and sets it)")
    return postgres_database(url, "churnradar_test")


def _seed_ops_campaigns(world: World, url: str) -> None:
    """One operational campaign per county (retention's tables), contacts only in that county."""
    from churnradar import opstore as ops

    engine = ops.open_ops(world.store, url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for c, cid in world.ops_campaign.items():
            conn.execute(
                ops.campaign_header.insert().values(
                    campaign_id=cid,
                    name=f"retention {c}",
                    as_of="2024-12",
                    start_date=date(2025, 1, 1),
                    end_date=date(2025, 3, 31),
                    control_share=0.2,
                    followup_months=3,
                    created_by="test",
                    created_at=now,
                )
            )
            conn.execute(
                ops.campaign_offer.insert().values(
                    offer_id=f"{cid}-O1",
                    campaign_id=cid,
                    kind="data_bonus",
                    channel="outbound_call",
                    cost=10.0,
                )
            )
            ids = []
            for i, sid in enumerate(world.subs[c][:12]):
                kid = f"{cid}-K{i:03d}"
                ids.append(kid)
                control = i % 4 == 0
                conn.execute(
                    ops.contact_assignment.insert().values(
                        contact_id=kid,
                        campaign_id=cid,
                        subscriber_id=sid,
                        offer_id=None if control else f"{cid}-O1",
                        is_control=control,
                        segment="high_value_high_risk",
                        region=c,
                        assigned_date=date(2025, 1, 1),
                        eligible=True,
                        listed_at=now,
                    )
                )
            world.ops_contacts[c] = ids


@dataclass
class Api:
    """The app under test with a client and an API token per user."""

    app: object
    world: World
    database_url: str
    tokens: dict[str, str]

    def client(self, user: str | None = None, **kw):
        from fastapi.testclient import TestClient

        c = TestClient(self.app, **kw)
        if user:
            c.headers["Authorization"] = f"Bearer {self.tokens[user]}"
        return c

    def login(self, user: str, **kw):
        """A client holding a session cookie for ``user``; ``client.csrf`` is the session's token."""
        import re

        c = self.client(**kw)
        page = c.get("/login")
        token = c.cookies.get(auth.LOGIN_CSRF_COOKIE)
        assert page.status_code == 200 and token
        r = c.post(
            "/login",
            data={"username": user, "password": PASSWORD, "csrf_token": token, "next": "/"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        home = c.get("/")
        c.csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text).group(1)
        return c


USERS = {
    "admin": ("admin", []),
    "analyst": ("analyst", []),
    "rm_a": ("regional_manager", ["A"]),
    "rm_b": ("regional_manager", ["B"]),
    "agent_a": ("agent", ["GRID_A"]),
}


@pytest.fixture(scope="session")
def api(api_world, database_url) -> Api:
    from churnradar.api import create_app

    w = api_world
    if not w.ops_contacts or database_url not in _SEEDED:
        _seed_ops_campaigns(w, database_url)
        _SEEDED.add(database_url)
    app = create_app(w.store, database_url)
    engine = app.state.engine
    tokens = {}
    for name, (role, regions) in USERS.items():
        regs = [{"A": w.county_a, "B": w.county_b, "GRID_A": w.grid_a}[r] for r in regions]
        auth.add_user(engine, name, PASSWORD, role, regs, actor="test")
        tokens[name] = auth.create_token(engine, name, "tests", actor="test")
    return Api(app, w, database_url, tokens)


_SEEDED: set[str] = set()
