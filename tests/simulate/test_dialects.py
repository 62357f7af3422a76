"""The simulator's export dialects: ingested through their mapping files they give the same canonical
rows as the canonical files of the same seed (for what the dialect carries), and ``map init``
places their columns as the shipped mappings do."""

from __future__ import annotations

import tomllib
from pathlib import Path

import duckdb
import pytest

from churnradar.cli import main
from churnradar.ingest import ingest
from churnradar.ingest.draft import draft, render
from churnradar.ingest.mapping import load_mapping, parse_mapping
from churnradar.simulate import simulate
from churnradar.simulate.dialects import BSS_FILES, write_dialect

KEY = "dialect-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dialects") / "_canonical"
    simulate(subscribers=400, months=4, seed=5, out=out, fmt="parquet")
    return out


def _rows(store: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return sorted(con.execute(sql).fetchall(), key=repr)
    finally:
        con.close()


def _table_rows(store: Path, table: str) -> list[tuple]:
    return _rows(store, f"SELECT * FROM {table}")


def test_the_bss_export_loads_the_same_rows_as_the_canonical_files(canonical: Path, tmp_path: Path) -> None:
    res = write_dialect(canonical, tmp_path / "bss", "bss-zh")
    assert all(p.name.endswith(".csv") for p in res.files) and res.files[0].read_bytes().decode("gbk")
    a, b = tmp_path / "canonical.duckdb", tmp_path / "bss.duckdb"
    ingest([canonical / f"{name}.parquet" for name in BSS_FILES], a, key=KEY)
    result = ingest(res.files, b, key=KEY, mapping=res.mapping)
    assert result.rejected == 0
    for table in BSS_FILES:
        assert _table_rows(a, table) == _table_rows(b, table), table


def test_the_wide_prepaid_export_loads_the_same_lines_usage_and_bills(
    canonical: Path, tmp_path: Path
) -> None:
    res = write_dialect(canonical, tmp_path / "wide", "wide-prepaid")
    a, b = tmp_path / "canonical.duckdb", tmp_path / "wide.duckdb"
    ingest([canonical], a, key=KEY)
    result = ingest(res.files, b, key=KEY, mapping=res.mapping)
    assert result.rejected == 0
    assert _rows(a, "SELECT msisdn_hash, activation_date FROM subscription") == _rows(
        b, "SELECT msisdn_hash, activation_date FROM subscription"
    )
    usage = """SELECT s.msisdn_hash, u.month, u.voice_out_min, u.voice_in_min, u.onnet_min, u.offnet_min, u.data_mb
               FROM usage_monthly u JOIN subscription s USING (subscriber_id)"""
    bills = """SELECT s.msisdn_hash, b.month, b.revenue, b.recharge_count, b.recharge_amount
               FROM billing_monthly b JOIN subscription s USING (subscriber_id)"""
    assert _rows(a, usage) == _rows(b, usage)
    assert _rows(a, bills) == _rows(b, bills)
    assert _rows(b, "SELECT count(*) FROM status_event") == [(0,)]  # no lifecycle events in this export
    # the export keeps each month's last recharge day and its amount
    last = """SELECT s.msisdn_hash, max(r.recharge_date), arg_max(r.amount, r.recharge_date)
               FROM recharge r JOIN subscription s USING (subscriber_id)
               GROUP BY s.msisdn_hash, date_trunc('month', r.recharge_date)"""
    assert _rows(a, last) == _rows(b, last) and _rows(b, "SELECT count(*) FROM recharge")[0][0] > 100
    # nothing is invented: no dimension rows, no customers, the columns the export lacks are empty
    assert _rows(b, "SELECT count(*) FROM region UNION ALL SELECT count(*) FROM customer") == [(0,), (0,)]
    assert _rows(b, "SELECT count(sms_count), count(competitor_min) FROM usage_monthly") == [(0, 0)]


def test_the_drafted_mapping_of_the_wide_export_loads_it_unedited(canonical: Path, tmp_path: Path) -> None:
    res = write_dialect(canonical, tmp_path / "wide", "wide-prepaid")
    text = render(draft(res.files))
    assert 'date_format = "%m/%d/%Y"' in text and 'require = "total_og_mou_{m}"' in text
    mapping = tmp_path / "draft.toml"
    mapping.write_text(text, encoding="utf-8")
    result = ingest(res.files, tmp_path / "draft.duckdb", key=KEY, mapping=mapping)
    assert result.rejected == 0
    assert set(result.tables) == {"subscription", "usage_monthly", "billing_monthly", "recharge"}


@pytest.mark.parametrize("dialect", ["bss-zh", "wide-prepaid"])
def test_map_init_places_at_least_nine_in_ten_columns_of_each_dialect(
    canonical: Path, tmp_path: Path, dialect: str
) -> None:
    res = write_dialect(canonical, tmp_path / dialect, dialect)
    shipped = load_mapping(res.mapping)
    got = parse_mapping(tomllib.loads(render(draft(res.files))))
    want = {
        (tm.table.name, c.target): c.source for tm in shipped.tables for c in tm.columns if c.kind == "column"
    }
    have = {
        (tm.table.name, c.target): c.source for tm in got.tables for c in tm.columns if c.kind == "column"
    }
    right = sum(have.get(k) == v for k, v in want.items())
    assert right / len(want) >= 0.9, sorted(set(want.items()) - set(have.items()))


def test_simulate_writes_a_dialect_with_its_mapping(tmp_path: Path) -> None:
    out = tmp_path / "export"
    code = main(
        ["simulate", "-n", "200", "-m", "3", "--seed", "2", "--dialect", "wide-prepaid", "--out", str(out)]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["_canonical", "telecom_prepaid.csv", "wide-prepaid.toml"]
    assert (
        main(["simulate", "-n", "200", "-m", "3", "--seed", "2", "--dialect", "nope", "--out", str(out)]) == 1
    )
