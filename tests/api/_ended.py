"""A copy of the API tests' store in which some scored lines have left in the last month of data
(the shared store's score batch names none that left), for the risk list's status filter."""

from __future__ import annotations

import shutil
from datetime import datetime, time
from pathlib import Path

import duckdb

#: how the copy's leavers go, in turn: deregistered (销户), ported out (携出), pre-deregistered (预销户)
END_KINDS = ("deregister", "port_out", "pre_deregister")
#: states of lines still in the default list besides ``active``
IN_SERVICE_STATES = {"active", "suspend_oneway", "suspend_twoway"}


def store_with_leavers(store: Path, folder: Path, county: str, n: int = 6) -> tuple[Path, list[str]]:
    """A copy of ``store`` in ``folder`` where ``n`` scored lines of ``county`` end (or are
    pre-deregistered) in the middle of the last month of data; returns its path and their ids."""
    path = folder / "store.duckdb"
    shutil.copy(store, path)
    con = duckdb.connect(str(path))
    try:
        leavers = [
            r[0]
            for r in con.execute(
                "SELECT sc.subscriber_id FROM score sc JOIN subscription s USING (subscriber_id) "
                "JOIN region r USING (grid_id) WHERE sc.as_of = (SELECT max(as_of) FROM score) "
                "AND r.county_id = ? ORDER BY sc.subscriber_id LIMIT ?",
                [county, n],
            ).fetchall()
        ]
        last = con.execute("SELECT max(month) FROM usage_monthly").fetchone()[0]
        for i, sid in enumerate(leavers):
            con.execute(
                "INSERT INTO status_event (subscriber_id, event_time, event_type, reason) VALUES (?, ?, ?, 'test')",
                [sid, datetime.combine(last.replace(day=15), time(10)), END_KINDS[i % len(END_KINDS)]],
            )
    finally:
        con.close()
    return path, leavers
