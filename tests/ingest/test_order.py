"""Ingest stages files without keeping their order (cheaper) and stages a file again in file order
before any of its rows is reported. These tests shuffle every unordered staging table and run the
tests that report rows again: every line number, every "first occurrence" of a duplicate key and
every loaded value must come out as in file order."""

from __future__ import annotations

import pytest
from tests.ingest.test_encoding import (  # noqa: F401  (collected again under the shuffle)
    test_a_gbk_line_in_a_utf8_file_is_rejected_with_its_line_number,
    test_a_utf8_line_in_a_gbk_file_is_rejected_with_its_line_number,
)
from tests.ingest.test_ingest import (  # noqa: F401
    test_a_child_of_a_rejected_parent_is_rejected_too,
    test_a_later_batch_replaces_rows_with_the_same_key,
    test_a_parquet_column_of_another_type_refuses_the_file,
    test_a_valid_dataset_loads_every_row_with_typed_values,
    test_duplicate_keys_are_found_across_files_and_tables_of_one_batch,
    test_duplicate_keys_in_a_batch_reject_the_later_rows,
    test_each_schema_check_rejects_the_bad_cell_with_its_line,
    test_line_numbers_count_blank_and_unparsable_lines,
    test_parquet_loads_the_same_values_as_csv,
    test_parquet_values_are_checked_too,
    test_quarantine_loads_good_rows_and_records_bad_ones,
    test_the_error_names_file_line_column_value_and_what_was_expected,
)
from tests.ingest.test_pseudonymise import (  # noqa: F401
    test_every_stored_digest_is_the_hmac_of_its_raw_identifier_in_and_outside_keys,
)

from churnradar.ingest import batch


@pytest.fixture(autouse=True)
def _shuffle_unordered_staging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch._Batch, "shuffle_unordered", True)


def test_the_shuffle_does_shuffle(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The staging table of a clean file really is out of file order here (else the tests above
    would prove nothing), and the batch still loads every row."""
    from tests.ingest._data import csv_text, dataset, parent_sizes

    from churnradar.ingest import ingest

    header, body = dataset({**parent_sizes(20), "region": 200})["region"]
    f = tmp_path / "region.csv"
    f.write_text(csv_text(header, body), encoding="utf-8")
    seen: list[list[str]] = []
    original = batch._Batch._may_have_duplicates

    def spy(self, t) -> bool:
        stage = f"_ing_tbl_{t.name}"
        seen.append([r[0] for r in self.con.execute(f"SELECT grid_id FROM {stage} ORDER BY _row").fetchall()])
        return original(self, t)

    monkeypatch.setattr(batch._Batch, "_may_have_duplicates", spy)
    result = ingest([f], tmp_path / "s.duckdb")
    assert result.loaded == 200
    (order,) = seen
    assert sorted(order) == sorted(r[header.index("grid_id")] for r in body)
    assert order != [r[header.index("grid_id")] for r in body]
