"""The model registry as the API shows it, and the model that wrote the stored scores."""

from __future__ import annotations

from typing import Any

from churnradar.views._json import jsonable, maybe_json, quoted
from churnradar.views.scores import score_info
from churnradar.views.store import ReadStore

#: registry columns never shown (the serialised model)
HIDDEN = ("artifact", "booster", "model_json")
#: most rows of a stored backtest shown
BACKTEST_ROWS = 1000


def model_rows(store: ReadStore) -> list[dict[str, Any]]:
    """Every model of the registry without its artifact, newest first (JSON columns decoded)."""
    if not store.has("model"):
        return []
    cols = [c for c in store.columns("model") if c not in HIDDEN]
    order = next((f"ORDER BY {c} DESC" for c in ("created", "created_at") if c in cols), "")
    return [
        jsonable({k: maybe_json(v) for k, v in r.items()})
        for r in store.rows(f"SELECT {', '.join(map(quoted, cols))} FROM model {order}")
    ]


def backtest_rows(store: ReadStore) -> list[dict[str, Any]]:
    """The rows of a stored rolling-origin ``backtest`` table (none without one)."""
    if not store.has("backtest"):
        return []
    return jsonable(store.rows(f"SELECT * FROM backtest LIMIT {BACKTEST_ROWS}"))


def current_model(store: ReadStore, rows: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The registry row of the model that wrote the newest score batch (the newest model when
    nothing is scored, or when that model is no longer in the registry); None without models."""
    rows = model_rows(store) if rows is None else rows
    wrote = scoring_model_id(store)
    return next((r for r in rows if wrote and r.get("model_id") == wrote), rows[0] if rows else None)


def scoring_model_id(store: ReadStore) -> str | None:
    """The ``model_id`` that wrote the newest score batch (None before scoring, or for a score table
    without model ids)."""
    return score_info(store)["model_id"]


def scoring_model(store: ReadStore) -> tuple[Any, Any]:
    """(registry record, :class:`~churnradar.models.churn.ChurnModel`) of the model that wrote the
    newest score batch; the newest model of the registry when nothing is scored yet.

    Raises :class:`~churnradar.models.registry.ModelNotFoundError` when there is no such model.
    """
    from churnradar.models.registry import ModelNotFoundError, load_model

    if store.path is None:
        raise ModelNotFoundError("the store has no file to load a model from")
    if not store.has("model"):
        raise ModelNotFoundError(f"{store.path} has no trained model; run `churnradar train` first")
    return load_model(store.path, scoring_model_id(store))
