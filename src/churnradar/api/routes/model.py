"""``/api/model``: the model registry (parameters, data hash, metrics) and backtest metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from churnradar.api.auth import Principal
from churnradar.api.deps import permission

router = APIRouter(prefix="/api/model", tags=["model"])

ModelDep = Annotated[Principal, Depends(permission("model"))]


@router.get("")
def model_info(p: ModelDep, request: Request) -> dict[str, Any]:
    """The model that wrote the stored scores (``current``: the newest model before any scoring),
    its feature names, and the registry (newest first); ``state`` is ``no_model`` before training."""
    data = request.app.state.data
    rows = data.model_rows()
    features: list[str] = []
    if rows:
        from churnradar.api.routes.scoring import scorer_of

        features = scorer_of(request).feature_names()
    return {
        "state": "trained" if rows else "no_model",
        "current": data.current_model(rows),
        "features": features,
        "models": rows,
    }


@router.get("/backtest")
def backtest(p: ModelDep, request: Request) -> dict[str, Any]:
    """Held-out metrics of the model that wrote the stored scores (per-step hazard AUC and ECE on
    the later calibration slice) and the rows of a stored rolling-origin ``backtest`` table when
    there is one."""
    data = request.app.state.data
    cur = data.current_model()
    if cur is None:
        return {"state": "no_model", "metrics": None, "backtest": []}
    return {
        "state": "trained",
        "model_id": cur.get("model_id"),
        "as_of": cur.get("as_of"),
        # held-out metrics of the stored model: hazard AUC and calibration (ECE) per step on the
        # later calibration slice, base rate, training and calibration sizes
        "metrics": cur.get("metrics"),
        "backtest": data.backtest_rows(),  # a stored rolling-origin backtest, when one was written
    }


@router.get("/outcomes")
def outcomes(
    p: ModelDep, request: Request, horizon: Annotated[int, Query(ge=1, le=24)] = 1
) -> dict[str, Any]:
    """Realised outcomes of earlier score batches in the caller's regions: per scored month whose
    outcome window has closed and per risk level, lines scored, churned within ``horizon`` months,
    realised rate, mean predicted probability, ROC-AUC and lift (the model page's table)."""
    from churnradar.views.model import realised_outcomes

    return {"horizon": horizon, "months": realised_outcomes(request.app.state.data.store, p.scope, horizon)}


@router.get("/drift")
def drift(p: ModelDep, request: Request) -> dict[str, Any]:
    """PSI by month of the current model's score and features against its training month, from the
    monitoring of the monthly cycle (empty before any)."""
    from churnradar.views.model import drift as drift_view

    return drift_view(request.app.state.data.store)
