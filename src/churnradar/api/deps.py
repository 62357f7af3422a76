"""FastAPI dependencies: who is calling, what they may do, CSRF on unsafe requests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from churnradar.api import auth
from churnradar.api.auth import AuthError, Principal
from churnradar.api.data import AnalyticalData
from churnradar.api.roles import require, resolve_scope

bearer = HTTPBearer(auto_error=False, description="API token `cr_<id>_<secret>` (`churnradar users token`)")


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def data_of(request: Request) -> AnalyticalData:
    return request.app.state.data


class PrincipalCache:
    """Callers seen in the last few seconds, so a busy client does not cost a database read per request.

    Entries live ``ttl`` seconds; logging out clears the cache of this process, and other changes
    (a removed user, a revoked token, another worker's logout) take effect within ``ttl``.
    """

    def __init__(self, ttl: float = 5.0):
        self.ttl = ttl
        self._items: dict[str, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: str, p: Principal) -> None:
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, p)

    def clear(self) -> None:
        self._items.clear()


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Principal:
    """The authenticated caller (API token first, then the session cookie), or 401.

    Async on purpose: a cache hit costs microseconds, and a miss is one indexed read of the
    operational store, cheaper than a hop through the thread pool.
    """
    state = request.app.state
    data: AnalyticalData = state.data
    cache: PrincipalCache = state.principals

    def scope_of(role, regions):
        return resolve_scope(role, regions, data.region_rows())

    p = None
    if credentials is not None:
        key = "t:" + credentials.credentials
        p = cache.get(key)
        if p is None:
            p = auth.principal_from_token(state.engine, credentials.credentials, scope_of)
            if p is None:
                raise AuthError("invalid API token")
            cache.put(key, p)
    else:
        cookie = request.cookies.get(auth.SESSION_COOKIE)
        if cookie:
            key = "s:" + cookie
            p = cache.get(key)
            if p is None:
                p = auth.principal_from_session(state.engine, cookie, scope_of)
                if p is not None:
                    cache.put(key, p)
    if p is None:
        raise AuthError("authentication required: log in or send an API token")
    request.state.principal = p
    return p


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def permission(name: str) -> Callable[[Principal], Principal]:
    """A dependency that passes the caller through when their role allows ``name`` (else 403)."""

    async def dep(p: PrincipalDep) -> Principal:
        require(p.role, name)
        return p

    return dep


async def csrf_protect(request: Request, p: PrincipalDep) -> Principal:
    """Unsafe requests made with a session cookie must carry the session's CSRF token."""
    supplied = request.headers.get(auth.CSRF_HEADER)
    if not supplied and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        supplied = value if isinstance(value, str) else None
    auth.check_csrf(p, supplied)
    return p
