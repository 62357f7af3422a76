"""Campaigns in the caller's regions, their evaluation, contact lists and outcome recording.

Two sources: campaigns ingested into the analytical store (history from the BSS, read-only) and
campaigns created by ``churnradar campaign`` in the operational store (retention), whose contacts
agents work through. A campaign is visible when at least one of its contacts lives in the caller's
regions (every campaign for all-region roles); its counts and contacts count only those. Listing,
contacts and the evaluation are the library's (:mod:`churnradar.views.campaigns`, whose evaluation
is :func:`churnradar.retention.evaluate.evaluate_campaign`).
Outcomes are recorded through :func:`churnradar.retention.outcomes.record_outcome`, once per
idempotency key: the same key and body again answers 200 with the stored outcome, the same key
with a different body (the note included) 409, and a key already used for another contact 409
without naming it. A contact outside the caller's regions is 404 whatever the body; a control-group
member has no outcome (409 with the reason).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from churnradar.api.auth import Principal
from churnradar.api.data import MAX_PAGE_SIZE
from churnradar.api.deps import csrf_protect, permission
from churnradar.api.errors import OutcomeConflict
from churnradar.api.roles import NotInScope, require
from churnradar.retention.campaigns import AGENT_NAME

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])

CampaignId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
ContactId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
CampaignsDep = Annotated[Principal, Depends(permission("campaigns"))]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class OutcomeIn(BaseModel):
    idempotency_key: str = Field(
        min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$", description="Client-chosen unique key"
    )
    accepted: bool = Field(description="The subscriber accepted the offer")
    retained: bool | None = Field(default=None, description="Still with us at follow-up, when known")
    note: str = Field(default="", max_length=500)


class OutcomeOut(BaseModel):
    outcome_id: str
    contact_id: str
    accepted: bool
    retained: bool | None
    verified: bool
    note: str
    recorded_by: str
    recorded_time: str
    replayed: bool = False


# -- operational campaigns (retention) ----------------------------------------------------------
def ops_engine(request: Request) -> Any:
    """The retention component's engine on the same operational store (None without retention)."""
    state = request.app.state
    if getattr(state, "ops", None) is None:
        try:
            from churnradar.opstore import open_ops
        except ImportError:  # pragma: no cover - retention is part of the package
            return None
        state.ops = open_ops(state.store_path, state.database_url)
    return state.ops


