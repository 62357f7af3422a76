"""Target lists: run the optimiser for a month, segments and a budget on the caller's regions, review
the list, and create the campaign with its control group from it.

The workflow is :mod:`churnradar.views.targets`; these routes parse and call it. Reading and writing
need the ``targets`` permission (admins, analysts and regional managers; agents work the lists, they
do not make them); writes made with a session cookie carry its CSRF token. A regional manager's
plan holds only subscribers of their regions, and nobody reads or turns into a campaign a plan
with members outside their regions (404, as for anything outside them).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from churnradar.api.auth import Principal
from churnradar.api.data import MAX_PAGE_SIZE
from churnradar.api.deps import csrf_protect, permission
from churnradar.api.roles import require
from churnradar.api.routes.campaigns import ops_engine
from churnradar.errors import ChurnRadarError
from churnradar.views import targets as target_views

router = APIRouter(prefix="/api/targets", tags=["targets"])

PlanId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
TargetsDep = Annotated[Principal, Depends(permission("targets"))]


def _value_error(check: Any, value: Any) -> Any:
    """Run a library check, turning its error into a validation error (422 naming the value)."""
    try:
        return check(value)
    except ChurnRadarError as exc:
        raise ValueError(str(exc)) from None


class PlanIn(BaseModel):
    as_of: str = Field(pattern=r"^\d{4}-\d{2}$", description="A scored month, YYYY-MM (see GET /api/targets)")
    budget: float = Field(description="Expected offer spend, yuan (more than 0)")
    segments: list[str] = Field(default=[], max_length=32, description="Value × risk segments; none: all")
    min_arm_rows: int = Field(
        default=target_views.DEFAULT_MIN_ARM_ROWS,
        ge=1,
        le=1_000_000,
        description="Fewest logged treated members an offer needs for its uplift to be learned",
    )

    @field_validator("budget", mode="before")
    @classmethod
    def _budget(cls, v: Any) -> float:
        return _value_error(target_views.check_budget, v)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    control_share: float = Field(default=0.2, ge=0.0, lt=1.0, description="Share randomised to control")
    followup_months: int = Field(default=3, ge=1, le=12)


def plan_in(
    as_of: str, budget: Any, segments: list[str], min_arm_rows: Any = target_views.DEFAULT_MIN_ARM_ROWS
) -> PlanIn:
    """A plan request from form fields (the dashboard's form), validated as the JSON body is."""
    return PlanIn(as_of=as_of, budget=budget, segments=segments, min_arm_rows=min_arm_rows)


@router.get("")
def choices(p: TargetsDep, request: Request) -> dict[str, Any]:
    """What a plan can be made for: the scored months (newest first) and the value × risk segments,
    with the caller's recent plans."""
    from churnradar.api.routes.pages import lang_of

    store = request.app.state.data.store
    return {
        "months": target_views.plan_months(store),
        "segments": [
            {"code": c, "label": label} for c, label in target_views.segment_choices(lang_of(request))
        ],
        "plans": target_views.plans(store, p.scope, ops_engine(request)),
    }


@router.post("/plans", status_code=201)
def create_plan(
    body: PlanIn, request: Request, p: Annotated[Principal, Depends(csrf_protect)]
) -> dict[str, Any]:
    """Run the optimiser: at most one offer per subscriber of the caller's regions (and segments)
    maximising Σ(uplift × CLV − cost) under the budget; the list is kept for review (audited)."""
    require(p.role, "targets")
    return target_views.run_plan(
        request.app.state.data.store,
        p.scope,
        ops_engine(request),
        as_of=body.as_of,
        budget=body.budget,
        segments=body.segments,
        min_arm_rows=body.min_arm_rows,
        actor=p.username,
    )


@router.get("/plans/{plan_id}")
def plan(
    plan_id: PlanId,
    p: TargetsDep,
    request: Request,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> dict[str, Any]:
    """A plan for review: expected cost, retained value and net value, totals by offer and segment,
    and its lines by rank (subscriber, segment, offer, channel, expected cost and value)."""
    return target_views.plan(
        request.app.state.data.store, p.scope, ops_engine(request), plan_id, page=page, page_size=page_size
    )


@router.post("/plans/{plan_id}/campaign", status_code=201)
def create_campaign(
    plan_id: PlanId, body: CampaignIn, request: Request, p: Annotated[Principal, Depends(csrf_protect)]
) -> Any:
    """Create the campaign of the plan: each member randomised between control (``control_share``
    within every offer) and the offer chosen for them; consent, do-not-contact and contact
    frequency enforced as ``churnradar campaign create`` does (audited)."""
    require(p.role, "targets")
    out = target_views.create_campaign_from_plan(
        request.app.state.data.store,
        p.scope,
        ops_engine(request),
        plan_id,
        name=body.name,
        control_share=body.control_share,
        followup_months=body.followup_months,
        actor=p.username,
    )
    return JSONResponse(out, status_code=201)
