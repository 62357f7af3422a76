"""fit-table inputs: CSV in UTF-8 and GBK, xlsx sheets, Parquet, column names, targets and splits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churnradar.cli import main
from churnradar.errors import ConfigError
from churnradar.models.flat import fit_table
from churnradar.models.hygiene import TargetEncodingError
from churnradar.models.tabular_io import read_table

FAST = {"num_leaves": 4, "n_estimators": 20}
FAST_CLI = ["--params", json.dumps(FAST)]


def table(n=400, seed=0, churn=("Yes", "No")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    plan = rng.choice(["基础", "畅享", "尊享"], size=n)
    p = 1 / (1 + np.exp(-(-1.0 + 1.5 * x)))
    y = rng.uniform(size=n) < p
    return pd.DataFrame(
        {
            "usage": np.round(x, 3),
            "plan": plan,
            "fee": rng.integers(10, 200, size=n),
            "Churn": np.where(y, churn[0], churn[1]),
        }
    )


def rules(result) -> dict[str, str]:
    return {f.rule: f.message for f in result.hygiene}


def test_gbk_csv_is_read_and_reported(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(table().to_csv(index=False).encode("gbk"))
    r = fit_table(path, "Churn", params=FAST, report=tmp_path)
    assert rules(r)["encoding"] == "gbk.csv is not UTF-8; read as GBK/GB18030"
    assert r.types["plan"] == "categorical" and r.rows == 400


def test_utf8_with_bom_and_semicolons(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + table().to_csv(index=False, sep=";").encode("utf-8"))
    tf = read_table(path)
    assert tf.encoding == "utf-8" and list(tf.frame.columns) == ["usage", "plan", "fee", "Churn"]


def test_undecodable_bytes_are_refused_with_a_hint(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,Churn\n\x81\x30\xff\xff,Yes\n")
    with pytest.raises(
        ConfigError, match=r"cannot decode the file as UTF-8 or GBK/GB18030 \(byte \d+\); save it as UTF-8"
    ):
        read_table(path)


def test_xlsx_sheet_is_chosen_with_sheet(tmp_path, capsys):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as w:
        pd.DataFrame({"note": ["cover"]}).to_excel(w, sheet_name="cover", index=False)
        table().to_excel(w, sheet_name="customers", index=False)
    out = tmp_path / "out"
    args = [
        "fit-table",
        str(path),
        "--target",
        "Churn",
        "--sheet",
        "customers",
        "--report",
        str(out),
        "--json",
    ]
    assert main(args + FAST_CLI) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["rows"] == 400 and s["columns"]["categorical"] == ["plan"]
    assert main(["fit-table", str(path), "--target", "Churn", *FAST_CLI]) == 1
    assert "target column 'Churn' is not in the file" in capsys.readouterr().err
    assert main(["fit-table", str(path), "--target", "Churn", "--sheet", "nope", *FAST_CLI]) == 1
    assert "Worksheet named 'nope' not found" in capsys.readouterr().err


def test_parquet_is_read(tmp_path):
    path = tmp_path / "t.parquet"
    frame = table()
    frame["fee"] = frame["fee"].astype("float64")
    frame.loc[::20, "fee"] = np.nan
    frame.to_parquet(path)
    r = fit_table(path, "Churn", params=FAST, report=tmp_path)
    assert r.types == {"usage": "numeric", "plan": "categorical", "fee": "numeric"}


def test_column_names_are_trimmed_and_reported(tmp_path):
    path = tmp_path / "spaces.csv"
    table().rename(columns={"Churn": "Churn ", "plan": " plan"}).to_csv(path, index=False)
    r = fit_table(path, "Churn", params=FAST, report=tmp_path)
    assert (
        rules(r)["column_names"]
        == "2 column names had spaces around them and are read trimmed: 'plan', 'Churn'"
    )
    r = fit_table(path, "Churn ", params=FAST, report=tmp_path)  # the name as written works too
    assert r.target == "Churn"


def test_unknown_target_and_id_suggest_close_names(tmp_path, capsys):
    path = tmp_path / "t.csv"
    table().to_csv(path, index=False)
    assert main(["fit-table", str(path), "--target", "Chrun", *FAST_CLI]) == 1
    err = capsys.readouterr().err
    assert "target column 'Chrun' is not in the file; did you mean 'Churn'?" in err
    assert main(["fit-table", str(path), "--target", "churn", "--id", "fees", *FAST_CLI]) == 1
    err = capsys.readouterr().err
    assert "id column 'fees' is not in the file; did you mean 'fee'?" in err


def test_three_valued_status_with_target_map(tmp_path):
    path = tmp_path / "status.csv"
    frame = table(churn=("Churned", "Stayed"))
    frame.loc[:39, "Churn"] = "Joined"
    frame.to_csv(path, index=False)
    with pytest.raises(TargetEncodingError, match=r"\['joined'\].*--target-map 'Churned=1,Stayed=0'"):
        fit_table(path, "Churn", params=FAST, report=tmp_path)
    r = fit_table(path, "Churn", target_map="Churned=1,Stayed=0", params=FAST, report=tmp_path)
    found = rules(r)
    assert found["target_unmapped"] == (
        "40 rows have churn values that --target-map does not map ('Joined': 40) and are left out"
    )
    n_pos = int((frame["Churn"] == "Churned").sum())
    n_neg = int((frame["Churn"] == "Stayed").sum())
    assert found["target_mapping"] == (
        f"churn column 'Churn': 'Churned' → 1 ({n_pos:,} rows); 'Stayed' → 0 ({n_neg:,} rows)"
    )
    assert r.rows == 360 and r.positives == n_pos


def test_positive_values_mark_churn_and_the_rest_not(tmp_path, capsys):
    path = tmp_path / "status.csv"
    frame = table(churn=("Churned", "Stayed"))
    frame.loc[:39, "Churn"] = "Joined"
    frame.to_csv(path, index=False)
    args = [
        "fit-table",
        str(path),
        "--target",
        "Churn",
        "--positive",
        "churned",
        "--json",
        "--report",
        str(tmp_path),
    ]
    assert main(args + FAST_CLI) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["rows"] == 400 and s["positives"] == int((frame["Churn"] == "Churned").sum())
    mapping = next(f for f in s["hygiene"] if f["rule"] == "target_mapping")
    assert "'Joined' → 0 (40 rows)" in mapping["message"]
    assert main(["fit-table", str(path), "--target", "Churn", "--positive", "Left", *FAST_CLI]) == 1
    assert "--positive 'left' does not occur in the churn column 'Churn'" in capsys.readouterr().err


def test_rows_without_a_target_are_left_out_and_counted(tmp_path):
    path = tmp_path / "t.csv"
    frame = table()
    frame.loc[:9, "Churn"] = ""
    frame.to_csv(path, index=False)
    r = fit_table(path, "Churn", params=FAST, report=tmp_path)
    assert rules(r)["target_missing"] == "10 rows have no value in the churn column 'Churn' and are left out"
    assert r.rows == 390


def test_split_column_trains_on_its_value_and_tests_on_the_rest(tmp_path, capsys):
    path = tmp_path / "t.csv"
    frame = table(n=600)
    frame["set"] = np.where(np.arange(600) < 450, "train", "holdout")
    frame.to_csv(path, index=False)
    args = ["fit-table", str(path), "--target", "Churn", "--split-column", "set", "--train-value", "train"]
    assert main([*args, "--json", "--report", str(tmp_path), *FAST_CLI]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["mode"] == "test" and s["rows"] == 450 and s["test"]["rows"] == 150
    assert s["test"]["positives"] == int((frame["Churn"].iloc[450:] == "Yes").sum())
    split = next(f for f in s["hygiene"] if f["rule"] == "split")
    assert split["message"] == (
        "split on 'set': 450 rows with 'train' train, the other 150 rows test; the column is left out of the model"
    )
    assert "set" not in s["columns"]["categorical"]
    assert main([*args[:-1], "nope", *FAST_CLI]) == 1
    assert "--train-value 'nope' does not occur in 'set'; its values are ['holdout', 'train']" in (
        capsys.readouterr().err
    )


def test_gbk_file_with_chinese_status_values_and_a_target_map(tmp_path):
    frame = table(churn=("离网", "在网")).rename(columns={"Churn": "状态", "fee": "月费"})
    frame.loc[:4, "状态"] = "新入网"
    path = tmp_path / "客户.csv"
    path.write_bytes(frame.to_csv(index=False).encode("gbk"))
    r = fit_table(path, "状态", target_map="离网=1,在网=0", params=FAST, report=tmp_path)
    found = rules(r)
    assert found["encoding"] == "客户.csv is not UTF-8; read as GBK/GB18030"
    assert found["target_unmapped"] == (
        "5 rows have churn values that --target-map does not map ('新入网': 5) and are left out"
    )
    assert r.rows == 395 and r.types["月费"] == "numeric"