def _iso_utc(t: Any) -> str:
    """ISO text of a stored time; SQLite drops the zone, and every stored time is UTC."""
    if isinstance(t, datetime):
        return (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()
    return str(t)


# -- routes -----------------------------------------------------------------------------------
@router.get("")
def campaigns(p: CampaignsDep, request: Request) -> list[dict[str, Any]]:
    """Campaigns with contacts in the caller's regions (counts restricted to those regions)."""
    return request.app.state.data.campaigns(p.scope, ops_engine(request))


@router.get("/{campaign_id}")
def campaign(campaign_id: CampaignId, p: CampaignsDep, request: Request) -> dict[str, Any]:
    """One campaign: offers and its evaluation per arm against control (size, contacted, accepted,
    retention, uplift vs control, incremental retained and revenue, cost, ROI), as ``churnradar
    campaign evaluate`` computes it; ``evaluation_notes`` says whether the follow-up is complete."""
    return request.app.state.data.campaign(p.scope, campaign_id, ops_engine(request))


@router.get("/{campaign_id}/contacts")
def contacts(
    campaign_id: CampaignId,
    p: CampaignsDep,
    request: Request,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    agent: Annotated[str | None, Query(pattern=f"^{AGENT_NAME}$")] = None,
) -> dict[str, Any]:
    """The campaign's contact list in the caller's regions, with recorded outcomes and the agent of
    each contact (``agent``: one agent's contacts only)."""
    from churnradar.views.campaigns import contacts as contact_view

    return contact_view(
        request.app.state.data.store,
        p.scope,
        campaign_id,
        ops_engine(request),
        page=page,
        page_size=page_size,
        agent=agent,
    )


class AgentsIn(BaseModel):
    agents: list[Annotated[str, Field(pattern=f"^{AGENT_NAME}$")]] = Field(
        min_length=1, max_length=200, description="Agents' names (login or staff number), dealt in turn"
    )


@router.post("/{campaign_id}/agents")
def assign_agents(
    campaign_id: CampaignId, body: AgentsIn, request: Request, p: Annotated[Principal, Depends(csrf_protect)]
) -> dict[str, Any]:
    """Assign the campaign's listable members in the caller's regions to agents round-robin, ordered
    by region (earlier assignments of those members are replaced; audited). Returns members per agent."""
    from churnradar.views.targets import assign_agents as deal

    require(p.role, "targets")
    counts = deal(
        request.app.state.data.store, p.scope, ops_engine(request), campaign_id, body.agents, actor=p.username
    )
    return {"campaign_id": campaign_id, "agents": counts}


@router.post("/{campaign_id}/export")
def export(
    campaign_id: CampaignId,
    request: Request,
    p: Annotated[Principal, Depends(csrf_protect)],
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    agent: Annotated[str | None, Query(pattern=f"^{AGENT_NAME}$")] = None,
) -> Response:
    """The contact list for the call/SMS system (CSV or XLSX, headers and names in the caller's
    language) of the members in the caller's regions, one agent's when ``agent`` is given; consent
    and do-not-contact are checked again and the listed members marked listed (audited)."""
    from churnradar.api.routes.pages import lang_of
    from churnradar.views.targets import export_list

    require(p.role, "export")
    data, name = export_list(
        request.app.state.data.store,
        p.scope,
        ops_engine(request),
        campaign_id,
        format,
        agent=agent,
        lang=lang_of(request),
        actor=p.username,
    )
    media = "text/csv; charset=utf-8" if format == "csv" else XLSX_TYPE
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post(
    "/{campaign_id}/contacts/{contact_id}/outcome",
    status_code=201,
    response_model=OutcomeOut,
    responses={200: {"model": OutcomeOut, "description": "Replay of an already recorded key"}},
)
def post_outcome(
    campaign_id: CampaignId,
    contact_id: ContactId,
    body: OutcomeIn,
    request: Request,
    p: Annotated[Principal, Depends(csrf_protect)],
) -> Any:
    """Record whether a contacted subscriber accepted the offer (idempotent per key; audited)."""
    require(p.role, "outcomes")
    data = request.app.state.data
    members = data.ops_members(p.scope, campaign_id, ops_engine(request))
    if members is None:
        # an ingested (historical) campaign: visible maybe, but its outcomes come from the BSS
        data.contact(p.scope, campaign_id, contact_id)
        raise OutcomeConflict(f"campaign {campaign_id!r} is ingested history; outcomes cannot be recorded")
    row = members[members["contact_id"] == contact_id]
    if not len(row):
        raise NotInScope(f"no contact {contact_id!r} of campaign {campaign_id!r} in your regions")
    from churnradar.retention.errors import ControlGroupError, IdempotencyConflictError
    from churnradar.retention.outcomes import record_outcome

    try:
        rec = record_outcome(
            ops_engine(request),
            contact_id,
            key=body.idempotency_key,
            accepted=body.accepted,
            retained=body.retained,
            note=body.note,
            actor=p.username,
        )
    except (IdempotencyConflictError, ControlGroupError) as exc:
        raise OutcomeConflict(str(exc)) from None
    r = rec.record
    out = {
        "outcome_id": r["outcome_id"],
        "contact_id": r["contact_id"],
        "accepted": bool(r["accepted"]),
        "retained": r["retained"],
        "verified": bool(r["verified"]),
        "note": r.get("note") or "",
        "recorded_by": r["recorded_by"],
        "recorded_time": _iso_utc(r["recorded_time"]),
        "replayed": not rec.created,
    }
    return JSONResponse(out, status_code=201 if rec.created else 200)
