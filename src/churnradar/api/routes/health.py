"""``/api/health``: liveness and what the server reads (no authentication)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from churnradar.opstore import current_version

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Whether the analytical and operational stores answer, and whether a model has scored."""
    state = request.app.state
    current_version(state.engine, "web")  # one read of the operational store
    info = state.data.score_info()
    return {"status": "ok", "model": info["state"], "operational_store": state.engine.dialect.name}
