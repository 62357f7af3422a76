"""The operator's KPI targets file: every bad cell is reported with its file, line, column, value
and what was expected; a year's target holds for each month of a level figure; 完成率 is
actual / target, or 1 − (actual − target) / target when lower is better."""

from __future__ import annotations

import pytest

from churnradar.metrics import CATALOGUE
from churnradar.metrics.targets import TargetsError, attainment, read_targets, usual_direction

COUNTIES = {"YC01", "YC04"}
HEADER = "kpi,period,region,target,direction\n"


def _write(tmp_path, body: str, name: str = "targets.csv"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _problems(path) -> list[str]:
    with pytest.raises(TargetsError) as err:
        read_targets(path, counties=COUNTIES)
    return err.value.problems


def test_a_good_file_reads_with_percentages_year_rows_and_usual_directions(tmp_path):
    path = _write(
        tmp_path,
        "\ufeff"  # Excel's BOM
        + HEADER
        + "# company targets\n"
        + "offnet_rate,2025,operator,1.8%,\n"
        + "offnet_rate,2025-02,operator,0.025,\n"
        + 'revenue,2025-01,YC04,"1,500,000",higher\n'
        + "\n"
        + "arpu,2025,YC01,48,lower\n",
    )
    t = read_targets(path, counties=COUNTIES)
    assert len(t) == 4
    jan = t.get("offnet_rate", "2025-01", "operator")
    assert jan.value == pytest.approx(0.018) and jan.direction == "lower" and jan.line == 3
    assert t.get("offnet_rate", "2025-02-01", "operator").value == 0.025  # the month row wins
    assert t.get("offnet_rate", "2026-01", "operator") is None
    assert t.get("offnet_rate", "2025-01", "YC04") is None  # the operator's target is not a county's
    assert t.get("revenue", "2025-01", "YC04").value == 1_500_000
    assert t.get("arpu", "2025-07", "YC01").direction == "lower"  # the file's direction is kept


def test_unknown_kpi_names_file_line_column_and_lists_the_catalogue(tmp_path):
    path = _write(tmp_path, HEADER + "offnet_rate,2025,operator,1.8%,\nchurn_rate,2025,operator,2%,\n")
    (p,) = _problems(path)
    assert p.startswith(f"{path}:3:1 (kpi): value 'churn_rate' ")
    assert "offnet_rate" in p and "customer_retention" in p and "expected one of" in p


def test_county_not_in_the_store_is_reported_with_the_counties_there(tmp_path):
    path = _write(tmp_path, HEADER + "offnet_rate,2025,YC99,2%,\n")
    (p,) = _problems(path)
    assert p.startswith(f"{path}:2:3 (region): value 'YC99' is not a county of the store")
    assert "'operator'" in p and "YC01" in p and "YC04" in p


def test_bad_numbers_are_reported_with_their_cell(tmp_path):
    path = _write(
        tmp_path,
        HEADER
        + "offnet_rate,2025,operator,abc,\n"
        + "offnet_rate,2026,operator,-1%,\n"
        + "offnet_rate,2027,operator,1.8,\n"
        + "revenue,2025-01,operator,5%,\n"
        + "revenue,2025-02,operator,nan,\n",
    )
    p = _problems(path)
    assert p[0].startswith(f"{path}:2:4 (target): value 'abc' is not a number")
    assert p[1].startswith(f"{path}:3:4 (target): value '-1%' is not positive")
    assert p[2].startswith(f"{path}:4:4 (target): value '1.8' is above 1 for the ratio offnet_rate")
    assert "1.8%" in p[2]
    assert p[3].startswith(f"{path}:5:4 (target): value '5%' is not a number (a percentage")
    assert p[4].startswith(f"{path}:6:4 (target): value 'nan' is not a number")
    assert len(p) == 5


def test_periods_directions_and_row_lengths(tmp_path):
    path = _write(
        tmp_path,
        HEADER
        + "offnet_rate,2025-13,operator,2%,\n"
        + "offnet_rate,Q1,operator,2%,\n"
        + "revenue,2025,operator,1000,\n"
        + "offnet_rate,2025,operator,2%,down\n"
        + "offnet_rate,2025,operator\n",
    )
    p = _problems(path)
    assert p[0].startswith(f"{path}:2:2 (period): value '2025-13' is not a period; expected a month YYYY-MM")
    assert p[1].startswith(f"{path}:3:2 (period): value 'Q1'")
    assert p[2].startswith(f"{path}:4:2 (period): value '2025' is a year, but revenue (yuan) adds up")
    assert p[3].startswith(
        f"{path}:5:5 (direction): value 'down' is not a direction; expected one of lower, higher"
    )
    assert p[4] == f"{path}:6: 3 values; expected 5 (kpi,period,region,target,direction)"


def test_a_duplicate_row_names_the_first(tmp_path):
    path = _write(
        tmp_path,
        HEADER + "offnet_rate,2025,YC01,2%,\nport_out_rate,2025,YC01,0.2%,\noffnet_rate,2025,YC01,2.1%,\n",
    )
    (p,) = _problems(path)
    assert p.startswith(
        f"{path}:4: duplicate target of offnet_rate for 2025 in YC01 (line 2 already sets it)"
    )


def test_header_without_a_column_or_with_an_unknown_one(tmp_path):
    path = _write(tmp_path, "kpi,month,region,target\noffnet_rate,2025,operator,2%\n")
    (p,) = _problems(path)
    assert p.startswith(f"{path}:1: header ['kpi', 'month', 'region', 'target']")
    assert "missing ['period']" in p and "unknown ['month']" in p
    assert "expected the columns kpi,period,region,target,direction" in p


def test_direction_column_may_be_left_out_and_a_missing_file_is_named(tmp_path):
    t = read_targets(_write(tmp_path, "kpi,period,region,target\nrevenue,2025-01,operator,100\n"), COUNTIES)
    assert t.get("revenue", "2025-01").direction == "higher"
    missing = tmp_path / "none.csv"
    with pytest.raises(Exception, match=f"{missing}: no such targets file"):
        read_targets(missing)


def test_every_exit_rate_is_lower_is_better_and_volumes_higher():
    assert usual_direction("offnet_rate") == "lower"
    assert usual_direction("cancel_rate_t3") == "lower"
    assert usual_direction("revenue") == "higher"
    assert usual_direction("customer_retention") == "higher"
    for mid, m in CATALOGUE.items():  # every rate of exits (a ratio of an exit count) is lower-is-better
        if m.ratio and m.ratio[0] in ("deregistrations", "port_outs", "offnet_churn", "offnet_churn_left"):
            assert usual_direction(mid) == "lower", mid


def test_attainment_for_higher_and_lower_is_better(tmp_path):
    t = read_targets(
        _write(tmp_path, HEADER + "offnet_rate,2025,operator,2%,\nrevenue,2025-01,operator,200,\n"), COUNTIES
    )
    churn, revenue = t.get("offnet_rate", "2025-01"), t.get("revenue", "2025-01")
    assert attainment(0.02, churn) == pytest.approx(1.0)  # on target
    assert attainment(0.022, churn) == pytest.approx(0.9)  # 10% above: 90%
    assert attainment(0.0, churn) == pytest.approx(2.0)  # no churn at all: finite
    assert attainment(150, revenue) == pytest.approx(0.75)
    assert attainment(None, revenue) is None and attainment(150, None) is None
