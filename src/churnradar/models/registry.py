"""Model registry: the ``model`` table inside the analytical store, so a store file carries its models.

One row per model: ``model_id`` (content hash of the artifact), ``kind``, ``as_of``, ``created``,
``data_hash``, ``feature_set`` and ``feature_set_version``, ``label_definition`` and its version,
``params`` (the hyper-parameters in use, the capacity search that chose them — ``capacity_search``:
budget, seconds, what was tried — and the training sample: ``sample_rate``, ``rows_used``,
``rows_available``) and ``metrics`` (JSON text; ``curves``: ROC, gain and reliability points of
the calibration slice, for the dashboard) and ``artifact`` (the serialised :class:`ChurnModel`:
LightGBM model string, calibrator, reason map and health reference, zlib-compressed JSON).

The ``model_champion`` table names the champion: the model that scores by default. One row each
time a model is named (``label_definition``, ``model_id``, ``named``, ``reason`` and ``evidence``,
JSON text: the comparison that decided); the latest row of a churn definition is its champion. A
store that never named one scores with its newest model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from churnradar.errors import ChurnRadarError, StoreError
from churnradar.models.churn import ChurnModel

MODEL_TABLE = "model"
CHAMPION_TABLE = "model_champion"


class ModelNotFoundError(ChurnRadarError):
    """No model in the store matches the request."""


@dataclass
class ModelRecord:
    model_id: str
    kind: str
    as_of: date
    created: datetime
    data_hash: str
    feature_set: str
    feature_set_version: str
    label_definition: str
    label_definition_version: str
    params: dict[str, Any]
    metrics: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "kind": self.kind,
            "as_of": self.as_of.strftime("%Y-%m"),
            "created": self.created.isoformat(timespec="seconds"),
            "data_hash": self.data_hash,
            "feature_set": self.feature_set,
            "feature_set_version": self.feature_set_version,
            "label_definition": self.label_definition,
            "label_definition_version": self.label_definition_version,
            "params": self.params,
            "metrics": self.metrics,
        }


def save_model(store: Path | str, model: ChurnModel, *, kind: str = "churn_hazard") -> ModelRecord:
    """Store ``model`` (its ``meta`` carries as_of, data hash, feature set, label definition, metrics)."""
    from churnradar.store.derived import replace_rows

    m = model.meta
    blob = model.to_bytes()
    model_id = model.model_id
    rec = ModelRecord(
        model_id=model_id,
        kind=kind,
        as_of=date.fromisoformat(str(m["as_of"])),
        created=datetime.now(UTC).replace(tzinfo=None),
        data_hash=m["data_hash"],
        feature_set=m["feature_set"],
        feature_set_version=m["feature_set_version"],
        label_definition=m["label_definition"],
        label_definition_version=m["label_definition_version"],
        params={
            **model.hazard.get_params(),
            **getattr(model.hazard, "capacity_", {}),
            "capacity_search": model.hazard.search_summary(),
            **_sampling_params(m),
        },
        metrics=_with_curves(m.get("metrics", {}), model),
    )
    row = pa.table(
        {
            "model_id": [rec.model_id],
            "kind": [rec.kind],
            "as_of": pa.array([rec.as_of], pa.date32()),
            "created": pa.array([rec.created], pa.timestamp("us")),
            "data_hash": [rec.data_hash],
            "feature_set": [rec.feature_set],
            "feature_set_version": [rec.feature_set_version],
            "label_definition": [rec.label_definition],
            "label_definition_version": [rec.label_definition_version],
            "params": [json.dumps(rec.params, sort_keys=True)],
            "metrics": [json.dumps(rec.metrics, sort_keys=True, default=str)],
            "artifact": pa.array([blob], pa.binary()),
        }
    )
    replace_rows(Path(store), MODEL_TABLE, row, {"model_id": model_id})
    return rec


def _with_curves(metrics: dict[str, Any], model: ChurnModel) -> dict[str, Any]:
    """The training metrics and, when the fit drew them, the calibration slice's curve points
    (``curves``: ROC, gain, reliability of the 1-month probability; not part of the artifact)."""
    curves = getattr(model.hazard, "validation_curves_", None)
    return {**metrics, "curves": curves} if curves else dict(metrics)


def _sampling_params(meta: dict[str, Any]) -> dict[str, Any]:
    """What the model was trained on besides its hyper-parameters: the sample of training rows."""
    s = meta.get("sampling") or {}
    keys = ("sample_rate", "rows_used", "rows_available", "events_available", "sample_seed")
    return {k: s[k] for k in keys if k in s}


def _connect(store: Path | str) -> Any:
    import duckdb

    from churnradar.store.connection import connect

    store = Path(store)
    if not store.exists():
        raise StoreError(f"{store}: no such store")
    try:
        return connect(store, read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open store {store}: {exc}") from None


def _has_table(con: Any, table: str = MODEL_TABLE) -> bool:
    from churnradar.store import has_table

    return has_table(con, table)


_COLS = (
    "model_id, kind, as_of, created, data_hash, feature_set, feature_set_version, label_definition, "
    "label_definition_version, params, metrics"
)


def _record(row: tuple) -> ModelRecord:
    return ModelRecord(*row[:9], params=json.loads(row[9]), metrics=json.loads(row[10]))


def _filters(as_of: date | None, definition: str | None, prefix: str = "") -> tuple[str, list[Any]]:
    conds, args = [], []
    if as_of:
        conds.append(f"{prefix}as_of <= ?")
        args.append(as_of)
    if definition is not None:
        conds.append(f"{prefix}label_definition = ?")
        args.append(definition)
    return (f"WHERE {' AND '.join(conds)}" if conds else ""), args


def list_models(store: Path | str) -> list[ModelRecord]:
    """Every model in the store, newest as-of first."""
    con = _connect(store)
    try:
        if not _has_table(con):
            return []
        rows = con.execute(
            f'SELECT {_COLS} FROM "{MODEL_TABLE}" ORDER BY as_of DESC, created DESC'
        ).fetchall()
    finally:
        con.close()
    return [_record(r) for r in rows]


def load_model(
    store: Path | str,
    model_id: str | None = None,
    as_of: date | None = None,
    definition: str | None = None,
    *,
    champion: bool = True,
) -> tuple[ModelRecord, ChurnModel]:
    """The model ``model_id`` (a prefix is enough); without one, the latest-named champion trained
    at or before ``as_of`` (of churn ``definition`` when given), or the newest such model when no
    champion qualifies (or ``champion=False``)."""
    con = _connect(store)
    try:
        if not _has_table(con):
            raise ModelNotFoundError(f"{store} has no trained model; run `churnradar train` first")
        if model_id:
            rows = con.execute(
                f'SELECT {_COLS}, artifact FROM "{MODEL_TABLE}" WHERE model_id LIKE ? ORDER BY created DESC',
                [model_id + "%"],
            ).fetchall()
            if not rows:
                known = [r[0] for r in con.execute(f'SELECT model_id FROM "{MODEL_TABLE}"').fetchall()]
                raise ModelNotFoundError(
                    f"no model {model_id!r} in {store}; models there: {', '.join(known)}"
                )
        else:
            rows = []
            if champion and _has_table(con, CHAMPION_TABLE):
                where, args = _filters(as_of, definition, "m.")
                cols = ", ".join(f"m.{c.strip()}" for c in _COLS.split(","))
                rows = con.execute(
                    f'SELECT {cols}, m.artifact FROM "{CHAMPION_TABLE}" c JOIN "{MODEL_TABLE}" m '
                    f"USING (model_id) {where} ORDER BY c.named DESC LIMIT 1",
                    args,
                ).fetchall()
            if not rows:
                where, args = _filters(as_of, definition)
                rows = con.execute(
                    f'SELECT {_COLS}, artifact FROM "{MODEL_TABLE}" {where} ORDER BY as_of DESC, created DESC LIMIT 1',
                    args,
                ).fetchall()
            if not rows:
                of = f" of churn definition {definition}" if definition is not None else ""
                flag = f" --definition {definition}" if definition is not None else ""
                raise ModelNotFoundError(
                    f"{store} has no model{of} trained at or before {as_of:%Y-%m}; train one with "
                    f"`churnradar train --as-of {as_of:%Y-%m}{flag}` (or pass --model)"
                    if as_of
                    else f"{store} has no trained model{of}"
                )
    finally:
        con.close()
    row = rows[0]
    return _record(row), ChurnModel.from_bytes(bytes(row[11]))


@dataclass(frozen=True)
class ChampionRecord:
    label_definition: str
    model_id: str
    named: datetime
    reason: str
    evidence: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return {
            "label_definition": self.label_definition,
            "model_id": self.model_id,
            "named": self.named.isoformat(timespec="seconds"),
            "reason": self.reason,
            "evidence": self.evidence,
        }


def set_champion(
    store: Path | str, model_id: str, reason: str, evidence: dict[str, Any] | None = None
) -> ChampionRecord:
    """Name model ``model_id`` (a stored model; a prefix is enough) the champion of its churn definition."""
    from churnradar.store.derived import replace_rows

    record, _ = load_model(store, model_id)
    rec = ChampionRecord(
        record.label_definition,
        record.model_id,
        datetime.now(UTC).replace(tzinfo=None),
        reason,
        dict(evidence or {}),
    )
    row = pa.table(
        {
            "label_definition": [rec.label_definition],
            "model_id": [rec.model_id],
            "named": pa.array([rec.named], pa.timestamp("us")),
            "reason": [rec.reason],
            "evidence": [json.dumps(rec.evidence, sort_keys=True, default=str)],
        }
    )
    replace_rows(
        Path(store), CHAMPION_TABLE, row, {"label_definition": rec.label_definition, "named": rec.named}
    )
    return rec


def champions(store: Path | str, definition: str | None = None) -> list[ChampionRecord]:
    """Every naming of a champion (of churn ``definition`` when given), latest first."""
    con = _connect(store)
    try:
        if not _has_table(con, CHAMPION_TABLE):
            return []
        where, args = ("WHERE label_definition = ?", [definition]) if definition is not None else ("", [])
        rows = con.execute(
            f'SELECT label_definition, model_id, named, reason, evidence FROM "{CHAMPION_TABLE}" {where} '
            "ORDER BY named DESC",
            args,
        ).fetchall()
    finally:
        con.close()
    return [ChampionRecord(r[0], r[1], r[2], r[3], json.loads(r[4] or "{}")) for r in rows]


def current_champion(store: Path | str, definition: str) -> ChampionRecord | None:
    """The champion of churn ``definition`` (None when the store never named one)."""
    named = champions(store, definition)
    return named[0] if named else None
