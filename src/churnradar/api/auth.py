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

from churnradar.api.roles import ALL_REGION_ROLES, NotInScope, PermissionDenied, Role, Scope, parse_role
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
    """A user account request is invalid (unknown user, duplicate name, weak password...).

    ``key`` names the message in the catalogue (``admin.err.*``) and ``values`` fill it, so the
    dashboard can say it in the reader's language; the message itself stays English for the CLI.
    """

    def __init__(self, message: str, key: str = "", **values: Any):
        super().__init__(message)
        self.key = key
        self.values = values


class NoSuchAccount(UserError, NotInScope):
    """The named account or API token does not exist (answered as 404)."""


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
def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(
            f"password too short ({len(password)} characters); expected at least {MIN_PASSWORD}",
            "admin.err.password_short",
            n=len(password),
            min=MIN_PASSWORD,
        )


def _role_and_regions(
    role: str, regions: list[str] | tuple[str, ...], known_regions: set[str] | None
) -> tuple[Role, list[str]]:
    """The role and its sorted regions, checked: all-region roles take none, the others at least one
    county or grid id (of ``known_regions`` when given)."""
    try:
        r = parse_role(role)
    except PermissionDenied as exc:
        raise UserError(str(exc), "admin.err.role") from None
    regs = sorted({x.strip() for x in regions if x.strip()})
    if r in ALL_REGION_ROLES and regs:
        raise UserError(f"role {r.value} sees every region; give it no regions", "admin.err.all_regions")
    if r not in ALL_REGION_ROLES and not regs:
        raise UserError(
            f"role {r.value} needs at least one region (county or grid id)", "admin.err.needs_region"
        )
    if known_regions is not None:
        unknown = [x for x in regs if x not in known_regions]
        if unknown:
            raise UserError(
                f"unknown region(s) {', '.join(unknown)}; expected county or grid ids such as "
                f"{', '.join(sorted(known_regions)[:4])}",
                "admin.err.unknown_region",
                regions=", ".join(unknown),
            )
    return r, regs


def _user_id(conn: Any, username: str) -> int:
    uid = conn.execute(sa.select(app_user.c.user_id).where(app_user.c.username == username)).scalar()
    if uid is None:
        raise NoSuchAccount(f"no user {username!r}", "admin.err.no_user", username=username)
    return int(uid)


def add_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    regions: list[str] | tuple[str, ...] = (),
    *,
    known_regions: set[str] | None = None,
    actor: str = "cli",
    client: str = "",
) -> dict[str, Any]:
    """Create an account. Regional managers and agents need at least one county or grid id."""
    if not USERNAME_RE.match(username):
        raise UserError(
            f"username {username!r} is not allowed; use 1-64 letters, digits, '_', '.', '-'",
            "admin.err.username",
        )
    _check_password(password)
    r, regs = _role_and_regions(role, regions, known_regions)
    with engine.begin() as conn:
        exists = conn.execute(sa.select(app_user.c.user_id).where(app_user.c.username == username)).first()
        if exists:
            raise UserError(f"user {username!r} already exists", "admin.err.exists", username=username)
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
            conn,
            actor=actor,
            action="user.add",
            target=username,
            client=client,
            detail={"role": r.value, "regions": regs},
        )
    return {"username": username, "role": r.value, "regions": regs}


def list_users(engine: Engine) -> list[dict[str, Any]]:
    """Every account (never its password hash) with its role, regions and live API tokens, by name."""
    live = (
        sa.select(sa.func.count())
        .where(api_token.c.user_id == app_user.c.user_id, ~api_token.c.revoked)
        .scalar_subquery()
    )
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                app_user.c.username,
                app_user.c.role,
                app_user.c.regions,
                app_user.c.created_at,
                app_user.c.active,
                live.label("tokens"),
            ).order_by(app_user.c.username)
        ).all()
    return [
        {
            "username": u,
            "role": r,
            "regions": [x for x in g.split(",") if x],
            "created_at": c,
            "active": bool(a),
            "tokens": int(n or 0),
        }
        for u, r, g, c, a, n in rows
    ]


def _other_admins(conn: Any, uid: int) -> int:
    """Active admins other than account ``uid``."""
    c = app_user.c
    return conn.execute(
        sa.select(sa.func.count()).where(c.role == Role.admin.value, c.active, c.user_id != uid)
    ).scalar()


def _keep_an_admin(conn: Any, uid: int, role: str, username: str, doing: str) -> None:
    """Refuse ``doing`` (removing or demoting the admin ``username``) when no other admin is left.

    Runs in the write transaction, serialised against every other change of admins, so two admins
    removing each other at once cannot leave none."""
    serialise(conn, "churnradar.admins")
    if role == Role.admin.value and _other_admins(conn, uid) == 0:
        raise UserError(
            f"cannot {doing} {username!r}: it is the last administrator; add another administrator first",
            "admin.err.last_admin",
            username=username,
        )


