"""Usage-based churn on an export without lifecycle events (the wide prepaid dialect): silence of 30
days finds the numbers that stop, in the month they stop, as the simulator's truth has them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from churnradar.ingest import hmac_hex, ingest
from churnradar.labels import label_store
from churnradar.simulate import simulate
from churnradar.simulate.dialects import write_dialect

#: truth kinds after which a number has no more activity; the month its silence starts
STOPS = "CASE WHEN t.kind = 'silent' THEN t.left_month ELSE t.left_month + INTERVAL 1 MONTH END"
KEY = "silent-test-key-0123456789"
NUMBER_STOPS = ("offnet", "port_out", "silent", "number_reselection", "tariff_reselection")


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("wide")
    simulate(subscribers=1500, months=9, seed=4, out=root / "_canonical", fmt="parquet")
    res = write_dialect(root / "_canonical", root / "export", "wide-prepaid")
    store = root / "wide.duckdb"
    ingest(res.files, store, key=KEY, mapping=res.mapping)
    label_store(store, "2024-04", definition="silent:30")
    return root, store


def _agreement(root: Path, store: Path, kinds: tuple[str, ...]) -> tuple[float, float]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        first, last = con.execute("SELECT min(month), max(month) FROM usage_monthly").fetchone()
        ks = ", ".join(f"'{k}'" for k in kinds)
        con.execute(
            f"""CREATE TEMP TABLE truth AS SELECT s.msisdn, {STOPS} AS m
                FROM read_parquet('{root}/_canonical/_truth/churn_truth.parquet') t
                JOIN read_parquet('{root}/_canonical/subscription.parquet') s USING (subscriber_id)
                WHERE t.kind IN ({ks})"""
        )
        con.execute(f"DELETE FROM truth WHERE m <= DATE '{first}' OR m > DATE '{last}'")
        # the mapping identifies each line by the digest of its phone number (= its msisdn_hash)
        con.execute(
            """CREATE TEMP TABLE found AS SELECT s.msisdn_hash AS h, e.event_month AS m
               FROM churn_event e JOIN subscription s USING (subscriber_id) WHERE e.kind = 'silent'"""
        )
        con.create_function("hmac", lambda v: hmac_hex(KEY.encode(), v), ["VARCHAR"], "VARCHAR")
        con.execute("ALTER TABLE truth ADD COLUMN h VARCHAR")
        con.execute("UPDATE truth SET h = hmac(msisdn)")
        hit = con.execute("SELECT count(*) FROM found JOIN truth USING (h, m)").fetchone()[0]
        n_found = con.execute("SELECT count(*) FROM found").fetchone()[0]
        n_truth = con.execute("SELECT count(*) FROM truth").fetchone()[0]
    finally:
        con.close()
    return hit / n_found, hit / n_truth


def test_silence_finds_the_numbers_that_stop_in_the_month_they_stop(wide: tuple[Path, Path]) -> None:
    precision, recall = _agreement(*wide, NUMBER_STOPS)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)


def test_without_events_a_month_with_no_row_after_the_last_counts_as_silent(wide: tuple[Path, Path]) -> None:
    """The export leaves the months after a number stopped empty (no usage rows): they are idle."""
    _root, store = wide
    con = duckdb.connect(str(store), read_only=True)
    try:
        n = con.execute(
            """SELECT count(*) FROM churn_event e JOIN (SELECT subscriber_id, max(month) AS last FROM usage_monthly
               GROUP BY 1) u USING (subscriber_id) WHERE e.kind = 'silent' AND e.event_month > u.last"""
        ).fetchone()[0]
    finally:
        con.close()
    assert n > 0
