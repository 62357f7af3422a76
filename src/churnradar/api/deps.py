"""FastAPI dependencies: who is calling, what they may do, CSRF on unsafe requests."""

from __future__ import annotations

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


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Principal:
    """The authenticated caller (API token first, then the session cookie), or 401.

    The account is read from the operational store on every request (one indexed read of the token
    or session with its user), never from a cache: removing a user, revoking a token, ending a
    session or changing a role or regions takes effect on the caller's next request. Async on
    purpose: the read is short, cheaper than a hop through the thread pool.
    """
    state = request.app.state
    data: AnalyticalData = state.data

    def scope_of(role, regions):
        return resolve_scope(role, regions, data.region_rows())

    p = None
    if credentials is not None:
        p = auth.principal_from_token(state.engine, credentials.credentials, scope_of)
        if p is None:
            raise AuthError("invalid API token")
    else:
        cookie = request.cookies.get(auth.SESSION_COOKIE)
        if cookie:
            p = auth.principal_from_session(state.engine, cookie, scope_of)
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
