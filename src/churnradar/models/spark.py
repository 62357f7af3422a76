"""Apply a stored churn model on Spark partitions (``mapInArrow``): same scores as on DuckDB.

Features are computed by the same Ibis expressions on Spark; each partition's Arrow batches are
scored by the same :class:`~churnradar.models.churn.ChurnModel` code (model artifact shipped with
the task, loaded once per Python worker). The driver collects the score rows, then recomputes exact
reasons for the riskiest subscribers from their feature rows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from churnradar.models.churn import ChurnModel

_WORKER_MODELS: dict[str, ChurnModel] = {}


def _scorer(blob: bytes, key: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def score_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        model = _WORKER_MODELS.get(key)
        if model is None:
            model = _WORKER_MODELS[key] = ChurnModel.from_bytes(blob)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            out = model.score(pa.Table.from_batches([batch]), reasons="path")
            yield from out.to_batches()

    return score_batches


def score_spark(
    store: Path | str, as_of: date, model: ChurnModel, fs: Any
) -> tuple[pa.Table, Callable[[pa.Array], pa.Table]]:
    """Score rows (unranked, path reasons) computed on Spark, and a getter for feature rows by id."""
    from pyspark.sql.pandas.types import from_arrow_schema

    from churnradar.features import compute_features
    from churnradar.store.backends import open_backend

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    bk = open_backend(store, "spark")
    expr = compute_features(bk, as_of, fs)
    session = bk.con._session
    df = session.sql(bk.con.compile(expr))
    # the output schema, from scoring an empty table of the same columns
    empty = pa.Table.from_pylist([], schema=pa.schema([(c, pa.float64()) for c in df.columns]))
    empty = empty.set_column(0, "subscriber_id", pa.array([], pa.string()))
    for c, dtype in df.dtypes:
        if dtype == "string" and c != "subscriber_id":
            empty = empty.set_column(empty.schema.get_field_index(c), c, pa.array([], pa.string()))
    schema = model.score(empty, reasons="path").schema
    blob = model.to_bytes()
    scored = df.mapInArrow(_scorer(blob, model.model_id), from_arrow_schema(schema)).toArrow()
    scored = scored.cast(schema)

    def top_features(ids: pa.Array) -> pa.Table:
        wanted = session.createDataFrame([(s,) for s in ids.to_pylist()], "subscriber_id string")
        return df.join(wanted, "subscriber_id", "inner").toArrow()

    return scored, top_features
