"""Dashboard pages: campaigns, a campaign's contacts and the outcome button."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from churnradar.api.auth import Principal
from churnradar.api.deps import PrincipalDep, csrf_protect
from churnradar.api.messages import tr
from churnradar.api.roles import require
from churnradar.api.routes.pages import (
    lang_of,
    render,
)
from churnradar.errors import ChurnRadarError
from churnradar.retention.campaigns import AGENT_NAME

router = APIRouter(include_in_schema=False)


@router.get("/campaigns")
def campaigns_page(request: Request, p: PrincipalDep) -> Response:
    from churnradar.api.routes.campaigns import campaigns

    require(p.role, "campaigns")
    return render(request, "campaigns.html", rows=campaigns(p, request))


@router.get("/campaigns/{campaign_id}")
def campaign_page(
    request: Request,
    p: PrincipalDep,
    campaign_id: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    agent: Annotated[str | None, Query(pattern=f"^{AGENT_NAME}$")] = None,
) -> Response:
    """A campaign: its evaluation, offers and contacts (one agent's with ``agent``); for an
    operational campaign, agent assignment and the list export when the role allows them."""
    from churnradar.api.routes.campaigns import campaign, contacts

    require(p.role, "campaigns")
    c = campaign(campaign_id, p, request)
    cl = contacts(campaign_id, p, request, page=page, page_size=50, agent=agent or None)
    return render(
        request, "campaign.html", c=c, cl=cl, cid=campaign_id, page=page, new_key=_key, agent=agent or ""
    )


def _key() -> str:
    return "web-" + uuid.uuid4().hex


@router.post("/campaigns/{campaign_id}/contacts/{contact_id}/outcome")
def outcome_form(
    request: Request,
    campaign_id: str,
    contact_id: str,
    p: Annotated[Principal, Depends(csrf_protect)],
    idempotency_key: Annotated[str, Form(min_length=8, max_length=128)],
    accepted: Annotated[str, Form(pattern="^(yes|no)$")],
) -> Response:
    """The dashboard's outcome button (htmx): records through the API's function, returns the cell."""
    from churnradar.api.routes.campaigns import OutcomeIn, post_outcome

    body = OutcomeIn(idempotency_key=idempotency_key, accepted=accepted == "yes")
    try:
        res = post_outcome(campaign_id, contact_id, body, request, p)
        out = json.loads(res.body)
        msg = (
            tr("camp.recorded", lang_of(request))
            + " · "
            + tr("yes" if out["accepted"] else "no", lang_of(request))
        )
    except ChurnRadarError as exc:
        from churnradar.api.errors import status_of

        return render(request, "_outcome_cell.html", status=status_of(exc), message=str(exc), ok=False)
    return render(request, "_outcome_cell.html", message=msg, ok=True)
