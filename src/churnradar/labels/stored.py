"""Churn events kept in the store (derived table ``churn_event``), reused until new data arrives.

Computing the events of every kind reads the whole usage and billing history (at 1,000,000
subscribers × 24 months, about half a minute on two cores), and everything downstream of the labels
(reports, the dashboard, diagnoses) starts from them. ``churnradar label`` therefore writes them into
the store, one batch per definition, tagged with the definition's version and the store's *data
version* (its ingest batches). Readers use the stored rows only when both tags still match, so a new
ingest batch or a changed definition makes them stale, never wrong.

>>> from churnradar.labels.stored import events_for  # doctest: +SKIP
>>> events, fresh = events_for(bk, get_definition("offnet"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis.expr.types as ir

from churnradar.labels.definitions import ChurnDefinition
from churnradar.store.backends import Backend

EVENT_TABLE = "churn_event"
TAGS = ("definition", "definition_version", "data_version")


def data_version(bk: Backend) -> str:
    """Identifies the data the store holds: the number of ingest batches and the latest batch id."""
    if not bk.has_table("_batch"):
        return "no-batches"
    b = bk.table("_batch")
    row = bk.to_pyarrow(b.aggregate(n=b.count(), last=b.batch_id.max())).to_pylist()[0]
    return f"{row['n']}:{row['last']}"


def _tags(bk: Backend, d: ChurnDefinition) -> dict[str, str]:
    return {"definition": d.name, "definition_version": d.version, "data_version": data_version(bk)}


def stored_events(bk: Backend, d: ChurnDefinition, tags: dict[str, str] | None = None) -> ir.Table | None:
    """The stored events of ``d`` when they are current for the store's data, else ``None``."""
    if not bk.has_table(EVENT_TABLE):
        return None
    t = bk.table(EVENT_TABLE)
    if any(c not in t.columns for c in TAGS):
        return None
    tags = tags if tags is not None else _tags(bk, d)
    current = t.filter(*[t[k] == v for k, v in tags.items()])
    # a batch with no events at all is stored as one marker row with a null subscriber
    if int(bk.to_pyarrow(current.aggregate(n=current.count())).to_pylist()[0]["n"]) == 0:
        return None
    current = current.filter(current.subscriber_id.notnull())
    return current.drop(*TAGS)


def tagged(bk: Backend, d: ChurnDefinition, events: Any, tags: dict[str, str] | None = None) -> Any:
    """``events`` (a pyarrow Table of :data:`~churnradar.labels.EVENT_COLUMNS`) with the tag columns
    added, ready for :func:`write_events`; an empty batch gets one marker row."""
    import pyarrow as pa

    if events.num_rows == 0:
        events = pa.Table.from_pylist([dict.fromkeys(events.column_names)], schema=events.schema)
    for k, v in (tags if tags is not None else _tags(bk, d)).items():
        events = events.append_column(k, pa.array([v] * events.num_rows, pa.string()))
    return events


def write_events(store: Path | str, rows: Any) -> int:
    """Replace the stored events of the definition in ``rows`` (from :func:`tagged`), atomically."""
    from churnradar.store.derived import replace_rows

    definition = rows.column("definition")[0].as_py()
    return replace_rows(Path(store), EVENT_TABLE, rows, {"definition": definition})


def events_for(bk: Backend, d: ChurnDefinition) -> tuple[ir.Table, Any | None]:
    """The churn events of ``d`` on ``bk``: read from the store when current, else computed.

    Returns the events (materialised) and, when they were computed on a DuckDB store file, the
    tagged rows to keep with :func:`write_events` once the caller's read handle is closed (``None``
    when they came from the store or cannot be kept).
    """
    from churnradar.labels import churn_events

    if bk.name != "duckdb":
        return churn_events(bk, d).cache(), None
    tags = _tags(bk, d)  # the data version is read once, for the lookup and for the new batch
    ev = stored_events(bk, d, tags)
    if ev is not None:
        return ev.cache(), None
    fresh = churn_events(bk, d)
    if Path(str(bk.source)).is_file():
        arrow = bk.to_pyarrow(fresh)
        ev = bk.con.create_table("_churn_event_run", arrow, temp=True, overwrite=True)
        return ev, tagged(bk, d, arrow, tags)
    return fresh.cache(), None
