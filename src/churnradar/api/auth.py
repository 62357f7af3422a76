"""Accounts, sessions, CSRF, API tokens and login rate limiting, on the operational store.

* Passwords are hashed with argon2id (``argon2-cffi``); the hash is all the store keeps.
* A browser session is a random cookie value (HttpOnly, SameSite=Lax, Secure behind TLS); the store
  keeps only its SHA-256, with an expiry and the session's CSRF token.
* Forms and every unsafe request made with a session cookie carry that CSRF token (hidden field
  ``csrf_token`` or header ``X-CSRF-Token``). The login form uses a double-submit cookie.
* Machines use API tokens ``cr_<id>_<secret>`` in ``Authorization: Bearer``; the store keeps the
  secret's SHA-256 only. Token requests need no CSRF token (no ambient credentials).
* Logins are rate limited per username and per client address. An attempt is counted *before*
  its password is checked, in one serialised step with the limit check, so concurrent attempts
  cannot all pass the check before any of them is counted. The client address is the connection's
  peer, or the address a configured proxy forwarded (``CHURNRADAR_TRUSTED_PROXIES``; none by
  default). Logins, exports and writes are written to ``audit_log``.
* Every request reads the caller's account afresh: a removed user, a revoked token, an ended
  session or a changed role or region takes effect on the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from churnradar.api.roles import ALL_REGION_ROLES, Role, Scope, parse_role
from churnradar.errors import ChurnRadarError
from churnradar.opstore import api_token, app_user, audit, login_attempt, now, serialise, web_session

SESSION_COOKIE = "churnradar_session"
LOGIN_CSRF_COOKIE = "churnradar_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TTL = timedelta(hours=12)

#: Failed logins allowed per username (and, more, per client address) within the window.
RATE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
MIN_PASSWORD = 8

_hasher = PasswordHasher()


class AuthError(ChurnRadarError):
    """Missing or wrong credentials (answered as 401)."""


class RateLimited(ChurnRadarError):
    """Too many failed logins (answered as 429 with Retry-After)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class CsrfError(ChurnRadarError):
    """An unsafe request with a session cookie lacks the session's CSRF token (answered as 403)."""


class UserError(ChurnRadarError):
    """A user account request is invalid (unknown user, duplicate name, weak password...)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account, its role and region scope, and how it authenticated."""

    user_id: int
    username: str
    role: Role
    regions: tuple[str, ...]
    scope: Scope
    via: str  # "session" or "token"
    csrf_token: str = ""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def set_hasher(hasher: PasswordHasher) -> None:
    """Use other argon2 parameters (tests use cheaper ones; production keeps the defaults)."""
    global _hasher
    _hasher = hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# a hash to verify against for unknown users, so timing does not reveal which names exist
_DUMMY_HASH: str | None = None


def _dummy_verify(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    verify_password(_DUMMY_HASH, password)


# -- accounts -----------------------------------------------------------------------------------
def add_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    regions: list[str] | tuple[str, ...] = (),
    *,
    known_regions: set[str] | None = None,
    actor: str = "cli",
) -> dict[str, Any]:
    """Create an account. Regional managers and agents need at least one county or grid id."""
    if not USERNAME_RE.match(username):
        raise UserError(f"username {username!r} is not allowed; use 1-64 letters, digits, '_', '.', '-'")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short ({len(password)} characters); expected at least {MIN_PASSWORD}")
    r = parse_role(role)
    regs = sorted({x.strip() for x in regions if x.strip()})
    if r in ALL_REGION_ROLES and regs:
        raise UserError(f"role {r.value} sees every region; do not give --region")
    if r not in ALL_REGION_ROLES and not regs:
        raise UserError(f"role {r.value} needs at least one region (county or grid id)")
    if known_regions is not None:
        unknown = [x for x in regs if x not in known_regions]
        if unknown:
            raise UserError(
                f"unknown region(s) {', '.join(unknown)}; expected county or grid ids such as "
                f"{', '.join(sorted(known_regions)[:4])}"
            )
    with engine.begin() as conn:
        exists = conn.execute(sa.select(app_user.c.user_id).where(app_user.c.username == username)).first()
        if exists:
            raise UserError(f"user {username!r} already exists")
        conn.execute(
            app_user.insert().values(
                username=username,
                password_hash=hash_password(password),
                role=r.value,
                regions=",".join(regs),
                created_at=now(),
                active=True,
            )
        )
        audit(
            conn, actor=actor, action="user.add", target=username, detail={"role": r.value, "regions": regs}
        )
    return {"username": username, "role": r.value, "regions": regs}


