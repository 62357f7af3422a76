"""``/api/subscribers/{id}``: profile, score, horizon probabilities, reasons, value, segment, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from churnradar.api.deps import PrincipalDep
from churnradar.views._json import jsonable as _jsonable

router = APIRouter(prefix="/api/subscribers", tags=["subscribers"])

ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
SubscriberId = Annotated[str, Path(pattern=ID_PATTERN, description="Subscriber id (pseudonymous)")]


def _ops_contacts(request: Request, subscriber_id: str) -> list[dict[str, Any]]:
    """The subscriber's contacts in operational campaigns with their newest recorded outcome."""
    from churnradar.api.routes.campaigns import ops_engine
    from churnradar.views.campaigns import ops_contacts_of

    return ops_contacts_of(ops_engine(request), subscriber_id)


@router.get("/{subscriber_id}")
def subscriber(subscriber_id: SubscriberId, p: PrincipalDep, request: Request) -> dict[str, Any]:
    """Everything about one subscriber in the caller's regions (404 outside them)."""
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
    return _jsonable(data.score_info())
