"""Dashboard pages: the risk list (filters, paging, export link) and a subscriber's page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from churnradar.api.data import RiskFilters
from churnradar.api.deps import PrincipalDep
from churnradar.api.messages import tr
from churnradar.api.routes.pages import (
    SAFE_ID,
    _safe_next,
    filter_bar,
    lang_of,
    render,
    wants_fragment,
)
from churnradar.views.risk import SORT_KEYS

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


def _legacy_region(request: Request, region: str | None) -> dict[str, str]:
    """``region=`` of older links (a county or grid id) as the bar's ``county`` and ``grid``."""
    if not region or request.query_params.get("county") or request.query_params.get("grid"):
        return {}
    county_of = dict(request.app.state.data.region_rows())
    if region in county_of:
        return {"county": county_of[region], "grid": region}
    return {"county": region}


@router.get("/risk")
def risk_page(
    request: Request,
    p: PrincipalDep,
    region: Annotated[str | None, Query(max_length=64)] = None,
    sort: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZES[0],
) -> Response:
    """The risk list with the filter bar: region (county → grid), customer group, brand, package,
    channel, segment, value tier, risk level and line status (active by default); sortable by a
    header (``sort`` in the URL), paged; the export links carry every filter shown."""
    data = request.app.state.data
    params = {**request.query_params, **_legacy_region(request, region)}
    f = data.filters(p.scope, "risk", params, strict=False)
    sort = sort if sort and sort.lstrip("-") in SORT_KEYS else None
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    rf = RiskFilters(
        county=f.county,
        grid=f.grid,
        customer_group=f.customer_group,
        brand=f.brand,
        package=f.package,
        channel=f.channel,
        segment=f.segment,
        value=f.value,
        risk=f.risk,
        status=f.status,
        sort=sort,
        month=f.month,
    )
    result = data.risk_list(p.scope, rf, page=page, page_size=size)
    query = {**f.query(), **({"sort": sort} if sort else {})}
    paging = {**query, **({"size": size} if size != PAGE_SIZES[0] else {})}
    lang = lang_of(request)
    names = {
        pk["package_id"]: (pk.get("package_name_en") if lang == "en" else pk.get("package_name"))
        for pk in data.packages()
    }

    def sort_q(key: str) -> str:
        """The list sorted by ``key``: riskiest first for the probability, else ascending; a second
        click on the sorted column reverses it."""
        first = f"-{key}" if key in ("p", "health", "value") else key
        again = first[1:] if first.startswith("-") else f"-{first}"
        return urlencode(
            {
                **f.query(),
                **({"size": size} if size != PAGE_SIZES[0] else {}),
                "sort": again if sort == first else first,
            }
        )

    ctx = {
        "result": result,
        "package_name": lambda code: names.get(code) or code or "",
        "f": f,
        "sort": sort or "-p",
        "sort_q": sort_q,
        "query": urlencode(query),
        "next_q": urlencode({**paging, "page": page + 1}),
        "prev_q": urlencode({**paging, "page": page - 1}),
        "paging": paging,
        "pages": max(1, -(-result["total"] // size)),
        "size": size,
        "sizes": PAGE_SIZES,
    }
    if wants_fragment(request):
        return render(request, "_risk_table.html", oob=True, **ctx)
    bar = filter_bar(
        request, "risk", f, target="#risk-results", form_id="risk-filters", apply_id="risk-apply"
    )
    bar.update(sizes=PAGE_SIZES, size=size)
    if f.month:  # the score batch chosen, not the newest
        bar["score_month"] = f.month.strftime("%Y-%m")
    return render(request, "risk.html", bar=bar, **ctx)


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
