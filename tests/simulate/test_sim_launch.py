"""An injected competitor launch changes the launch county from its first month, and nothing before.

Two runs of one seed, with and without a launch in Qinglan District (county 0, YC01) in the third
written month: the months before it are the same rows; in the launch month the district's lines
use less of the own network and more of the competitor, and more of its leavers port out.
"""

from __future__ import annotations

import duckdb
import pytest

from churnradar.errors import ConfigError
from churnradar.simulate import SimConfig, simulate

ARGS = {"subscribers": 2_000, "months": 6, "seed": 9, "start": "2024-03"}
LAUNCH = SimConfig(competitor_launches=((0, 1, 2, 5),))  # YC01, Lianyu Mobile, May–August 2024


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    root = tmp_path_factory.mktemp("launch")
    simulate(out=root / "quiet", **ARGS)
    simulate(out=root / "launch", config=LAUNCH, **ARGS)
    con = duckdb.connect()
    for run in ("quiet", "launch"):
        for table in ("usage_monthly", "subscription", "region"):
            con.sql(
                f"CREATE VIEW {run}_{table} AS SELECT * FROM read_parquet('{root / run / (table + '.parquet')}')"
            )
        truth = root / run / "_truth" / "churn_truth.parquet"
        con.sql(f"CREATE VIEW {run}_truth AS SELECT * FROM read_parquet('{truth}')")
    return con


def _usage(con, run: str, month: str, county: str) -> tuple[float, float]:
    """Own-network minutes of the county's lines in ``month``, and the competitor's share of them."""
    return con.sql(f"""
        SELECT sum(u.onnet_min), sum(u.competitor_min) / sum(u.onnet_min + u.offnet_min + u.competitor_min)
        FROM {run}_usage_monthly u
        JOIN {run}_subscription s USING (subscriber_id) JOIN {run}_region r USING (grid_id)
        WHERE strftime(u.month, '%Y-%m') = '{month}' AND r.county_id = '{county}'
    """).fetchone()


def test_the_months_before_the_launch_are_the_same(runs) -> None:
    for month in ("2024-03", "2024-04"):
        sql = "SELECT * FROM {}_usage_monthly WHERE strftime(month, '%Y-%m') = '{}' ORDER BY subscriber_id"
        assert (
            runs.sql(sql.format("quiet", month)).fetchall()
            == runs.sql(sql.format("launch", month)).fetchall()
        )


def test_the_launch_county_moves_usage_to_the_competitor_from_the_first_month(runs) -> None:
    on_q, comp_q = _usage(runs, "quiet", "2024-05", "YC01")
    on_l, comp_l = _usage(runs, "launch", "2024-05", "YC01")
    assert on_l < 0.6 * on_q  # the usage cut and the competitor share both take own-network minutes
    assert comp_l > comp_q + 0.05  # the 0.30 boost applies to minutes outside the call circle
    # a county without the launch keeps its usage in the launch month
    on_q2, _ = _usage(runs, "quiet", "2024-05", "YC03")
    on_l2, _ = _usage(runs, "launch", "2024-05", "YC03")
    assert on_l2 == pytest.approx(on_q2, rel=0.05)


def test_leavers_to_the_launching_competitor_port_out(runs) -> None:
    sql = """
        SELECT count(*) FILTER (WHERE kind = 'port_out'), count(*) FROM {}_truth t
        JOIN {}_subscription s USING (subscriber_id) JOIN {}_region r USING (grid_id)
        WHERE r.county_id = 'YC01' AND t.mechanism = 'competitor_push'
    """
    ported, pushed = runs.sql(sql.format("launch", "launch", "launch")).fetchone()
    quiet_pushed = runs.sql(sql.format("quiet", "quiet", "quiet")).fetchone()[1]
    assert pushed > quiet_pushed + 10  # the launch's extra hazard
    assert ported > 0.25 * pushed


def test_a_bad_launch_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"competitor_launches entry \(0, 5, 1, 2\)"):
        SimConfig(competitor_launches=((0, 5, 1, 2),)).validate()
