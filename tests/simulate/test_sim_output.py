"""Every canonical table is written exactly as the schema says, in Parquet and CSV."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from churnradar.schema import TABLES, TRUTH_TABLES
from churnradar.simulate.writer import ARROW_TYPES, output_columns

ALL = [*TABLES.values(), *TRUTH_TABLES.values()]


def path_of(folder: Path, name: str, fmt: str) -> Path:
    sub = "_truth/" if name in TRUTH_TABLES else ""
    return folder / f"{sub}{name}.{fmt}"


def read(folder: Path, name: str) -> pa.Table:
    return pq.read_table(path_of(folder, name, "parquet"))


def test_every_table_written_and_truth_kept_apart(sim_parquet):
    files = sorted(p.name for p in sim_parquet.iterdir() if p.is_file())
    assert files == sorted(f"{n}.parquet" for n in TABLES)
    assert sorted(p.name for p in (sim_parquet / "_truth").iterdir()) == sorted(
        f"{n}.parquet" for n in TRUTH_TABLES
    )


@pytest.mark.parametrize("table", ALL, ids=lambda t: t.name)
def test_columns_types_enums_ranges_and_nulls(sim_parquet, table):
    t = read(sim_parquet, table.name)
    assert t.column_names == output_columns(table)
    assert t.num_rows > 0, f"{table.name} is empty"
    for col, name in zip(table.columns, t.column_names, strict=True):
        arr = t.column(name)
        want = ARROW_TYPES[col.dtype]
        assert arr.type == want or (col.dtype == "timestamp" and pa.types.is_timestamp(arr.type)), (
            f"{table.name}.{name}: {arr.type} != {want}"
        )
        if not col.nullable:
            assert arr.null_count == 0, f"{table.name}.{name} has nulls"
        if col.enum:
            values = set(pc.unique(arr.drop_null()).to_pylist())
            assert values <= set(col.enum), f"{table.name}.{name}: {values - set(col.enum)}"
        if col.min is not None and len(arr.drop_null()):
            assert pc.min(arr).as_py() >= col.min, f"{table.name}.{name} below {col.min}"
        if col.max is not None and len(arr.drop_null()):
            assert pc.max(arr).as_py() <= col.max, f"{table.name}.{name} above {col.max}"
        if col.dtype == "month":
            days = pc.day(arr.drop_null().cast(pa.timestamp("s")))
            assert set(days.to_pylist()) <= {1}, f"{table.name}.{name} is not the first of a month"


@pytest.mark.parametrize("table", ALL, ids=lambda t: t.name)
def test_keys_unique(sim_parquet, table):
    t = read(sim_parquet, table.name)
    key = [c.raw_name if c.pii else c.name for c in table.columns if c.name in table.key]
    grouped = t.group_by(key).aggregate([([], "count_all")])
    assert grouped.num_rows == t.num_rows, f"duplicate keys in {table.name}"


def _fk_pairs():
    for table in TABLES.values():
        for col in table.columns:
            if col.references:
                yield table.name, col.name, *col.references.split(".")


@pytest.mark.parametrize("child,col,parent,pcol", list(_fk_pairs()), ids=lambda x: str(x))
def test_foreign_keys_resolve(sim_parquet, child, col, parent, pcol):
    values = set(pc.unique(read(sim_parquet, child).column(col).drop_null()).to_pylist())
    parents = set(read(sim_parquet, parent).column(pcol).to_pylist())
    assert values, f"{child}.{col} never set"
    assert values <= parents, f"{child}.{col} values not in {parent}: {sorted(values - parents)[:5]}"


def test_truth_refers_to_subscriptions(sim_parquet):
    truth = read(sim_parquet, "churn_truth")
    subs = set(read(sim_parquet, "subscription").column("subscriber_id").to_pylist())
    assert set(truth.column("subscriber_id").to_pylist()) <= subs
    assert set(truth.column("new_subscriber_id").drop_null().to_pylist()) <= subs
    mech = set(truth.column("mechanism").to_pylist())
    from churnradar.simulate import MECHANISMS

    assert mech <= {m.name for m in MECHANISMS}


def _iso7064_ok(cert: str) -> bool:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(cert[:17], weights, strict=True))
    return "10X98765432"[total % 11] == cert[17]


def _luhn_ok(num: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(num)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def test_iso_check_digit_helper_accepts_a_published_example():
    assert _iso7064_ok("11010519491231002X") and not _iso7064_ok("110105194912310021")


def test_raw_identifiers_are_fictional_but_well_formed(sim_parquet):
    msisdn = read(sim_parquet, "subscription").column("msisdn").to_pylist()
    assert len(set(msisdn)) == len(msisdn)
    assert all(re.fullmatch(r"104\d{8}", m) for m in msisdn)
    certs = read(sim_parquet, "customer").column("certificate_no").to_pylist()
    assert len(set(certs)) == len(certs)
    assert all(len(c) == 18 and c.startswith("99") and _iso7064_ok(c) for c in certs)
    imeis = set(read(sim_parquet, "usage_monthly").column("imei").drop_null().to_pylist())
    assert all(re.fullmatch(r"990000\d{9}", i) and _luhn_ok(i) for i in imeis)


def test_onnet_call_peers_are_subscription_numbers(sim_parquet):
    edges = read(sim_parquet, "call_edge")
    own = set(
        pc.filter(edges.column("peer_msisdn"), pc.equal(edges.column("peer_operator"), "own")).to_pylist()
    )
    numbers = set(read(sim_parquet, "subscription").column("msisdn").to_pylist())
    assert own and own <= numbers
    comp = set(
        pc.filter(edges.column("peer_msisdn"), pc.not_equal(edges.column("peer_operator"), "own")).to_pylist()
    )
    assert comp and all(re.fullmatch(r"10[45]\d{8}", p) for p in comp)
    assert set(edges.column("peer_operator").to_pylist()) <= {"own", "HX", "LY", "XW"}


def test_some_handsets_hold_a_competitor_second_sim(sim_parquet):
    second = read(sim_parquet, "usage_monthly").column("second_sim_operator")
    share = 1 - second.null_count / len(second)
    assert 0.03 < share < 0.4
    assert set(second.drop_null().to_pylist()) <= {"HX", "LY", "XW"}


# ---- CSV ------------------------------------------------------------------------------------------

PATTERNS = {
    "month": r"\d{4}-\d{2}",
    "date": r"\d{4}-\d{2}-\d{2}",
    "timestamp": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}",
    "bool": r"true|false",
    "int": r"-?\d+",
    "float": r"-?\d+(\.\d{1,4})?",
}


@pytest.mark.parametrize("table", ALL, ids=lambda t: t.name)
def test_csv_text_formats(sim_csv, table):
    path = path_of(sim_csv, table.name, "csv")
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == output_columns(table)
    t = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in output_columns(table)}, strings_can_be_null=True
        ),
    )
    for col, name in zip(table.columns, t.column_names, strict=True):
        values = t.column(name)
        if not col.nullable:
            assert values.null_count == 0, f"{table.name}.{name}: empty field in a not-null column"
        pattern = PATTERNS.get(col.dtype)
        if pattern is None:
            continue
        decimals = 4 if col.dtype == "float" and col.max is not None and col.max <= 1 else 2
        if col.dtype == "float":
            pattern = rf"-?\d+(\.\d{{1,{decimals}}})?"
        sample = set(values.drop_null().to_pylist()[:5000])
        bad = [v for v in sample if not re.fullmatch(pattern, v)]
        assert not bad, f"{table.name}.{name}: {bad[:3]} do not match {pattern}"


def test_csv_and_parquet_hold_the_same_values(sim_parquet, sim_csv):
    p = read(sim_parquet, "billing_monthly")
    c = pacsv.read_csv(path_of(sim_csv, "billing_monthly", "csv"))
    assert c.num_rows == p.num_rows
    for name in ("revenue", "balance", "recharge_amount"):
        assert c.column(name).cast(pa.float64()).to_pylist() == p.column(name).to_pylist()
    assert c.column("subscriber_id").to_pylist() == p.column("subscriber_id").to_pylist()
