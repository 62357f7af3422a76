"""Turn feature tables (Arrow or pandas) into the float32 matrix the models read.

Numbers and booleans become float32 (null → NaN); string columns become category codes learned at
``fit`` (unknown or null → NaN, which LightGBM treats as missing). The encoder is plain data, so a
model stores it as JSON and applies it the same way on DuckDB and on Spark partitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churnradar.errors import ConfigError


class FeatureEncoder:
    """Learns the feature columns and the categories of string columns; encodes to float32."""

    def __init__(self, columns: Sequence[str] | None = None, max_categories: int = 200):
        self.columns = columns
        self.max_categories = max_categories

    def fit(self, table: pa.Table | pd.DataFrame) -> FeatureEncoder:
        table = _as_arrow(table)
        names = list(self.columns) if self.columns is not None else table.column_names
        missing = [c for c in names if c not in table.column_names]
        if missing:
            raise ConfigError(f"feature columns {missing} are not in the table; it has {table.column_names}")
        self.columns_ = names
        self.categories_: dict[str, list[str]] = {}
        for name in names:
            col = table.column(name)
            if is_text(col.type):
                self.categories_[name] = self._top(value_counts(col))
        return self

    @classmethod
    def from_counts(
        cls, columns: Sequence[str], counts: dict[str, dict[str, int]], max_categories: int = 200
    ) -> FeatureEncoder:
        """The encoder :meth:`fit` learns from a table whose text columns (the keys of ``counts``)
        have these value counts; the other columns are numbers. For tables read in parts."""
        enc = cls(columns=columns, max_categories=max_categories)
        enc.columns_ = list(columns)
        enc.categories_ = {name: enc._top(counts[name]) for name in enc.columns_ if name in counts}
        return enc

    def _top(self, counts: dict[str, int]) -> list[str]:
        items = sorted(counts.items(), key=lambda c: (-c[1], c[0]))
        return sorted(v for v, _ in items[: self.max_categories])

    def encode_column(self, name: str, col: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """One column encoded as :meth:`transform` encodes it (float32, missing → NaN)."""
        return self._column(name, col)

    @property
    def categorical_(self) -> list[int]:
        """Positions of the categorical columns in the encoded matrix."""
        return [i for i, c in enumerate(self.columns_) if c in self.categories_]

    def transform(self, table: pa.Table | pd.DataFrame) -> np.ndarray:
        table = _as_arrow(table)
        missing = [c for c in self.columns_ if c not in table.column_names]
        if missing:
            raise ConfigError(
                f"the table lacks {len(missing)} feature column(s) the model needs: {', '.join(missing[:8])}"
            )
        out = np.empty((table.num_rows, len(self.columns_)), dtype=np.float32, order="F")
        for j, name in enumerate(self.columns_):
            out[:, j] = self._column(name, table.column(name))
        return out

    def _column(self, name: str, col: pa.ChunkedArray) -> np.ndarray:
        if name in self.categories_:
            cats = pa.array(self.categories_[name], pa.string())
            idx = pc.index_in(col.cast(pa.string()), value_set=cats)
            return idx.to_numpy(zero_copy_only=False).astype(np.float32)  # null → NaN
        if pa.types.is_boolean(col.type) or pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            return col.cast(pa.float32()).to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        if pa.types.is_null(col.type):
            return np.full(len(col), np.nan, dtype=np.float32)
        if pa.types.is_decimal(col.type):
            return col.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float32)
        raise ConfigError(f"feature {name!r} has type {col.type}, which the models cannot read")

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns_), "categories": self.categories_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureEncoder:
        enc = cls(columns=d["columns"])
        enc.columns_ = list(d["columns"])
        enc.categories_ = {k: list(v) for k, v in d["categories"].items()}
        return enc


def is_text(t: pa.DataType) -> bool:
    """Columns the encoder reads as categories."""
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)


def value_counts(col: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    """Counts of the non-null values of a text column."""
    out = pc.value_counts(col.cast(pa.string())).to_pylist()
    return {c["values"]: c["counts"] for c in out if c["values"] is not None}


def _as_arrow(table: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pd.DataFrame):
        return pa.Table.from_pandas(table, preserve_index=False)
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    raise ConfigError(f"expected a pyarrow Table or a pandas DataFrame, got {type(table).__name__}")
