"""Dashboard pages: the risk list (filters, paging, export link) and a subscriber's page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from churnradar.api.data import RISK_LEVELS, STATUS_FILTERS, RiskFilters
from churnradar.api.deps import PrincipalDep
from churnradar.api.messages import tr
from churnradar.api.routes.pages import (
    SAFE_ID,
    _safe_next,
    _segment_options,
    _value_options,
    lang_of,
    render,
    wants_fragment,
)

router = APIRouter(include_in_schema=False)


#: rows per page the risk list offers (the first is the default)
PAGE_SIZES = (25, 50, 100, 200)


def _back_to_list(request: Request) -> str:
    """Where the subscriber page's back link goes: the list page (with its filters) the user came
    from when it is one of ours, else the risk list."""
    from urllib.parse import urlsplit

    ref = urlsplit(request.headers.get("referer", ""))
    same_site = not ref.netloc or ref.netloc == request.url.netloc
    if same_site and (ref.path in ("/risk", "/campaigns") or ref.path.startswith("/campaigns/")):
        return _safe_next(ref.path + (f"?{ref.query}" if ref.query else ""))
    return "/risk"


def _risk_filters(
    region: str | None,
    segment: str | None,
    package: str | None,
    risk: str | None,
    value: str | None,
    status: str | None = None,
) -> RiskFilters:
    clean = {
        k: (v or None) for k, v in dict(region=region, segment=segment, package=package, value=value).items()
    }
    return RiskFilters(
        **clean,
        risk=risk if risk in RISK_LEVELS else None,
        status=status if status in STATUS_FILTERS else None,
    )


@router.get("/risk")
def risk_page(
    request: Request,
    p: PrincipalDep,
    region: Annotated[str | None, Query(max_length=64)] = None,
    segment: Annotated[str | None, Query(max_length=64)] = None,
    package: Annotated[str | None, Query(max_length=64)] = None,
    risk: Annotated[str | None, Query(max_length=16)] = None,
    value: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZES[0],
) -> Response:
    data = request.app.state.data
    f = _risk_filters(region, segment, package, risk, value, status)
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    result = data.risk_list(p.scope, f, page=page, page_size=size)
    query = {k: v for k, v in f.__dict__.items() if v is not None and k != "min_p"}
    paging = {**query, **({"size": size} if size != PAGE_SIZES[0] else {})}
    lang = lang_of(request)
    names = {
        pk["package_id"]: (pk.get("package_name_en") if lang == "en" else pk.get("package_name"))
        for pk in data.packages()
    }
    ctx = {
        "result": result,
        "package_name": lambda code: names.get(code) or code or "",
        "f": f,
        "query": urlencode(query),
        "next_q": urlencode({**paging, "page": page + 1}),
        "prev_q": urlencode({**paging, "page": page - 1}),
        "size": size,
        "sizes": PAGE_SIZES,
    }
    if wants_fragment(request):
        return render(request, "_risk_table.html", **ctx)
    return render(
        request,
        "risk.html",
        regions=data.regions(p.scope),
        packages=data.packages(),
        segments=_segment_options(lang),
        tiers=_value_options(lang),
        **ctx,
    )


@router.get("/subscribers/{subscriber_id}")
def subscriber_page(
    request: Request, p: PrincipalDep, subscriber_id: Annotated[str, Path(pattern=SAFE_ID)]
) -> Response:
    s = request.app.state.data.subscriber(p.scope, subscriber_id)
    lang = lang_of(request)
    h = s["history"]
    chart = {
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "xAxis": {"type": "category", "data": [str(r["month"])[:7] for r in h]},
        "yAxis": [{"type": "value"}, {"type": "value"}],
        "series": [
            {"name": tr("col.revenue", lang), "type": "bar", "data": [r["revenue"] for r in h]},
            {"name": tr("col.mou", lang), "type": "line", "yAxisIndex": 1, "data": [r["mou"] for r in h]},
        ],
    }
    return render(
        request, "subscriber.html", s=s, sid=subscriber_id, chart=chart, back=_back_to_list(request)
    )
