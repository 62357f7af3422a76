"""Optional tables: a subscription may name a package, channel, customer or grid the operator does
not supply as a table; those references are kept, unchecked, and the batch says so. Once the table
is in the store, references to it are checked as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnradar.errors import IngestError
from churnradar.ingest import ingest
from churnradar.simulate import simulate

KEY = "optional-tables-key-0123456789abcdef"


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("optional")
    simulate(subscribers=150, months=2, seed=4, out=out, fmt="parquet")
    return out


def test_references_to_an_absent_table_are_kept_and_noted(canonical: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    files = [canonical / "subscription.parquet", canonical / "usage_monthly.parquet"]
    result = ingest(files, store, key=KEY)
    assert result.published and result.rejected == 0
    assert result.notes == [
        "subscription.customer_id not checked against customer.customer_id: the store has no customer rows",
        "subscription.package_id not checked against package.package_id: the store has no package rows",
        "subscription.channel_id not checked against channel.channel_id: the store has no channel rows",
        "subscription.grid_id not checked against region.grid_id: the store has no region rows",
    ]
    assert result.to_dict()["notes"] == result.notes


def test_references_are_checked_once_the_table_is_loaded(canonical: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    ingest([canonical / "package.parquet"], store, key=KEY)
    with pytest.raises(IngestError, match=r"is not a known package\.package_id"):
        import duckdb

        bad = tmp_path / "subscription.parquet"
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT * REPLACE ('NOPE' AS package_id) FROM read_parquet('{canonical / 'subscription.parquet'}')) "
            f"TO '{bad}' (FORMAT parquet)"
        )
        con.close()
        ingest([bad], store, key=KEY)
