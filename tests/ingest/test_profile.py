"""`churnradar profile`: missing shares, negatives, constant columns, code coverage, duplicate keys,
months covered, unmapped columns and the features an export cannot feed."""

from __future__ import annotations

import json
from pathlib import Path

from churnradar.cli import main
from churnradar.ingest.profile import profile

MAPPING = """
[settings]
months = { "1" = "2024-01", "2" = "2024-02" }

[tables.subscription.columns]
subscriber_id = { column = "mobile_number", pseudonymise = true }
customer_id = { column = "mobile_number", pseudonymise = true }
msisdn = "mobile_number"
brand = { column = "brand_code", map = { "QQT" = "premium", "SZX" = "budget" } }
package_id = { value = "P0" }
payment_type = { value = "prepaid" }
activation_date = { column = "aon", days_before = "2024-02-29" }
channel_id = { value = "CH0" }
grid_id = { value = "G0" }

[tables.billing_monthly]
require = "arpu_{m}"
[tables.billing_monthly.columns]
subscriber_id = { column = "mobile_number", pseudonymise = true }
month = "{month}"
package_id = { value = "P0" }
revenue = "arpu_{m}"
arrears = { value = "0" }
balance = { value = "0" }
recharge_count = { value = "0" }
recharge_amount = { value = "0" }
overage = { value = "0" }
"""


def export(tmp_path: Path) -> tuple[Path, Path]:
    f = tmp_path / "prepaid.csv"
    f.write_text(
        "mobile_number,aon,brand_code,circle,arpu_1,arpu_2,roam_1\n"
        "13800138001,400,QQT,109,10.5,-2,0\n"
        "13800138002,30,SZX,109,,7,0\n"
        "13800138002,31,XYZ,109,3,4,0\n",
        encoding="utf-8",
    )
    m = tmp_path / "prepaid.toml"
    m.write_text(MAPPING, encoding="utf-8")
    return f, m


def test_profile_reports_columns_codes_keys_and_missing_tables(tmp_path: Path) -> None:
    f, m = export(tmp_path)
    p = profile([f], mapping=m)
    (fp,) = p.files
    cols = {c.name: c for c in fp.columns}
    assert fp.rows == 3
    assert cols["circle"].constant and cols["roam_1"].constant
    assert cols["arpu_1"].missing == 1 and round(cols["arpu_1"].missing_share, 2) == 0.33
    assert cols["arpu_2"].negatives == 1
    assert "13800138001" not in json.dumps(p.to_dict())  # phone numbers are never shown
    tables = {t.table: t for t in fp.tables}
    assert tables["subscription"].duplicate_keys == 1
    assert tables["subscription"].codes["brand"]["foreign"] == [("XYZ", 1)]
    assert tables["billing_monthly"].rows == 5 and tables["billing_monthly"].months == ["2024-01", "2024-02"]
    assert tables["billing_monthly"].negatives == {"revenue": 1}
    assert fp.unmapped == ["circle", "roam_1"]
    assert "usage_monthly" in p.missing_tables and p.skipped_features > 0


def test_the_profile_command_writes_html_and_json(tmp_path: Path, capsys) -> None:
    f, m = export(tmp_path)
    out = tmp_path / "profile"
    assert main(["profile", str(f), "--mapping", str(m), "--out", str(out)]) == 0
    page = (out / "profile.html").read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page and "prepaid.csv" in page
    assert json.loads((out / "profile.json").read_text(encoding="utf-8"))["files"][0]["rows"] == 3
    assert "features" in capsys.readouterr().out
