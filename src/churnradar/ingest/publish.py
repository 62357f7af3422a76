"""Atomic publication of a staged batch into the store.

All tables of a batch, its rejects and its ``_batch`` row are written in ONE DuckDB transaction:
for each table, rows whose key is in the batch are deleted and the batch's good rows inserted
(an upsert by key). DuckDB's write-ahead log makes the commit atomic, so a process killed at any
moment leaves the store either as before the batch or with the complete batch.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import duckdb

from churnradar.errors import IngestError
from churnradar.ingest.validate import q
from churnradar.schema import Table

log = logging.getLogger("churnradar.ingest")


def publish(
    con: duckdb.DuckDBPyConnection,
    staged: Sequence[tuple[Table, str]],
    *,
    batch_id: str,
    created_at: datetime,
    on_error: str,
    totals: dict[str, int],
    tables: dict[str, Any],
    files: list[dict[str, Any]],
    rejects_sql: str | None,
    meta: dict[str, str] | None = None,
    before_commit: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Upsert every ``(table, staging table)`` pair, write rejects and the batch row, in one commit.

    ``staging table`` holds ``_bad`` and the canonical columns; only rows with ``NOT _bad`` are
    published. ``rejects_sql`` selects the ``_rejects`` rows of the batch (quarantine mode).
    Returns, per table, how many stored rows the batch replaced (same key); the batch row records
    them too (``tables.<name>.replaced``). ``before_commit`` runs last inside the transaction; what
    it raises rolls the batch back.
    """
    replaced: dict[str, int] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute("BEGIN TRANSACTION")
    try:
        for table, stage in staged:
            cols = ", ".join(q(c) for c in table.column_names)
            target = f"main.{q(table.name)}"
            on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in table.key)
            existing = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            replaced[table.name] = 0
            if existing:
                deleted = con.execute(f"DELETE FROM {target} t USING {q(stage)} s WHERE NOT s._bad AND {on}")
                replaced[table.name] = int(deleted.fetchone()[0])
                if table.name in tables:
                    tables[table.name] = {**tables[table.name], "replaced": replaced[table.name]}
            con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {q(stage)} WHERE NOT _bad")
            log.debug(
                "%.3fs (cpu %.3fs) upsert %s", time.perf_counter() - t0, time.process_time() - c0, table.name
            )
        if rejects_sql:
            con.execute(
                "INSERT INTO main._rejects (batch_id, table_name, file, line, column_name, value, reason) "
                f"SELECT ?, table_name, file, line, column_name, value, reason FROM ({rejects_sql})",
                [batch_id],
            )
        con.execute(
            'INSERT INTO main._batch (batch_id, created_at, on_error, "read", loaded, rejected, tables, files) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id,
                created_at,
                on_error,
                totals["read"],
                totals["loaded"],
                totals["rejected"],
                json.dumps(tables, ensure_ascii=False),
                json.dumps(files, ensure_ascii=False),
            ],
        )
        for k, v in (meta or {}).items():
            con.execute("DELETE FROM main._meta WHERE key = ?", [k])
            con.execute("INSERT INTO main._meta VALUES (?, ?)", [k, v])
        if before_commit is not None:
            before_commit()
        t1 = time.perf_counter()
        con.execute("COMMIT")
        log.debug("%.3fs commit; publish %.3fs", time.perf_counter() - t1, time.perf_counter() - t0)
        return replaced
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise IngestError(f"batch {batch_id} could not be published; the store is unchanged: {exc}") from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
