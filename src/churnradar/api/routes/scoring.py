"""Scoring: ``POST /api/score/{subscriber_id}`` (the stored score) and ``POST /api/score`` (a posted vector)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from churnradar.api.auth import Principal
from churnradar.api.deps import permission

router = APIRouter(prefix="/api/score", tags=["scoring"])

ScoreDep = Annotated[Principal, Depends(permission("score"))]


#: A posted feature value: a finite JSON number (numeric features), a text (categorical features)
#: or null (unknown). Booleans, NaN and infinities are refused; the scorer checks each value
#: against its feature's type.
FeatureValue = (
    Annotated[int, Field(strict=True)]
    | Annotated[float, Field(strict=True, allow_inf_nan=False)]
    | Annotated[str, Field(max_length=200)]
    | None
)


class FeatureVector(BaseModel):
    features: dict[str, FeatureValue] = Field(
        description="Feature name → value (names as in `churnradar features --list`): a finite number for "
        "numeric features, a text for categorical ones (see GET /api/model), null when unknown; "
        "missing ones are null",
        max_length=2000,
    )


def scorer_of(request: Request) -> Any:
    from churnradar.api.scoring import Scorer

    state = request.app.state
    if getattr(state, "scorer", None) is None:
        state.scorer = Scorer(state.data)
    return state.scorer


@router.post("/{subscriber_id}")
def score_subscriber(
    subscriber_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")],
    p: ScoreDep,
    request: Request,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="Score batch (YYYY-MM)")] = None,
) -> dict[str, Any]:
    """The subscriber's stored score from the batch of ``month`` (default: the newest): horizon
    probabilities, health, risk level, reasons, value and segment, and the ``model_id`` that wrote
    it (no CSRF: reads only; 404 outside the caller's regions or without a row in that batch)."""
    from churnradar.periods import parse_month

    return scorer_of(request).score_stored(p.scope, subscriber_id, parse_month(month) if month else None)


@router.post("")
def score_vector(body: FeatureVector, p: ScoreDep, request: Request) -> dict[str, Any]:
    """Score a posted feature vector (what-if analysis; nothing is stored).

    422 when a value does not fit its feature (a number for a categorical feature, a text for a
    numeric one, NaN, an infinity or a number beyond float32); 400 for an unknown feature name.
    """
    return scorer_of(request).score_features(body.features)
