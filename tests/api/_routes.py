"""Enumerate the app's routes (never a hand-written list) and fill their parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass

try:  # FastAPI ≥ 0.130 keeps included routers as branches; this walks them
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI: app.routes is already flat
    iter_route_contexts = None

#: Routes anyone may call: liveness, the login form, the language switch, the API description.
PUBLIC = {
    ("GET", "/api/health"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/lang/{code}"),
    ("GET", "/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/docs/oauth2-redirect"),
}


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    params: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def all_calls(app) -> list[Call]:
    routes = iter_route_contexts(app.routes) if iter_route_contexts else app.routes
    out = []
    for r in routes:
        methods = getattr(r, "methods", None)
        if not methods:  # mounts (static files)
            continue
        for m in sorted(set(methods) - {"HEAD", "OPTIONS"}):
            out.append(Call(m, r.path, tuple(re.findall(r"{(\w+)}", r.path))))
    return out


def protected_calls(app) -> list[Call]:
    return [c for c in all_calls(app) if (c.method, c.template) not in PUBLIC]


def fill(template: str, values: dict[str, str]) -> str:
    """The template with its parameters from ``values``; a parameter the caller has no value for
    gets an id that names nothing (``<name>-none``), enough for checks that do not reach the object."""
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), f"{m.group(1)}-none"), template)


def body_for(call: Call, key: str = "test-key-0001") -> dict:
    """A valid body for the POST routes (so a refusal is about access, not validation)."""
    if call.template.endswith("/outcome"):
        if call.is_api:
            return {"json": {"idempotency_key": key, "accepted": False}}
        return {"data": {"idempotency_key": key, "accepted": "no"}}
    if call.template == "/api/score":
        return {"json": {"features": {}}}
    if call.template.endswith("/agents"):
        return {"json": {"agents": ["A01"]}} if call.is_api else {"data": {"agents": "A01"}}
    if call.template.endswith("/{plan_id}/campaign"):
        return {"json": {"name": "access test"}} if call.is_api else {"data": {"name": "access test"}}
    return {}


def query_choices(app, call: Call, name: str) -> list[str]:
    """Every value a query parameter of an API route accepts when its schema is an alternation
    such as ``^(html|xlsx)$`` (read from the app's OpenAPI description); [] when it has none."""
    op = app.openapi()["paths"].get(call.template, {}).get(call.method.lower(), {})
    for p in op.get("parameters", []):
        if p["name"] != name or p["in"] != "query":
            continue
        schema = p.get("schema", {})
        for s in [schema, *schema.get("anyOf", [])]:
            m = re.fullmatch(r"\^\(([\w|\-]+)\)\$", s.get("pattern") or "")
            if m:
                return m.group(1).split("|")
            if s.get("enum"):
                return [str(v) for v in s["enum"]]
    return []
