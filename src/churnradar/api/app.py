"""The app factory: analytical store (read-only) + operational store + routes + error handling."""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from churnradar.api import auth
from churnradar.api.data import AnalyticalData
from churnradar.api.errors import status_of
from churnradar.api.routes import ROUTERS
from churnradar.api.routes.pages import error_page
from churnradar.errors import ChurnRadarError, ConfigError
from churnradar.opstore import default_url, open_engine

log = logging.getLogger("churnradar.api")

HERE = Path(__file__).parent
VENDOR = HERE.parent / "_static" / "vendor"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and request.url.path != "/openapi.json"


def _vary_on_htmx(headers: list[tuple[bytes, bytes]], scope: dict) -> list[tuple[bytes, bytes]]:
    """Headers of an HTML page that htmx may also request as a fragment under the same URL.

    ``Vary: HX-Request`` tells caches that the answer depends on that header; a fragment answer
    (the request carried ``HX-Request``) is also ``no-store``, so Back after filtering or paging
    never shows the bare fragment from the browser's cache.
    """
    vary = [v for k, v in headers if k.lower() == b"vary"]
    words = {w.strip().lower() for v in vary for w in v.split(b",")}
    if b"hx-request" not in words and b"*" not in words:
        merged = b", ".join([*vary, b"HX-Request"])
        headers = [(k, v) for k, v in headers if k.lower() != b"vary"] + [(b"vary", merged)]
    if any(k.lower() == b"hx-request" for k, _ in scope.get("headers", [])):
        headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
        headers.append((b"cache-control", b"no-store"))
    return headers


class SecurityHeaders:
    """Pure ASGI middleware adding security headers (cheaper than BaseHTTPMiddleware)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", CSP.encode()),
                ]
                path = scope["path"]
                if path.startswith("/api/"):
                    headers.append((b"cache-control", b"no-store"))
                elif not path.startswith("/static/"):
                    headers = _vary_on_htmx(headers, scope)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


TRUSTED_PROXIES_ENV = "CHURNRADAR_TRUSTED_PROXIES"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` → networks; an empty text trusts no proxy."""
    out = []
    for part in (x.strip() for x in text.replace(";", ",").replace(" ", ",").split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                f"{TRUSTED_PROXIES_ENV}: {part!r} is not an IP address or network; expected e.g. "
                "127.0.0.1 or 10.0.0.0/8, separated by commas"
            ) from None
    return tuple(out)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


class ProxyHeaders:
    """Pure ASGI middleware: the client address and scheme a *configured* reverse proxy forwarded.

    Only when the connection's peer lies in one of ``networks`` are ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` read; the client is then the right-most forwarded address that is not
    itself a trusted proxy (addresses further left were written by the client and prove nothing).
    From any other peer the headers are ignored, so a client cannot pick the address that login
    rate limits and the audit log count. With no networks (the default) nothing is rewritten.
    """

    def __init__(self, app: Any, networks: tuple[Network, ...] = ()):
        self.app = app
        self.networks = networks

    def _trusted(self, host: str) -> bool:
        ip = _address(host)
        return ip is not None and any(ip in n for n in self.networks)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self.networks and scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            if peer and self._trusted(peer[0]):
                scope = self._rewrite(scope)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: dict) -> dict:
        forwarded, proto = [], None
        for k, v in scope.get("headers", []):
            if k == b"x-forwarded-for":
                forwarded += [h.strip() for h in v.decode("latin-1").split(",") if h.strip()]
            elif k == b"x-forwarded-proto":
                proto = v.decode("latin-1").split(",")[-1].strip().lower()
        scope = dict(scope)
        for hop in reversed(forwarded):
            ip = _address(hop)
            if ip is None:
                break  # garbage in the chain: keep the proxy's own address
            if not self._trusted(hop):
                scope["client"] = (str(ip), 0)
                break
        if proto in ("http", "https"):
            scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        return scope


def create_app(
    store_path: str | Path,
    database_url: str | None = None,
    *,
    title: str = "churnradar",
    trusted_proxies: str | None = None,
) -> FastAPI:
    """The FastAPI app serving the REST API under ``/api/`` and the dashboard.

    ``store_path`` is the analytical store (opened read-only); ``database_url`` the operational
    store (default: ``CHURNRADAR_DATABASE_URL`` or a SQLite file beside the analytical store),
    migrated to the current version on start. ``trusted_proxies`` (default:
    ``CHURNRADAR_TRUSTED_PROXIES``, else none) lists the addresses or networks of reverse proxies
    whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed.
    """
    networks = parse_trusted_proxies(
        os.environ.get(TRUSTED_PROXIES_ENV, "") if trusted_proxies is None else trusted_proxies
    )
    data = AnalyticalData(store_path)
    engine = open_engine(database_url or default_url(store_path))

    app = FastAPI(
        title=title,
        version=_version(),
        description="Churn analytics and retention: scores, reasons, risk lists, campaigns, reports. "
        "Every route except /api/health needs a session cookie or an API token; results are limited "
        "to the caller's regions.",
        docs_url=None,  # Swagger UI would load scripts from a CDN; the spec is at /openapi.json
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.data = data
    app.state.engine = engine
    app.state.store_path = Path(store_path)
    app.state.database_url = database_url
    app.state.ops = None
    app.state.trusted_proxies = networks
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ProxyHeaders, networks=networks)

    app.mount("/static/app", StaticFiles(directory=HERE / "static"), name="static_app")
    if VENDOR.is_dir():
        app.mount("/static/vendor", StaticFiles(directory=VENDOR), name="static_vendor")
    else:
        log.warning("front-end assets missing in %s: run scripts/install_assets.sh", VENDOR)

    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(ChurnRadarError)
    async def _library_error(request: Request, exc: ChurnRadarError) -> Response:
        status = status_of(exc)
        if _wants_html(request) and request.method == "GET":
            if status == 401:
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            return error_page(request, status, str(exc))
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, auth.RateLimited) else None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(
            {"error": type(exc).__name__, "detail": str(exc)}, status_code=status, headers=headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request) and request.method == "GET" and exc.status_code in (403, 404):
            return error_page(request, exc.status_code, str(exc.detail))
        return JSONResponse(
            {"error": "HTTPError", "detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"error": "ValidationError", "detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"error": "InternalError", "detail": "internal error; see the server log"}, status_code=500
        )

    return app


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("churnradar")
    except Exception:  # pragma: no cover
        return "0"
