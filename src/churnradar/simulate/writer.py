"""Streaming writers of canonical tables to Parquet or CSV, in exactly the schema's column order.

Pseudonymised columns are written under their ``raw_name`` (the raw fictional identifier) at the
same position; ingest hashes them. Parquet keeps proper types (date32 for dates and months, the
first of the month; timestamp; bool; int64; float64; string). CSV is UTF-8 with a header, ISO dates,
months as ``YYYY-MM``, timestamps ``YYYY-MM-DD HH:MM:SS``, ``true``/``false``, floats rounded to 2
decimals (4 for ratio columns bounded by 1) and an empty field for null.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from churnradar.errors import ConfigError
from churnradar.schema.model import Table

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "month": pa.date32(),
    "timestamp": pa.timestamp("us"),
}

#: Columns written with low cardinality get dictionary encoding in Parquet.
_DICT_HINT = {
    "month",
    "peer_operator",
    "package_id",
    "event_type",
    "reason",
    "second_sim_operator",
    "destination_operator",
    "kind",
    "channel",
    "topic",
    "grid_id",
}


def output_columns(table: Table) -> list[str]:
    """Column names as written by the simulator: ``raw_name`` in place of pseudonymised columns."""
    return [c.raw_name if c.pii else c.name for c in table.columns]


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema(
        [
            pa.field(c.raw_name if c.pii else c.name, ARROW_TYPES[c.dtype], nullable=c.nullable)
            for c in table.columns
        ]
    )


def float_decimals(col) -> int:
    return 4 if col.max is not None and col.max <= 1 else 2


# ---- typed array helpers --------------------------------------------------------------------------

_EPOCH_MI = 1970 * 12


def month_array(mi: np.ndarray | int, n: int | None = None) -> pa.Array:
    """Month indices (−1 = null) → date32 of the first day of the month."""
    mi = np.full(n, mi, dtype=np.int64) if n is not None else np.asarray(mi, dtype=np.int64)
    days = (mi - _EPOCH_MI).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return pa.array(days.astype(np.int32), mask=mi < 0).cast(pa.date32())


def date_array(days: np.ndarray) -> pa.Array:
    """Days since 1970-01-01 (−1 = null) → date32."""
    days = np.asarray(days, dtype=np.int64)
    return pa.array(days.astype(np.int32), mask=days < 0).cast(pa.date32())


def ts_array(seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Seconds since the epoch → timestamp[us]."""
    s = np.asarray(seconds, dtype=np.int64) * 1_000_000
    return pa.array(s, mask=null, type=pa.timestamp("us"))


def label_array(labels: list[str] | tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Codes into ``labels`` (−1 = null) → string array."""
    codes = np.asarray(codes, dtype=np.int64)
    idx = pa.array(codes, mask=codes < 0)
    return pc.take(pa.array(list(labels), pa.string()), idx)


class TableWriter:
    """Writes one canonical table in batches; ``close()`` returns the row count."""

    def __init__(self, table: Table, path: Path, fmt: str):
        self.table = table
        self.path = path
        self.fmt = fmt
        self.schema = arrow_schema(table)
        self.rows = 0
        self._writer = None
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            dict_cols = [f.name for f in self.schema if f.name in _DICT_HINT]
            self._writer = pq.ParquetWriter(
                str(path),
                self.schema,
                compression="snappy",
                use_dictionary=dict_cols or False,
                write_statistics=True,
            )
        elif fmt == "csv":
            self._csv_schema = pa.schema([pa.field(f.name, pa.string()) for f in self.schema])
            self._writer = pacsv.CSVWriter(
                str(path),
                self._csv_schema,
                write_options=pacsv.WriteOptions(quoting_style="none", quoting_header="none"),
            )
        else:  # pragma: no cover - validated before
            raise ConfigError(f"format {fmt!r}; expected parquet or csv")

    def write(self, columns: dict[str, object]) -> None:
        names = self.schema.names
        if list(columns) != names:
            raise ValueError(f"{self.table.name}: columns {list(columns)} differ from schema {names}")
        arrays = []
        for f, col in zip(self.schema, self.table.columns, strict=True):
            v = columns[f.name]
            arr = v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v, type=f.type)
            if arr.type != f.type:
                arr = arr.cast(f.type)
            if col.dtype == "float":
                arr = pc.round(arr, float_decimals(col))
            arrays.append(arr)
        batch = pa.Table.from_arrays(arrays, schema=self.schema)
        if batch.num_rows == 0:
            return
        self.rows += batch.num_rows
        if self.fmt == "parquet":
            self._writer.write_table(batch, row_group_size=max(batch.num_rows, 1))
        else:
            self._writer.write_table(self._to_text(batch))

    def _to_text(self, batch: pa.Table) -> pa.Table:
        out = []
        for col, arr in zip(self.table.columns, batch.columns, strict=True):
            if col.dtype == "month":
                s = pc.strftime(arr.cast(pa.timestamp("s")), format="%Y-%m")
            elif col.dtype == "timestamp":
                s = pc.strftime(arr.cast(pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
            else:
                s = arr.cast(pa.string())
            out.append(s)
        return pa.Table.from_arrays(out, schema=self._csv_schema)

    def close(self) -> int:
        if self._writer is not None:
            if self.fmt == "parquet" and self.rows == 0:
                self._writer.write_table(self.schema.empty_table())
            self._writer.close()
            self._writer = None
        return self.rows
