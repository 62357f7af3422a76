"""Dashboard pages: target lists (choose month, segments and budget, run the optimiser, review the
list) and the campaign made from one; the campaign's agents and list export are on its page.

The pages call the REST routes' functions (:mod:`churnradar.api.routes.targets`,
:mod:`churnradar.api.routes.campaigns`); forms carry the session's CSRF token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from churnradar.api.auth import Principal
from churnradar.api.deps import PrincipalDep, csrf_protect
from churnradar.api.messages import localise, tr
from churnradar.api.roles import require
from churnradar.api.routes.pages import SAFE_ID, lang_of, render
from churnradar.errors import ChurnRadarError

router = APIRouter(include_in_schema=False)


def _go(request: Request, url: str) -> Response:
    """To ``url``: htmx follows ``HX-Redirect``, a plain form the 303."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _failure(request: Request, message: str, status: int, template: str = "_targets_error.html") -> Response:
    """The form's error: a fragment in place for htmx (200, so htmx swaps it in), else the status."""
    status = 200 if request.headers.get("HX-Request") == "true" else status
    return render(request, template, status=status, message=message)


def _validation_message(exc: ValidationError, lang: str, fields: dict[str, str]) -> str:
    """The first invalid field, named in ``lang`` with the value given."""
    e = exc.errors()[0]
    field = str(e.get("loc", ("",))[0])
    return tr(
        "targets.invalid", lang, field=tr(fields.get(field, "targets.field"), lang), value=e.get("input", "")
    )


def _library_message(exc: ChurnRadarError, lang: str) -> str:
    return localise(str(exc), lang) or tr("targets.failed", lang)


@router.get("/targets")
def targets_page(request: Request, p: PrincipalDep) -> Response:
    from churnradar.api.routes.targets import choices

    require(p.role, "targets")
    return render(request, "targets.html", ch=choices(p, request))


PLAN_FIELDS = {
    "as_of": "targets.month",
    "budget": "targets.budget",
    "segments": "targets.segments",
    "min_arm_rows": "targets.min_arm_rows",
}


@router.post("/targets/plan")
def plan_form(
    request: Request,
    p: Annotated[Principal, Depends(csrf_protect)],
    as_of: Annotated[str, Form(max_length=16)] = "",
    budget: Annotated[str, Form(max_length=32)] = "",
    segments: Annotated[list[str] | None, Form()] = None,
    min_arm_rows: Annotated[str, Form(max_length=16)] = "300",
) -> Response:
    """The plan form: runs the optimiser through the REST route's function, then shows the plan."""
    from churnradar.api.routes.targets import create_plan, plan_in

    require(p.role, "targets")
    lang = lang_of(request)
    try:
        body = plan_in(as_of, budget.strip(), segments or [], min_arm_rows.strip() or "300")
    except ValidationError as exc:
        return _failure(request, _validation_message(exc, lang, PLAN_FIELDS), 422)
    try:
        out = create_plan(body, request, p)
    except ChurnRadarError as exc:
        from churnradar.api.errors import status_of

        return _failure(request, _library_message(exc, lang), status_of(exc))
    return _go(request, f"/targets/{out['plan_id']}")


@router.get("/targets/{plan_id}")
def plan_page(
    request: Request,
    p: PrincipalDep,
    plan_id: Annotated[str, Path(pattern=SAFE_ID)],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    from churnradar.api.routes.targets import plan

    require(p.role, "targets")
    return render(
        request, "targets_plan.html", pl=plan(plan_id, p, request, page=page, page_size=50), page=page
    )


CAMPAIGN_FIELDS = {
    "name": "targets.campaign_name",
    "control_share": "targets.control_share",
    "followup_months": "targets.followup",
}


@router.post("/targets/{plan_id}/campaign")
def campaign_form(
    request: Request,
    plan_id: str,
    p: Annotated[Principal, Depends(csrf_protect)],
    name: Annotated[str, Form(max_length=300)] = "",
    control_pct: Annotated[str, Form(max_length=16)] = "20",
    followup_months: Annotated[str, Form(max_length=4)] = "3",
) -> Response:
    """Create the plan's campaign (control share given in per cent), then open the campaign."""
    from churnradar.api.routes.targets import CampaignIn, create_campaign, plan

    require(p.role, "targets")
    plan(plan_id, p, request, page=1, page_size=1)  # a plan outside the caller's regions: 404 first
    lang = lang_of(request)
    try:
        share = float(control_pct) / 100 if control_pct.strip() else 0.2
    except ValueError:
        return _failure(
            request,
            tr("targets.invalid", lang, field=tr("targets.control_share", lang), value=control_pct),
            422,
        )
    try:
        body = CampaignIn(name=name.strip(), control_share=share, followup_months=followup_months)
    except ValidationError as exc:
        return _failure(request, _validation_message(exc, lang, CAMPAIGN_FIELDS), 422)
    try:
        import json

        out = json.loads(create_campaign(plan_id, body, request, p).body)
    except ChurnRadarError as exc:
        from churnradar.api.errors import status_of

        return _failure(request, _library_message(exc, lang), status_of(exc))
    return _go(request, f"/campaigns/{out['campaign_id']}")


@router.post("/campaigns/{campaign_id}/agents")
def agents_form(
    request: Request,
    campaign_id: str,
    p: Annotated[Principal, Depends(csrf_protect)],
    agents: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Assign the campaign's listable members to the agents typed (comma or space separated)."""
    from churnradar.api.routes.campaigns import AgentsIn, assign_agents, contacts

    require(p.role, "targets")
    contacts(
        campaign_id, p, request, page=1, page_size=1, agent=None
    )  # outside the caller's regions: 404 first
    lang = lang_of(request)
    names = [a for a in agents.replace("，", ",").replace(",", " ").split() if a]
    try:
        body = AgentsIn(agents=names)
    except ValidationError:
        value = ", ".join(names) or agents
        return _failure(
            request, tr("targets.invalid", lang, field=tr("targets.agents", lang), value=value), 422
        )
    try:
        assign_agents(campaign_id, body, request, p)
    except ChurnRadarError as exc:
        from churnradar.api.errors import status_of

        return _failure(request, _library_message(exc, lang), status_of(exc))
    return _go(request, f"/campaigns/{campaign_id}")