def list_users(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                app_user.c.username, app_user.c.role, app_user.c.regions, app_user.c.created_at
            ).order_by(app_user.c.username)
        ).all()
    return [
        {"username": u, "role": r, "regions": [x for x in g.split(",") if x], "created_at": c}
        for u, r, g, c in rows
    ]


def remove_user(engine: Engine, username: str, *, actor: str = "cli") -> None:
    with engine.begin() as conn:
        uid = conn.execute(sa.select(app_user.c.user_id).where(app_user.c.username == username)).scalar()
        if uid is None:
            raise UserError(f"no user {username!r}")
        conn.execute(web_session.delete().where(web_session.c.user_id == uid))
        conn.execute(api_token.delete().where(api_token.c.user_id == uid))
        conn.execute(app_user.delete().where(app_user.c.user_id == uid))
        audit(conn, actor=actor, action="user.remove", target=username)


def create_token(engine: Engine, username: str, label: str = "", *, actor: str = "cli") -> str:
    """A new API token for ``username``; the returned text is shown once and never stored."""
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
    with engine.begin() as conn:
        uid = conn.execute(sa.select(app_user.c.user_id).where(app_user.c.username == username)).scalar()
        if uid is None:
            raise UserError(f"no user {username!r}")
        conn.execute(
            api_token.insert().values(
                token_id=token_id,
                token_hash=_sha256(secret),
                user_id=uid,
                label=label[:128],
                created_at=now(),
            )
        )
        audit(conn, actor=actor, action="token.create", target=username, detail={"token_id": token_id})
    return f"cr_{token_id}_{secret}"


# -- login, rate limit, sessions ---------------------------------------------------------------
_LOGIN_LOCK = threading.Lock()


def _limited() -> RateLimited:
    return RateLimited(
        "too many failed logins; try again later", retry_after=int(RATE_WINDOW.total_seconds())
    )


def _failures(conn: Any, since: Any, column: str, value: str) -> int:
    """Failed logins since ``since`` whose ``column`` (username or client) is ``value``."""
    c = login_attempt.c
    return conn.execute(
        sa.select(sa.func.count()).where(c[column] == value, c.at >= since, ~c.success)
    ).scalar()


def reserve_attempt(engine: Engine, username: str, client: str) -> int:
    """Count a login attempt as failed *before* its password is checked; return its id.

    The insert and the count run in one transaction that is serialised against every other login
    (SQLite: the insert takes the database's write lock first; PostgreSQL: a transaction-scoped
    advisory lock; within a process: a lock too). The attempt that would go over a limit is rolled
    back and refused, so at most ``MAX_FAILURES_PER_USER`` passwords of an account are ever checked
    in the window, however many requests arrive at once.
    """
    since = now() - RATE_WINDOW
    with _LOGIN_LOCK, engine.begin() as conn:
        serialise(conn, "churnradar.login")
        attempt_id = conn.execute(
            login_attempt.insert().values(username=username, client=client[:64], at=now(), success=False)
        ).inserted_primary_key[0]
        if (
            _failures(conn, since, "username", username) > MAX_FAILURES_PER_USER
            or _failures(conn, since, "client", client[:64]) > MAX_FAILURES_PER_CLIENT
        ):
            raise _limited()  # leaves the transaction: this attempt is not counted
    return int(attempt_id)


