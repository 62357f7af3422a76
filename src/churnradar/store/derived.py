"""Derived tables (``churn_label``, ``feature_snapshot``, ``score``, ...) written into the DuckDB store.

A derived batch is keyed by a few columns (e.g. ``as_of`` and ``definition``): writing a new batch
replaces the rows with the same key values in one transaction, so readers see the old batch or the
new one, never a mix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from churnradar.errors import StoreError


def replace_rows(store_path: Path, table: str, rows: Any, key: dict[str, Any]) -> int:
    """Replace the rows of ``table`` whose ``key`` columns equal ``key`` by ``rows`` (a pyarrow Table).

    The table is created from ``rows``' schema when missing. Returns the number of rows written.
    """
    from churnradar.store import Store

    if not Path(store_path).exists():
        raise StoreError(f"{store_path}: no such store")
    missing = [k for k in key if k not in rows.column_names]
    if missing:
        raise StoreError(f"{table}: key columns {missing} are not in the rows to write")
    with Store.open(store_path) as store:
        con = store.connection
        con.register("_incoming", rows)
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" AS SELECT * FROM _incoming LIMIT 0')
            where = " AND ".join(f'"{k}" = ?' for k in key)
            con.execute(f'DELETE FROM "{table}" WHERE {where}', list(key.values()))
            cols = ", ".join(f'"{c}"' for c in rows.column_names)
            con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _incoming')
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_incoming")
    return rows.num_rows
