"""Schemathesis generates requests from the OpenAPI spec: no input makes the API answer 5xx.

Requests are sent with real authentication — an admin's API token, a regional manager's API token
and an admin's browser session (cookie and CSRF header) — so they reach the routes' code instead of
stopping at 401, and once without credentials. The default run is bounded (a few examples per
operation); the hostile suite runs many more.
"""

from __future__ import annotations

import contextlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from churnradar.api import auth

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXAMPLES_PER_OPERATION = 6
HOSTILE_EXAMPLES_PER_OPERATION = 60
#: the default suite fuzzes on SQLite; the hostile suite fuzzes on both operational stores
POSTGRES_KEEP = ("test_many_generated", "test_openapi_spec")


def _callers(api) -> dict[str, dict]:
    session = api.login("admin")
    return {
        "admin token": {"headers": {"Authorization": f"Bearer {api.tokens['admin']}"}},
        "regional manager token": {"headers": {"Authorization": f"Bearer {api.tokens['rm_a']}"}},
        "admin session": {
            "headers": {auth.CSRF_HEADER: session.csrf},
            "cookies": {auth.SESSION_COOKIE: session.cookies.get(auth.SESSION_COOKIE)},
        },
        "anonymous": {},
    }


def _fuzz(api, examples: int) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 15
    callers = _callers(api)
    failures: list[str] = []
    reached: dict[str, set[str]] = {name: set() for name in callers}

    def check_operation(op):
        label = f"{op.method.upper()} {op.path}"

        @given(case=op.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            for name, kw in callers.items():
                response = case.call(**kw)
                if response.status_code != 401:
                    reached[name].add(label)
                if response.status_code >= 500:
                    failures.append(f"{name} {case.method} {case.formatted_path}: {response.text[:200]}")
                assert response.status_code < 500

        # failures are collected above (after Hypothesis shrank them to the smallest request)
        with contextlib.suppress(AssertionError):
            check()

    for op in operations:
        check_operation(op)
    assert not failures, failures[:5]
    # the credentials worked: every operation was answered past authentication for the admin
    everything = {f"{op.method.upper()} {op.path}" for op in operations}
    assert reached["admin token"] == everything, everything - reached["admin token"]
    assert reached["admin session"] == everything, everything - reached["admin session"]
    assert len(reached["regional manager token"]) >= len(everything) - 1
    assert reached["anonymous"] <= {"GET /api/health", "GET /openapi.json"}


def test_generated_requests_never_cause_server_errors(api):
    _fuzz(api, EXAMPLES_PER_OPERATION)


@pytest.mark.hostile
def test_many_generated_requests_never_cause_server_errors(api):
    _fuzz(api, HOSTILE_EXAMPLES_PER_OPERATION)


def test_openapi_spec_lists_the_api(api):
    spec = api.client().get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/health", "/api/risk", "/api/subscribers/{subscriber_id}", "/api/score"} <= paths
    assert not any(p.startswith(("/login", "/risk")) for p in paths)  # pages stay out of the spec
