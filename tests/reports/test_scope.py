"""A report scoped to some regions reads nothing of the others.

Two copies of the small operator: the full one, and one from which every other county's
subscribers (and every row about them) were deleted. A report scoped to the kept county must be the
same on both: if any builder read another county's rows (billing, calls, status events, surveys,
complaints, promotions...), its figures would differ.
"""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from churnradar.reports import ReportContext, build_report, report_names


def _subscriber_tables(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'subscriber_id' "
            "AND table_name <> 'subscription' AND NOT internal"
        ).fetchall()
    ]


@pytest.fixture(scope="module")
def stores(small_operator, tmp_path_factory):
    """(full store, store holding only the kept county's subscribers, kept county, its grids)."""
    root = tmp_path_factory.mktemp("scope")
    full, own = root / "full.duckdb", root / "own.duckdb"
    shutil.copy(small_operator.store, full)
    shutil.copy(small_operator.store, own)
    con = duckdb.connect(str(own))
    try:
        county = con.execute(
            "SELECT r.county_id FROM subscription s JOIN region r USING (grid_id) "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]
        grids = [
            r[0] for r in con.execute("SELECT grid_id FROM region WHERE county_id = ?", [county]).fetchall()
        ]
        con.execute(
            "CREATE TEMP TABLE gone AS SELECT subscriber_id FROM subscription s JOIN region r USING (grid_id) "
            "WHERE r.county_id <> ?",
            [county],
        )
        for t in _subscriber_tables(con):
            con.execute(f'DELETE FROM "{t}" WHERE subscriber_id IN (SELECT subscriber_id FROM gone)')
        con.execute("DELETE FROM subscription WHERE subscriber_id IN (SELECT subscriber_id FROM gone)")
        con.execute("DELETE FROM promotion WHERE county_id IS NOT NULL AND county_id <> ?", [county])
    finally:
        con.close()
    return full, own, county, frozenset(grids)


def _same(a, b, where: str) -> None:
    assert a.title == b.title, where
    assert a.findings == b.findings, where
    assert [s.key for s in a.sections] == [s.key for s in b.sections], where
    for sa, sb in zip(a.sections, b.sections, strict=True):
        ta = sa.table.reset_index(drop=True)
        tb = sb.table.reset_index(drop=True)
        pd.testing.assert_frame_equal(ta, tb, check_dtype=False, rtol=1e-9, obj=f"{where} {sa.key}")


@pytest.mark.parametrize("by", ["county", "grids"])
def test_scoped_reports_do_not_read_other_regions(stores, by):
    """Every report of the set, scoped to the county or to two of its grids, is the same with or
    without the other counties' rows."""
    full, own, county, grids = stores
    kw = {"region": county} if by == "county" else {"grids": frozenset(sorted(grids)[:2])}
    with (
        ReportContext.open(full, lang="en", **kw) as a,
        ReportContext.open(own, lang="en", **kw) as b,
    ):
        for name in report_names():
            _same(build_report(a, name), build_report(b, name), name)


def test_scope_restricts_region_names_and_tables(stores):
    full, _own, county, grids = stores
    with ReportContext.open(full, grids=grids) as ctx:
        assert set(ctx.names["county_id"]) == {county}
        assert set(ctx.names["grid_id"]) == set(grids)
        seen = ctx.run(ctx.table("billing_monthly").select("subscriber_id").distinct())
        lines = ctx.run(ctx.lines().select("subscriber_id", "grid_id"))
        assert set(seen["subscriber_id"]) <= set(lines["subscriber_id"])
        assert set(lines["grid_id"]) <= grids


def test_scope_of_no_grid_is_refused(stores):
    from churnradar.errors import ConfigError

    full, *_ = stores
    with pytest.raises(ConfigError, match="no grid"):
        ReportContext.open(full, grids=frozenset())


def test_forecast_series_cover_only_the_scope(stores):
    from churnradar.forecast import churn_series

    full, own, county, grids = stores
    with ReportContext.open(full, window=120, grids=frozenset(sorted(grids)[:2])) as a:
        s = churn_series(a)
    with ReportContext.open(own, window=120, grids=frozenset(sorted(grids)[:2])) as b:
        t = churn_series(b)
    assert set(s["unique_id"]) == {"ALL", county}
    pd.testing.assert_frame_equal(s.reset_index(drop=True), t.reset_index(drop=True))