def update_user(
    engine: Engine,
    username: str,
    *,
    role: str | None = None,
    regions: list[str] | tuple[str, ...] | None = None,
    password: str | None = None,
    known_regions: set[str] | None = None,
    actor: str = "cli",
    client: str = "",
) -> dict[str, Any]:
    """Change an account's role and regions, or set a new password (which ends its sessions).

    Given alone, ``role`` keeps the account's regions and ``regions`` keeps its role; the pair is
    checked as :func:`add_user` checks it. The last administrator cannot be given another role.
    The audit row names what changed, never the password.
    """
    if password is not None:
        _check_password(password)
    with engine.begin() as conn:
        uid = _user_id(conn, username)
        row = conn.execute(
            sa.select(app_user.c.role, app_user.c.regions).where(app_user.c.user_id == uid)
        ).one()
        new_role = row.role if role is None else role
        if regions is not None:
            new_regions = list(regions)
        elif role is not None and role in {r.value for r in ALL_REGION_ROLES}:
            new_regions = []  # an all-region role takes no regions
        else:
            new_regions = [x for x in row.regions.split(",") if x]
        r, regs = _role_and_regions(new_role, new_regions, known_regions)
        if r != Role.admin:
            _keep_an_admin(conn, uid, row.role, username, "change the role of")
        values: dict[str, Any] = {"role": r.value, "regions": ",".join(regs)}
        changed: dict[str, Any] = {}
        if r.value != row.role:
            changed["role"] = r.value
        if ",".join(regs) != row.regions:
            changed["regions"] = regs
        if password is not None:
            values["password_hash"] = hash_password(password)
            conn.execute(web_session.delete().where(web_session.c.user_id == uid))
        conn.execute(app_user.update().where(app_user.c.user_id == uid).values(**values))
        if changed:
            audit(conn, actor=actor, action="user.update", target=username, client=client, detail=changed)
        if password is not None:
            audit(conn, actor=actor, action="user.password", target=username, client=client)
    return {"username": username, "role": r.value, "regions": regs}


def remove_user(engine: Engine, username: str, *, actor: str = "cli", client: str = "") -> None:
    """Remove an account with its sessions and API tokens. An administrator cannot remove their own
    account (``actor``), and the last administrator is never removed."""
    with engine.begin() as conn:
        uid = _user_id(conn, username)
        if actor == username:
            raise UserError(
                f"cannot remove {username!r}: it is your own account; another administrator may remove it",
                "admin.err.self",
                username=username,
            )
        role = conn.execute(sa.select(app_user.c.role).where(app_user.c.user_id == uid)).scalar()
        _keep_an_admin(conn, uid, role, username, "remove")
        conn.execute(web_session.delete().where(web_session.c.user_id == uid))
        conn.execute(api_token.delete().where(api_token.c.user_id == uid))
        conn.execute(app_user.delete().where(app_user.c.user_id == uid))
        audit(conn, actor=actor, action="user.remove", target=username, client=client)


def create_token(
    engine: Engine, username: str, label: str = "", *, actor: str = "cli", client: str = ""
) -> str:
    """A new API token for ``username``; the returned text is shown once and never stored."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in label):
        raise UserError(
            "token label holds control characters; expected plain text such as 'nightly export'",
            "admin.err.label",
        )
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
    with engine.begin() as conn:
        uid = _user_id(conn, username)
        conn.execute(
            api_token.insert().values(
                token_id=token_id,
                token_hash=_sha256(secret),
                user_id=uid,
                label=label[:128],
                created_at=now(),
            )
        )
        audit(
            conn,
            actor=actor,
            action="token.create",
            target=username,
            client=client,
            detail={"token_id": token_id, "label": label[:128]},
        )
    return f"cr_{token_id}_{secret}"


def token_id_of(token: str) -> str:
    """The public id of a token text ``cr_<id>_<secret>`` (what lists and the audit log show)."""
    return token.split("_")[1]


def list_tokens(engine: Engine, username: str | None = None) -> list[dict[str, Any]]:
    """API tokens (never their secret), newest first: id, owner, label, created, revoked."""
    q = (
        sa.select(
            api_token.c.token_id,
            app_user.c.username,
            api_token.c.label,
            api_token.c.created_at,
            api_token.c.revoked,
        )
        .join(app_user, app_user.c.user_id == api_token.c.user_id)
        .order_by(api_token.c.created_at.desc(), api_token.c.token_id)
    )
    if username is not None:
        q = q.where(app_user.c.username == username)
    with engine.connect() as conn:
        return [{**r, "revoked": bool(r["revoked"])} for r in conn.execute(q).mappings().all()]


def revoke_token(engine: Engine, token_id: str, *, actor: str = "cli", client: str = "") -> dict[str, Any]:
    """Revoke an API token by its id: it stops working on its next request. Revoking twice is a no-op."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(api_token.c.revoked, app_user.c.username)
            .join(app_user, app_user.c.user_id == api_token.c.user_id)
            .where(api_token.c.token_id == token_id)
        ).first()
        if row is None:
            raise NoSuchAccount(f"no API token {token_id!r}", "admin.err.no_token", token_id=token_id)
        if not row.revoked:
            conn.execute(api_token.update().where(api_token.c.token_id == token_id).values(revoked=True))
            audit(
                conn,
                actor=actor,
                action="token.revoke",
                target=row.username,
                client=client,
                detail={"token_id": token_id},
            )
    return {"token_id": token_id, "username": row.username, "revoked": True}


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
