"""KPI cards (环比, 同比, target and 完成率) and the county ranking: REST and the overview's panels.

``GET /api/kpis`` and ``GET /api/kpis/counties`` return :func:`churnradar.views.kpis.kpi_cards`
and :func:`~churnradar.views.kpis.county_ranking` for the caller's regions. The overview's partials
``_kpi_cards.html`` and ``_county_ranking.html`` call the same views through the template functions
registered here (``kpi_panel``, ``ranking_panel``), with the page's filters (month, county or grid)
when it has them.

Targets are the file given to ``churnradar serve --targets`` (``app.state.targets``); without one
no card shows a 完成率.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from jinja2 import pass_context

from churnradar.api.deps import PrincipalDep
from churnradar.api.messages import tr
from churnradar.api.routes.pages import templates
from churnradar.views import kpis as kpi_views
from churnradar.views._json import jsonable

router = APIRouter(prefix="/api", tags=["analytics"])

MONTH = r"^\d{4}-?\d{2}(-01)?$"
REGION = r"^[A-Za-z0-9_.:\-]+$"


def targets_of(request: Request) -> Any:
    """The targets the app was started with (None without a targets file)."""
    return getattr(request.app.state, "targets", None)


@router.get("/kpis")
def kpis(
    p: PrincipalDep,
    request: Request,
    month: Annotated[str | None, Query(max_length=10, pattern=MONTH)] = None,
    region: Annotated[str | None, Query(max_length=64, pattern=REGION)] = None,
) -> dict[str, Any]:
    """The KPI cards of ``month`` (default: the latest complete month) for the caller's regions, or
    ``region`` (a county or grid id within them; 404 otherwise): each card's ``value``,
    ``previous`` (the month before) and ``last_year`` (the same month a year before) with their
    changes ``mom`` (环比) and ``yoy`` (同比; a ratio's change is a difference), ``provisional``
    flags, ``target`` and ``attainment`` (完成率; null without a target), and the metric's 口径."""
    store = request.app.state.data.store
    return jsonable(kpi_views.kpi_cards(store, p.scope, month, region, targets_of(request)))


@router.get("/kpis/counties")
def county_ranking(
    p: PrincipalDep,
    request: Request,
    month: Annotated[str | None, Query(max_length=10, pattern=MONTH)] = None,
    kpi: Annotated[str, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = kpi_views.DEFAULT_RANKING,
) -> dict[str, Any]:
    """The counties of the caller's regions ranked by ``kpi`` (default: 离网率) for ``month``:
    rank, value, the month before's value and 环比, the county's target and 完成率."""
    store = request.app.state.data.store
    return jsonable(kpi_views.county_ranking(store, p.scope, month, kpi, targets_of(request)))


# -- the overview's panels ---------------------------------------------------------------------
def _page_filters(ctx: Any) -> tuple[str | date | None, str | None]:
    """The month and region the page shows: the overview's filters (``filters``: the month, and the
    county or grid chosen) when the page has them, else the ``month`` query parameter; (None, None)
    for the latest complete month of the reader's whole scope."""
    f = ctx.get("filters")
    if f is not None and hasattr(f, "month"):
        return f.month, getattr(f, "region", None)
    q = ctx["request"].query_params.get("month")
    return q or None, None


@pass_context
def kpi_panel(ctx: Any) -> dict[str, Any]:
    request = ctx["request"]
    p = request.state.principal
    month, region = _page_filters(ctx)
    return kpi_views.kpi_cards(request.app.state.data.store, p.scope, month, region, targets_of(request))


@pass_context
def ranking_panel(ctx: Any) -> dict[str, Any]:
    """The county ranking of the page's month (every county of the reader's scope, whichever county
    the page is narrowed to: the ranking compares them)."""
    request = ctx["request"]
    p = request.state.principal
    kpi = request.query_params.get("rank") or kpi_views.DEFAULT_RANKING
    month, _ = _page_filters(ctx)
    return kpi_views.county_ranking(request.app.state.data.store, p.scope, month, kpi, targets_of(request))


def kpi_value(value: Any, unit: str, lang: str) -> str:
    """A card's figure: a ratio as a percentage, counts and yuan with separators, per-line figures
    and volumes with two decimals; "—" without a value."""
    if value is None:
        return "—"
    v = float(value)
    if unit == "ratio":
        return f"{v * 100:.2f}%"
    if unit == "pp":
        return tr("kpis.pp", lang, v=f"{v * 100:+.2f}")
    if unit in ("lines", "yuan"):
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def kpi_change(value: Any, kind: str, lang: str) -> str:
    """环比 / 同比: a share as a signed percentage, a difference of ratios in percentage points;
    "—" without a value."""
    if value is None:
        return "—"
    v = float(value) * 100
    if kind == "difference":
        return tr("kpis.pp", lang, v=f"{v:+.2f}")
    return f"{v:+.2f}%" if abs(v) < 1 else f"{v:+.1f}%"


def _ctx_lang(ctx: Any) -> str:
    return ctx.get("lang", "zh")


templates.env.globals.update(
    kpi_panel=kpi_panel,
    ranking_panel=ranking_panel,
    kpi_value=pass_context(lambda ctx, v, unit: kpi_value(v, unit, _ctx_lang(ctx))),
    kpi_change=pass_context(lambda ctx, v, kind: kpi_change(v, kind, _ctx_lang(ctx))),
)
