"""A browser session for the administration and search tests, its CSRF token read from the light
search page (``Api.login`` reads it from the overview, whose figures these tests do not need)."""

from __future__ import annotations

import re

from tests.api.conftest import PASSWORD

from churnradar.api import auth

CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')


def login(api, user: str, password: str = PASSWORD):
    """A client holding a session cookie for ``user``; ``client.csrf`` is the session's token."""
    c = api.client()
    assert c.get("/login").status_code == 200
    r = c.post(
        "/login",
        data={
            "username": user,
            "password": password,
            "csrf_token": c.cookies.get(auth.LOGIN_CSRF_COOKIE),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    c.csrf = CSRF.search(c.get("/search").text).group(1)
    return c
