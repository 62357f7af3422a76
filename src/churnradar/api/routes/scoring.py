"""Online scoring: ``POST /api/score/{subscriber_id}`` (stored features) and ``POST /api/score``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
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
async def score_subscriber(
    subscriber_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")], p: ScoreDep, request: Request
) -> dict[str, Any]:
    """Score one subscriber now from their newest stored features (no CSRF: reads only).

    Once the model and features are loaded a score is ~2 ms of CPU and runs on the event loop;
    before that (loading takes seconds) it runs in the thread pool.
    """
    scorer = scorer_of(request)
    if scorer.ready:
        return JSONResponse(scorer.score_stored(p.scope, subscriber_id))  # plain JSON types already
    return JSONResponse(await run_in_threadpool(scorer.score_stored, p.scope, subscriber_id))


@router.post("")
def score_vector(body: FeatureVector, p: ScoreDep, request: Request) -> dict[str, Any]:
    """Score a posted feature vector (what-if analysis; nothing is stored).

    422 when a value does not fit its feature (a number for a categorical feature, a text for a
    numeric one, NaN, an infinity or a number beyond float32); 400 for an unknown feature name.
    """
    return scorer_of(request).score_features(body.features)
