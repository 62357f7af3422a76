"""Campaigns in the caller's regions, their evaluation, contact lists and outcome recording.

Two sources: campaigns ingested into the analytical store (history from the BSS, read-only) and
campaigns created by ``churnradar campaign`` in the operational store (retention), whose contacts
agents work through. A campaign is visible when at least one of its contacts lives in the caller's
regions (every campaign for all-region roles); its evaluation and contacts count only those.
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
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from churnradar.api.auth import Principal
from churnradar.api.data import MAX_PAGE_SIZE, _jsonable
from churnradar.api.deps import csrf_protect, permission
from churnradar.api.roles import NotInScope, Scope, require
from churnradar.errors import ChurnRadarError

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])

CampaignId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
ContactId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
CampaignsDep = Annotated[Principal, Depends(permission("campaigns"))]


class OutcomeConflict(ChurnRadarError):
    """The idempotency key was used for a different outcome, the campaign is read-only or the
    contact is a control-group member (409)."""


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
            from churnradar.retention.opstore import open_ops
        except ImportError:  # pragma: no cover - retention is part of the package
            return None
        state.ops = open_ops(state.store_path, state.database_url)
    return state.ops


def _ops_campaigns(request: Request, scope: Scope) -> list[dict[str, Any]]:
    engine = ops_engine(request)
    if engine is None:
        return []
    from churnradar.retention.campaigns import list_campaigns

    out = []
    for c in list_campaigns(engine):
        if not scope.everything:
            members = _ops_members(request, scope, c["campaign_id"])
            if members is None or not len(members):
                continue
            c = {**c, "members": len(members), "control": int(members["is_control"].sum())}
        out.append(
            {
                "campaign_id": c["campaign_id"],
                "name": c["name"],
                "start_date": c["start_date"],
                "end_date": c["end_date"],
                "control_share": c["control_share"],
                "status": c["status"],
                "contacts": c["members"],
                "control": c["control"],
                "source": "operational",
            }
        )
    return out


def _ops_members(request: Request, scope: Scope, campaign_id: str) -> Any:
    """(header, offers, members in scope) of an operational campaign, or None when it is not one."""
    got = _ops_frames(request, campaign_id)
    if got is None:
        return None
    members = got[2]
    if not len(members):
        return members
    keep = request.app.state.data.in_scope_ids(scope, members["subscriber_id"].tolist())
    return members[members["subscriber_id"].isin(keep)]


def _ops_frames(request: Request, campaign_id: str) -> Any:
    engine = ops_engine(request)
    if engine is None:
        return None
    from churnradar.retention.campaigns import campaign_frames
    from churnradar.retention.errors import CampaignError

    try:
        return campaign_frames(engine, campaign_id)
    except CampaignError:
        return None


def _records(df: Any) -> list[dict[str, Any]]:
    if df is None or not len(df):
        return []
    return _jsonable(df.astype(object).where(df.notna(), None).to_dict(orient="records"))


def _iso_utc(t: Any) -> str:
    """ISO text of a stored time; SQLite drops the zone, and every stored time is UTC."""
    if isinstance(t, datetime):
        return (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()
    return str(t)


# -- routes -----------------------------------------------------------------------------------
@router.get("")
def campaigns(p: CampaignsDep, request: Request) -> list[dict[str, Any]]:
    """Campaigns with contacts in the caller's regions (counts restricted to those regions)."""
    hist = [{**c, "source": "history"} for c in request.app.state.data.campaigns(p.scope)]
    return _jsonable(_ops_campaigns(request, p.scope) + hist)


@router.get("/{campaign_id}")
def campaign(campaign_id: CampaignId, p: CampaignsDep, request: Request) -> dict[str, Any]:
    """One campaign: offers and evaluation per arm (contacted, accepted, retention, uplift vs control)."""
    frames = _ops_frames(request, campaign_id)
    if frames is None:
        out = request.app.state.data.campaign(p.scope, campaign_id)
        out["campaign"]["source"] = "history"
        return _jsonable(out)
    head, offers, _ = frames
    members = _ops_members(request, p.scope, campaign_id)
    if not p.scope.everything and not len(members):
        raise NotInScope(f"no campaign {campaign_id!r} in your regions")
    arms = []
    if len(members):
        m = members.copy()
        m["arm"] = m["offer_id"].where(~m["is_control"].astype(bool), "control").fillna("control")
        for arm, g in m.groupby("arm"):
            known = g["retained"].dropna()
            arms.append(
                {
                    "arm": arm,
                    "n": len(g),
                    "contacted": int(g["contacted"].sum()),
                    "accepted": int((g["accepted"] == True).sum()),  # noqa: E712 (nullable column)
                    "outcomes": int(g["accepted"].notna().sum()),
                    "retention_rate": round(float(known.astype(bool).mean()), 4) if len(known) else None,
                }
            )
        ctrl = next((a for a in arms if a["arm"] == "control"), None)
        for a in arms:
            a["uplift_vs_control"] = (
                round(a["retention_rate"] - ctrl["retention_rate"], 4)
                if ctrl
                and a is not ctrl
                and a["retention_rate"] is not None
                and ctrl["retention_rate"] is not None
                else None
            )
    return _jsonable(
        {
            "campaign": {**head, "source": "operational", "contacts": len(members)},
            "offers": _records(offers),
            "evaluation": arms,
        }
    )


@router.get("/{campaign_id}/contacts")
def contacts(
    campaign_id: CampaignId,
    p: CampaignsDep,
    request: Request,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> dict[str, Any]:
    """The campaign's contact list in the caller's regions, with recorded outcomes."""
    members = _ops_members(request, p.scope, campaign_id)
    if members is None:
        out = request.app.state.data.contacts(p.scope, campaign_id, page=page, page_size=page_size)
        return _jsonable({**out, "source": "history"})
    if not p.scope.everything and not len(members):
        raise NotInScope(f"no campaign {campaign_id!r} in your regions")
    rows = _records(members.sort_values("contact_id")) if len(members) else []
    start = (page - 1) * page_size
    return {
        "total": len(rows),
        "page": page,
        "page_size": page_size,
        "source": "operational",
        "items": rows[start : start + page_size],
    }


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
    members = _ops_members(request, p.scope, campaign_id)
    if members is None:
        # an ingested (historical) campaign: visible maybe, but its outcomes come from the BSS
        request.app.state.data.contact(p.scope, campaign_id, contact_id)
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
