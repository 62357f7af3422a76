"""Run records of the monthly cycle: one row per month and stage in the store's ``cycle_run`` table.

A record is written when a stage has finished (ran, or decided it had nothing to do), never
before, so a run killed in the middle of a stage leaves no record of it and the next run starts
that stage again. A stage whose record carries the same *inputs* fingerprint is not run again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from churnradar.store.connection import has_table

RUN_TABLE = "cycle_run"


@dataclass(frozen=True)
class StageRecord:
    month: date
    stage: str
    inputs: str
    status: str  # "ran" or "skipped" (nothing to do, with the reason in ``detail``)
    rows: int
    seconds: float
    peak_rss: int
    finished: datetime
    detail: dict[str, Any]


def read_records(store: Path, month: date) -> dict[str, StageRecord]:
    """The latest record of each stage of ``month`` (empty when the store has none)."""
    from churnradar.store import Store

    with Store.open(store, read_only=True) as st:
        con = st.connection
        if not has_table(con, RUN_TABLE):
            return {}
        rows = con.execute(
            f'SELECT month, stage, inputs, status, rows, seconds, peak_rss, finished, detail FROM "{RUN_TABLE}" '
            "WHERE month = ? ORDER BY finished",
            [month],
        ).fetchall()
    out: dict[str, StageRecord] = {}
    for r in rows:
        out[r[1]] = StageRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8] or "{}"))
    return out


def write_record(store: Path, rec: StageRecord) -> None:
    """Add ``rec`` (replacing an earlier record of the same month and stage)."""
    import pyarrow as pa

    from churnradar.store.derived import replace_rows

    rows = pa.table(
        {
            "month": pa.array([rec.month], pa.date32()),
            "stage": [rec.stage],
            "inputs": [rec.inputs],
            "status": [rec.status],
            "rows": pa.array([rec.rows], pa.int64()),
            "seconds": [float(rec.seconds)],
            "peak_rss": pa.array([rec.peak_rss], pa.int64()),
            "finished": pa.array([rec.finished], pa.timestamp("us")),
            "detail": [json.dumps(rec.detail, ensure_ascii=False, default=str)],
        }
    )
    replace_rows(store, RUN_TABLE, rows, {"month": rec.month, "stage": rec.stage})
