"""An operator's own data: code lists that accept ``unknown``, the root cause of a refused parent
reported first (its children point at it), and revenue that may be negative (refunds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ingest._data import csv_text, dataset, parent_sizes

from churnradar.errors import IngestError
from churnradar.ingest import ingest
from churnradar.schema import TABLES
from churnradar.schema import enums as E
from churnradar.store import Store

KEY = b"operator-codes-key-0123456789abcdef"


def write_folder(folder: Path, sizes: dict[str, int], edits: dict[tuple[str, int, str], str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (header, body) in dataset(sizes).items():
        for (table, i, col), text in edits.items():
            if table == name:
                body[i][header.index(col)] = text
        (folder / f"{name}.csv").write_text(csv_text(header, body))
    return folder


def test_every_code_list_of_operator_data_accepts_unknown() -> None:
    for t in TABLES.values():
        for c in t.columns:
            if (
                c.enum
                and t.group != "truth"
                and c.enum is not None
                and any(set(c.enum) == set(d) for d in E.DATA_ENUMS)
            ):
                assert "unknown" in c.enum, (t.name, c.name)
    assert E.label(E.BRAND, "unknown", "zh") == "未知"


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("customer", "customer_group"),
        ("subscription", "brand"),
        ("subscription", "payment_type"),
        ("region", "area_type"),
    ],
)
def test_unknown_loads_where_a_foreign_code_is_refused(tmp_path: Path, table: str, column: str) -> None:
    sizes = parent_sizes(5)
    ok = write_folder(tmp_path / "ok", sizes, {(table, 0, column): "unknown"})
    result = ingest([ok], tmp_path / "ok.duckdb", key=KEY)
    assert result.rejected == 0
    header, body = dataset(sizes)[table]
    with Store.open(tmp_path / "ok.duckdb") as st:
        got = st.connection.execute(
            f"SELECT {column} FROM {table} WHERE {header[0]} = ?", [body[0][0]]
        ).fetchone()
    assert got[0] == "unknown"
    bad = write_folder(tmp_path / "bad", sizes, {(table, 0, column): "VIP"})
    with pytest.raises(IngestError) as exc:
        ingest([bad], tmp_path / "bad.duckdb", key=KEY)
    first = exc.value.result.errors[0]  # type: ignore[attr-defined]
    assert (first.column, first.value, first.line) == (column, "VIP", 2)
    assert f"is not a valid {column}; expected one of" in first.reason and "unknown" in first.reason


def test_a_refused_parent_is_reported_first_and_its_children_point_at_it(tmp_path: Path) -> None:
    sizes = {**parent_sizes(5), "billing_monthly": 5}
    folder = write_folder(tmp_path / "in", sizes, {("customer", 1, "customer_group"): "VIP"})
    # file names sort billing_monthly.csv before customer.csv: the order of the report is the load order
    with pytest.raises(IngestError) as exc:
        ingest([folder], tmp_path / "s.duckdb", key=KEY)
    errors = exc.value.result.errors  # type: ignore[attr-defined]
    root = errors[0]
    assert Path(root.file).name == "customer.csv" and root.line == 3 and root.column == "customer_group"
    children = [e for e in errors if e.column == "customer_id"]
    assert children, errors
    for e in children:
        assert Path(e.file).name == "subscription.csv"
        assert (
            e.reason
            == f"refers to a customer row refused in this batch: parent refused at {folder / 'customer.csv'}:3"
        )
    # the grandchildren (billing of the refused subscription) point at their own refused parent
    grand = [e for e in errors if e.column == "subscriber_id"]
    assert grand and all(
        "subscription row refused in this batch: parent refused at " in e.reason for e in grand
    )
    assert str(exc.value).split("first: ", 1)[1].startswith(f"{folder / 'customer.csv'}:3:customer_group")


def test_a_parent_missing_from_store_and_batch_keeps_the_unknown_reason(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", parent_sizes(5), {("subscription", 0, "customer_id"): "NOSUCH"})
    with pytest.raises(IngestError) as exc:
        ingest([folder], tmp_path / "s.duckdb", key=KEY)
    (e,) = exc.value.result.errors  # type: ignore[attr-defined]
    assert e.reason == "is not a known customer.customer_id (neither in the store nor in this batch)"


def test_negative_revenue_loads_but_other_money_stays_non_negative(tmp_path: Path) -> None:
    sizes = {**parent_sizes(5), "billing_monthly": 5}
    folder = write_folder(tmp_path / "in", sizes, {("billing_monthly", 0, "revenue"): "-12.5"})
    assert ingest([folder], tmp_path / "s.duckdb", key=KEY).rejected == 0
    with Store.open(tmp_path / "s.duckdb") as st:
        assert (
            st.connection.execute("SELECT count(*) FROM billing_monthly WHERE revenue = -12.5").fetchone()[0]
            == 1
        )
    folder = write_folder(tmp_path / "in2", sizes, {("billing_monthly", 0, "balance"): "-1"})
    with pytest.raises(IngestError, match="balance: value '-1' is below the minimum 0"):
        ingest([folder], tmp_path / "s2.duckdb", key=KEY)
