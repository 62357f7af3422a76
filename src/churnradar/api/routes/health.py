"""``/api/health``: liveness and what the server reads (no authentication)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Whether the analytical and operational stores answer, and whether a model has scored."""
    state = request.app.state
    with state.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    info = state.data.score_info()
    return {"status": "ok", "model": info["state"], "operational_store": state.engine.dialect.name}