def authenticate(engine: Engine, username: str, password: str, client: str) -> int:
    """Check a password login (rate limited, audited); return the user id or raise."""
    username = username.strip()[:64]
    attempt_id = reserve_attempt(engine, username, client)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(app_user.c.user_id, app_user.c.password_hash, app_user.c.active).where(
                app_user.c.username == username
            )
        ).first()
    ok = False
    if row is None:
        _dummy_verify(password)
    else:
        ok = bool(row.active) and verify_password(row.password_hash, password)
    with engine.begin() as conn:
        if ok:
            conn.execute(
                login_attempt.update().where(login_attempt.c.attempt_id == attempt_id).values(success=True)
            )
        audit(conn, actor=username, action="login" if ok else "login.failed", target=username, client=client)
    if not ok:
        raise AuthError("wrong username or password")
    return int(row.user_id)


def create_session(engine: Engine, user_id: int) -> tuple[str, str]:
    """Start a session; return (cookie value, CSRF token)."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    t = now()
    with engine.begin() as conn:
        conn.execute(web_session.delete().where(web_session.c.expires_at < t))
        conn.execute(
            web_session.insert().values(
                session_hash=_sha256(cookie),
                user_id=user_id,
                csrf_token=csrf,
                created_at=t,
                expires_at=t + SESSION_TTL,
            )
        )
    return cookie, csrf


def end_session(engine: Engine, cookie: str) -> None:
    with engine.begin() as conn:
        conn.execute(web_session.delete().where(web_session.c.session_hash == _sha256(cookie)))


_USER_COLUMNS = (app_user.c.user_id, app_user.c.username, app_user.c.role, app_user.c.regions)


def principal_from_session(engine: Engine, cookie: str, scope_of: Any) -> Principal | None:
    """The caller of a session cookie: one read of the session joined to its (active) user."""
    q = (
        sa.select(*_USER_COLUMNS, web_session.c.csrf_token, web_session.c.expires_at)
        .join(app_user, app_user.c.user_id == web_session.c.user_id)
        .where(web_session.c.session_hash == _sha256(cookie), app_user.c.active)
    )
    with engine.connect() as conn:
        u = conn.execute(q).first()
    if u is None:
        return None
    expires = u.expires_at if u.expires_at.tzinfo else u.expires_at.replace(tzinfo=now().tzinfo)
    if expires < now():
        return None
    return _principal(u, "session", u.csrf_token, scope_of)


def principal_from_token(engine: Engine, token: str, scope_of: Any) -> Principal | None:
    """The caller of an API token: one read of the (unrevoked) token joined to its (active) user."""
    m = re.fullmatch(r"cr_([0-9a-f]{12})_([A-Za-z0-9_\-]{16,64})", token.strip())
    if not m:
        return None
    q = (
        sa.select(*_USER_COLUMNS, api_token.c.token_hash)
        .join(app_user, app_user.c.user_id == api_token.c.user_id)
        .where(api_token.c.token_id == m.group(1), ~api_token.c.revoked, app_user.c.active)
    )
    with engine.connect() as conn:
        u = conn.execute(q).first()
    if u is None or not hmac.compare_digest(u.token_hash, _sha256(m.group(2))):
        return None
    return _principal(u, "token", "", scope_of)


def _principal(u: Any, via: str, csrf: str, scope_of: Any) -> Principal:
    role = Role(u.role)
    regions = tuple(x for x in u.regions.split(",") if x)
    return Principal(u.user_id, u.username, role, regions, scope_of(role, list(regions)), via, csrf)


def check_csrf(principal: Principal, supplied: str | None) -> None:
    if principal.via != "session":
        return
    if not supplied or not hmac.compare_digest(supplied, principal.csrf_token):
        raise CsrfError("missing or wrong CSRF token")
