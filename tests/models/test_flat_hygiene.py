"""fit-table hygiene: every rule's finding, with the exact sentence a user reads, and what it does."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churnradar.cli import main
from churnradar.models.flat import fit_table
from churnradar.models.hygiene import MISSING_MARKERS, Finding, duplicate_groups, infer_kinds, typed

FAST = {"num_leaves": 4, "n_estimators": 20}


def table(n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = rng.uniform(size=n) < 1 / (1 + np.exp(-(-1.0 + 1.5 * x)))
    return pd.DataFrame(
        {
            "usage": np.round(x, 3),
            "plan": rng.choice(["basic", "plus", "max"], size=n),
            "fee": rng.integers(10, 60, size=n),
            "Churn": np.where(y, "Yes", "No"),
        }
    )


def fit(tmp_path, frame, **kw):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return fit_table(path, "Churn", report=tmp_path, **({"params": FAST} | kw))


def found(result, rule) -> list[str]:
    return [f.message for f in result.hygiene if f.rule == rule]


def test_a_numeric_column_with_question_marks_stays_numeric(tmp_path):
    frame = table()
    charges = (frame["fee"] * 1.5).round(2).astype(str)
    charges[::20] = "?"  # 5% of the cells
    frame["charges"] = charges
    r = fit(tmp_path, frame)
    assert r.types["charges"] == "numeric"
    assert found(r, "missing_markers") == [
        "'charges': 20 cells marked as missing ('?' × 20) are read as missing values"
    ]
    assert "charges" not in {e["column"] for e in r.excluded}


@pytest.mark.parametrize("marker", ["?", "NA", "N/A", "", "null", "-", "NULL", " n/a "])
def test_each_missing_marker_is_recognised(marker):
    frame = pd.DataFrame({"x": ["1.5", marker, "2", "3"], "c": ["a", "b", marker, "a"]})
    findings: list[Finding] = []
    kinds = infer_kinds(frame, findings)
    assert kinds == {"x": "numeric", "c": "categorical"}
    assert marker.strip().casefold() in MISSING_MARKERS
    t = typed(frame, kinds)
    assert np.isnan(t["x"].iloc[1]) and t["c"].iloc[2] is None
    shown = repr(marker.strip())
    assert [f.message for f in findings] == [
        f"'x': 1 cells marked as missing ({shown} × 1) are read as missing values",
        f"'c': 1 cells marked as missing ({shown} × 1) are read as missing values",
    ]


def test_stray_text_in_a_numeric_column_is_read_as_missing_and_reported():
    frame = pd.DataFrame({"x": [str(i) for i in range(99)] + ["twelve"]})
    findings: list[Finding] = []
    assert infer_kinds(frame, findings) == {"x": "numeric"}
    assert findings[0].rule == "non_numeric" and findings[0].message == (
        "'x': 1 values that are not numbers ('twelve') are read as missing in this numeric column"
    )


def test_integer_and_text_identifiers_are_left_out_with_a_notice(tmp_path):
    frame = table()
    rng = np.random.default_rng(1)
    frame.insert(0, "acct", rng.permutation(np.arange(500_000, 500_400)))
    frame.insert(1, "msisdn", [f"138{i:08d}" for i in rng.permutation(400)])
    frame.insert(2, "name", [f"cust-{i}" for i in range(400)])
    r = fit(tmp_path, frame)
    assert found(r, "identifier") == [
        "'acct' has a different integer value on every row (an identifier) and is left out; --keep 'acct' uses it",
        "'msisdn' has a different integer value on every row (an identifier) and is left out; "
        "--keep 'msisdn' uses it",
        "'name' has a different text value on every row (an identifier) and is left out; --keep 'name' uses it",
    ]
    assert {e["column"]: e["reason"] for e in r.excluded} == {
        "acct": "identifier",
        "msisdn": "identifier",
        "name": "identifier",
    }
    kept = fit(tmp_path, frame, keep=["acct"])
    assert found(kept, "kept") == [
        "'acct' has a different integer value on every row (an identifier) but is used (--keep)"
    ]
    assert kept.types["acct"] == "numeric"


def test_the_declared_id_and_dropped_columns_are_reported(tmp_path):
    frame = table()
    frame.insert(0, "cid", [f"C{i}" for i in range(400)])
    r = fit(tmp_path, frame, id_col="cid", drop=["fee"])
    assert found(r, "id_column") == ["'cid' is the id column (--id) and is left out"]
    assert found(r, "dropped") == ["'fee' is left out (--drop)"]


def test_constant_and_empty_columns_are_left_out(tmp_path):
    frame = table()
    frame["country"] = "CN"
    frame["blank"] = ""
    r = fit(tmp_path, frame)
    assert found(r, "constant") == ["'country' has a single value ('CN') and is left out"]
    assert found(r, "empty") == ["'blank' is empty on every row and is left out"]
    assert r.types["country"] == "id" and r.types["blank"] == "id"


def test_duplicate_rows_are_counted_and_kept_in_one_fold(tmp_path):
    frame = table(n=300)
    dup = pd.concat([frame, frame.iloc[:30]], ignore_index=True)
    r = fit(tmp_path, dup, folds=3)
    assert found(r, "duplicate_rows") == [
        "30 rows repeat another row exactly (every model column and the churn value); kept, and a row and its "
        "copies are always on the same side of a split, so they cannot inflate the validation"
    ]
    for i in range(30):  # each copy in its original's fold
        assert r.fold_of_row[i] == r.fold_of_row[300 + i]


def test_conflicting_duplicates_are_counted(tmp_path):
    frame = table(n=300)
    clash = frame.iloc[:7].copy()
    clash["Churn"] = np.where(clash["Churn"] == "Yes", "No", "Yes")
    r = fit(tmp_path, pd.concat([frame, clash], ignore_index=True), folds=3)
    assert found(r, "conflicting_duplicates") == [
        "14 rows in 7 groups have the same values in every model column but different churn values "
        "(conflicting duplicates); kept, on the same side of every split"
    ]
    assert found(r, "duplicate_rows") == []


def test_duplicate_groups_join_exact_and_conflicting_copies():
    X = pd.DataFrame({"a": [1.0, 1.0, 2.0, np.nan, np.nan], "b": ["x", "x", "y", None, None]})
    findings: list[Finding] = []
    g = duplicate_groups(X, np.array([1, 0, 1, 0, 0]), findings)
    assert g[0] == g[1] and g[3] == g[4] and len(set(g)) == 3
    assert [f.rule for f in findings] == ["duplicate_rows", "conflicting_duplicates"]
    assert duplicate_groups(X.iloc[[0, 2, 3]], np.array([1, 1, 0]), []) is None


def test_many_categories_keep_the_most_frequent(tmp_path):
    frame = table(n=600)
    frame["city"] = [f"city{i % 150}" for i in range(600)]
    r = fit(tmp_path, frame)
    assert found(r, "high_cardinality") == [
        "'city' has 150 distinct values; the 100 most frequent are used and the other 200 cells are read as missing"
    ]


def test_hygiene_is_in_the_json_with_rule_columns_count_action(tmp_path, capsys):
    frame = table()
    frame["country"] = "CN"
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    args = ["fit-table", str(path), "--target", "Churn", "--json", "--report", str(tmp_path)]
    assert main([*args, "--params", json.dumps(FAST)]) == 0
    s = json.loads(capsys.readouterr().out)
    assert {
        "rule": "constant",
        "columns": ["country"],
        "count": 400,
        "action": "left out",
        "message": "'country' has a single value ('CN') and is left out",
    } in s["hygiene"]
    assert {"column": "country", "reason": "constant", "auc": None} in s["excluded"]


def test_console_lists_every_finding(tmp_path, capsys):
    frame = table()
    frame["country"] = "CN"
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    args = [
        "fit-table",
        str(path),
        "--target",
        "Churn",
        "--report",
        str(tmp_path),
        "--params",
        json.dumps(FAST),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "constant: 'country' has a single value ('CN') and is left out" in " ".join(out.split())


def test_test_rows_that_repeat_training_rows_and_test_rows_without_target(tmp_path):
    train = table(n=300, seed=1)
    test = pd.concat([table(n=100, seed=2), train.iloc[:12]], ignore_index=True)
    test.loc[0, "Churn"] = "?"
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    r = fit_table(tmp_path / "train.csv", "Churn", test=tmp_path / "test.csv", params=FAST, report=tmp_path)
    assert found(r, "train_test_overlap") == [
        "12 test rows repeat a training row exactly in every model column"
    ]
    assert found(r, "test_target_missing") == [
        "test rows: 1 rows have no value in the churn column 'Churn' and are left out"
    ]
    assert r.test_rows == 111


def test_a_constant_number_is_shown_as_written(tmp_path):
    frame = table()
    frame["count"] = 1
    r = fit(tmp_path, frame)
    assert found(r, "constant") == ["'count' has a single value (1) and is left out"]
