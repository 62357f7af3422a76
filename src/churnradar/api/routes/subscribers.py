"""``/api/subscribers/{id}``: profile, score, horizon probabilities, reasons, value, segment, history."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request

from churnradar.api.deps import PrincipalDep

router = APIRouter(prefix="/api/subscribers", tags=["subscribers"])

ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
SubscriberId = Annotated[str, Path(pattern=ID_PATTERN, description="Subscriber id (pseudonymous)")]


def _ops_contacts(request: Request, subscriber_id: str) -> list[dict[str, Any]]:
    """The subscriber's contacts in operational campaigns with their newest recorded outcome."""
    from churnradar.api.routes.campaigns import ops_engine

    engine = ops_engine(request)
    if engine is None:
        return []
    from churnradar.retention import opstore as ops

    a, o, h = ops.contact_assignment, ops.outcome_record, ops.campaign_header
    q = (
        sa.select(
            a.c.contact_id,
            a.c.campaign_id,
            h.c.name.label("campaign_name"),
            a.c.offer_id,
            a.c.is_control,
            a.c.assigned_date,
            o.c.accepted,
            o.c.retained,
            o.c.recorded_time,
            o.c.recorded_by,
        )
        .join(h, h.c.campaign_id == a.c.campaign_id)
        .outerjoin(o, o.c.contact_id == a.c.contact_id)
        .where(a.c.subscriber_id == subscriber_id)
        .order_by(a.c.assigned_date, o.c.recorded_time)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


@router.get("/{subscriber_id}")
def subscriber(subscriber_id: SubscriberId, p: PrincipalDep, request: Request) -> dict[str, Any]:
    """Everything about one subscriber in the caller's regions (404 outside them)."""
    from churnradar.api.data import _jsonable

    out = request.app.state.data.subscriber(p.scope, subscriber_id)
    out["recorded_outcomes"] = _ops_contacts(request, subscriber_id)
    return _jsonable(out)


@router.get("/{subscriber_id}/score")
def subscriber_score(subscriber_id: SubscriberId, p: PrincipalDep, request: Request) -> dict[str, Any]:
    """The newest stored score: horizon probabilities, health, top reasons, value and segment."""
    data = request.app.state.data
    full = data.subscriber(p.scope, subscriber_id)
    return {"subscriber_id": subscriber_id, "model": _model_state(data), "score": full["score"]}


def _model_state(data: Any) -> dict[str, Any]:
    from churnradar.api.data import _jsonable

    return _jsonable(data.score_info())
