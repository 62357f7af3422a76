"""Subscriber search by subscriber id or phone number: ``POST /api/search`` and the dashboard's
search box (``POST /search``, which redirects to the subscriber's page).

A phone number travels in a POST body only, is hashed on the server with the operator's key
(:mod:`churnradar.views.search`, ingest's definition) and is never put in a URL, a log line, an
audit row or a message: the page redirects to the subscriber's id. A number or id outside the
caller's regions is answered exactly as one that does not exist. Each search is audited
(``subscriber.search``: whether a phone was looked up and which ids were found, never the query).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from churnradar.api.auth import Principal
from churnradar.api.deps import PrincipalDep, client_of, csrf_protect
from churnradar.api.roles import require
from churnradar.api.routes.pages import lang_of, render
from churnradar.opstore import audit
from churnradar.views import search as search_views
from churnradar.views._json import jsonable

router = APIRouter(prefix="/api", tags=["subscribers"])
pages = APIRouter(include_in_schema=False)

#: longest text the search box posts (the library says so past its own limit)
MAX_FORM = 1024


async def read_write(p: Annotated[Principal, Depends(csrf_protect)]) -> Principal:
    """A search: a POST (CSRF token checked for session callers) by a role that may read subscribers."""
    require(p.role, "read")
    return p


SearchCaller = Annotated[Principal, Depends(read_write)]


class SearchIn(BaseModel):
    q: str = Field(
        min_length=1,
        max_length=search_views.MAX_QUERY,
        description="A subscriber id, or a phone number (hashed on the server with the operator's key)",
    )


def search(request: Request, p: Principal, query: str) -> dict[str, Any]:
    """The caller's matches for ``query`` (library errors propagate), the search audited."""
    result = search_views.find_subscribers(request.app.state.data.store, p.scope, query)
    ids = [m["subscriber_id"] for m in result["matches"]]
    audit(
        request.app.state.engine,
        actor=p.username,
        action="subscriber.search",
        target=",".join(ids),
        client=client_of(request),
        detail={"by_phone": result["by_phone"], "matches": len(ids)},
    )
    return result


@router.post("/search")
def search_api(body: SearchIn, request: Request, p: SearchCaller) -> Response:
    """Find subscribers in your regions by id or phone number: ``{"matches": [...], "by_phone",
    "phone_unavailable"}``. No match (or none in your regions) is an empty list. 503 when the
    query can only be a phone number and the server has no usable HMAC key."""
    try:
        result = search(request, p, body.q)
    except search_views.PhoneSearchUnavailable as exc:
        return JSONResponse({"error": "PhoneSearchUnavailable", "detail": str(exc)}, status_code=503)
    return JSONResponse(jsonable(result))


# -- the dashboard --------------------------------------------------------------------------------
@pages.get("/search")
def search_page(request: Request, p: PrincipalDep) -> Response:
    """The search form alone (where the top bar's box lands without a query)."""
    require(p.role, "read")
    return render(request, "search.html", result=None, problem=None)


@pages.post("/search")
def search_form(
    request: Request, p: SearchCaller, q: Annotated[str, Form(max_length=MAX_FORM)] = ""
) -> Response:
    """Search from the top bar: one match redirects to the subscriber's page; several are listed;
    none is answered 404 with the same page for an unknown number and one of another region."""
    lang = lang_of(request)
    try:
        result = search(request, p, q)
    except search_views.SearchError:
        return render(request, "search.html", status=400, result=None, problem="search.bad_query")
    except search_views.PhoneSearchUnavailable:
        return render(request, "search.html", status=503, result=None, problem="search.no_key")
    matches = result["matches"]
    if len(matches) == 1:
        return RedirectResponse(
            f"/subscribers/{quote(matches[0]['subscriber_id'], safe='')}", status_code=303
        )
    return render(
        request,
        "search.html",
        status=200 if matches else 404,
        result=result,
        problem=None if matches else "search.none",
        county_name=lambda m: (m.get("county_name_en") if lang == "en" else None) or m.get("county_name"),
    )
