"""The metrics layer against references computed from the raw tables with pandas, and against the
other places that count the same thing."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from churnradar.metrics import CATALOGUE, catalogue, month_metrics, series, store_metrics
from churnradar.periods import add_months, format_month
from churnradar.store.backends import open_backend

MONTHS = [date(2024, m, 1) for m in range(4, 10)]


@pytest.fixture(scope="module")
def raw(small_operator) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(small_operator.store), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT * FROM {t}").df()
            for t in ("subscription", "status_event", "usage_monthly", "billing_monthly", "region")
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def figures(small_operator) -> pd.DataFrame:
    bk = open_backend(small_operator.store)
    try:
        return series(bk, MONTHS)
    finally:
        bk.close()


def _ends(raw) -> pd.Series:
    ev = raw["status_event"]
    ends = ev[ev.event_type.isin(["deregister", "port_out"])]
    return ends.groupby("subscriber_id").event_time.min()


def _open_at_end(raw, month: date) -> set[str]:
    s = raw["subscription"]
    nxt = pd.Timestamp(add_months(month, 1))
    ends = _ends(raw)
    closed = set(ends[ends < nxt].index)
    opened = s[pd.to_datetime(s.activation_date) < nxt].subscriber_id
    return set(opened) - closed


def test_catalogue_holds_every_figure_of_the_brief_in_both_languages():
    required = {
        "lines_start",
        "lines_end",
        "deregistrations",
        "port_outs",
        "offnet_churn",
        "offnet_rate",
        "port_out_rate",
        "offnet_churn_rate",
        "reselections",
        "cancel_rate_t3",
        "revenue_retention",
        "customer_retention",
        "stock_revenue_churn_rate",
        "package_revenue_churn_rate",
        "arpu",
        "dou",
        "mou",
        "active_lines",
        "risk_high",
        "campaign_retention_rate",
        "campaign_uplift",
    }
    assert required <= set(CATALOGUE)
    for row in catalogue():
        for key in ("name_zh", "name_en", "unit", "formula", "definition_zh", "definition_en"):
            assert row[key], (row["id"], key)
    for m in CATALOGUE.values():
        if m.ratio:
            assert set(m.ratio) <= set(CATALOGUE), m.id


def test_lines_in_network_are_counted_as_in_the_raw_tables(raw, figures):
    for m in MONTHS:
        assert figures.loc[m, "lines_end"] == len(_open_at_end(raw, m))
        assert figures.loc[m, "lines_start"] == len(_open_at_end(raw, add_months(m, -1)))


def test_reselected_number_is_not_offnet_churn(raw, figures):
    """Every line of the base whose first end is recorded in the month is either 销户, 携出 or the old
    number of a re-selection: nothing is lost or counted twice."""
    ends = _ends(raw)
    for m in MONTHS:
        base = _open_at_end(raw, add_months(m, -1))
        lo, hi = pd.Timestamp(m), pd.Timestamp(add_months(m, 1))
        ended = {s for s, t in ends.items() if lo <= t < hi and s in base}
        f = figures.loc[m]
        assert f["deregistrations"] + f["port_outs"] + f["reselections"] == len(ended)
    assert figures["reselections"].sum() > 0  # the simulated operator re-selects
    f = figures.loc[MONTHS[-1]]
    assert f["offnet_rate"] == f["deregistrations"] / f["lines_start"]
    assert f["offnet_churn_rate"] == f["offnet_churn"] / f["lines_start"]


def test_arpu_dou_mou_from_the_raw_rows(raw, figures):
    b, u = raw["billing_monthly"], raw["usage_monthly"]
    for m in MONTHS:
        bm = b[pd.to_datetime(b.month) == pd.Timestamp(m)]
        assert figures.loc[m, "arpu"] == pytest.approx(bm.revenue.sum() / (bm.revenue > 0).sum(), rel=1e-9)
        um = u[pd.to_datetime(u.month) == pd.Timestamp(m)]
        active = (um.active_days > 0).sum()
        assert figures.loc[m, "active_lines"] == active
        assert figures.loc[m, "dou"] == pytest.approx(um.data_mb.sum() / 1024 / active, rel=1e-6)
        assert figures.loc[m, "mou"] == pytest.approx(
            (um.voice_out_min + um.voice_in_min).sum() / active, rel=1e-6
        )


def test_t_plus_n_cancellation_rate_is_the_cohorts_share_closed(raw, figures):
    s = raw["subscription"].set_index("subscriber_id")
    ends = _ends(raw)
    act = pd.to_datetime(s.activation_date).dt.to_period("M")
    for m in MONTHS:
        for n in (1, 3, 6):
            cohort = act[act == pd.Period(add_months(m, -n), "M")].index
            closed = [x for x in cohort if x in ends.index and ends[x] < pd.Timestamp(add_months(m, 1))]
            assert figures.loc[m, f"cohort_t{n}"] == len(cohort)
            want = len(closed) / len(cohort) if len(cohort) else np.nan
            assert figures.loc[m, f"cancel_rate_t{n}"] == pytest.approx(want, nan_ok=True)


def test_stock_revenue_retention_agrees_with_the_revenue_report(small_operator, figures):
    from churnradar.reports import ReportContext
    from churnradar.reports.revenue import stock_revenue_churn

    # the whole data in the window: reports.revenue sums the year-to-date revenue over the report's
    # window only, so with a shorter window its 收保率 misses the months before the window
    with ReportContext.open(small_operator.store, MONTHS[-1], window=24) as ctx:
        rep = stock_revenue_churn(ctx).set_index("month")
    for m in MONTHS:
        r = rep.loc[format_month(m)]
        assert figures.loc[m, "snapshot_lines"] == r["lines0"]
        assert figures.loc[m, "customer_retention"] == pytest.approx(r["customer_retention"], rel=1e-12)
        assert figures.loc[m, "revenue_retention"] == pytest.approx(r["revenue_retention"], rel=1e-9)


def test_a_county_and_its_grids_add_up_to_the_county(small_operator, raw):
    regions = raw["region"]
    county = regions.county_id.iloc[0]
    grids = regions[regions.county_id == county].grid_id.tolist()
    bk = open_backend(small_operator.store)
    try:
        whole = month_metrics(bk, MONTHS[-1], region=county).values
        parts = [month_metrics(bk, MONTHS[-1], region=g).values for g in grids]
    finally:
        bk.close()
    for mid in ("lines_end", "lines_start", "deregistrations", "port_outs", "reselections", "active_lines"):
        assert whole[mid] == sum(p[mid] for p in parts), mid
    assert 0 < whole["lines_end"] < store_metrics(small_operator.store, MONTHS[-1]).values["lines_end"]


def test_a_region_outside_the_store_or_scope_is_refused(small_operator, raw):
    from churnradar.errors import ConfigError

    with pytest.raises(ConfigError, match="not a county or grid"):
        store_metrics(small_operator.store, MONTHS[-1], region="NOPE")
    with pytest.raises(ConfigError, match="outside the data"):
        store_metrics(small_operator.store, "2030-01")
    regions = raw["region"]
    a, b = regions.county_id.unique()[:2]
    bk = open_backend(small_operator.store)
    try:
        allowed = frozenset(regions[regions.county_id == a].grid_id)
        with pytest.raises(ConfigError) as err:
            month_metrics(bk, MONTHS[-1], grids=allowed, region=b)
        assert b not in str(err.value).split("expected")[1]  # the choices name only the own county
    finally:
        bk.close()


def test_recent_months_by_the_month_left_are_marked_provisional(small_operator):
    last = add_months(date.fromisoformat(small_operator.start + "-01"), small_operator.months - 1)
    r = store_metrics(small_operator.store, last).to_dict()["metrics"]
    assert r["offnet_churn_left"]["provisional"] and not r["deregistrations"]["provisional"]
    early = store_metrics(small_operator.store, add_months(last, -4)).to_dict()["metrics"]
    assert not early["offnet_churn_left"]["provisional"]


@pytest.mark.parametrize("text", ["0000-01", "2024-13", "24-01", "2024-00", "soon"])
def test_a_month_that_cannot_be_is_a_clear_error(text: str) -> None:
    # found by the API fuzzing: year 0 passed the pattern and failed in date() with a server error
    from churnradar.errors import ConfigError
    from churnradar.periods import parse_month

    with pytest.raises(ConfigError, match=f"month '{text}' is not valid; expected YYYY-MM"):
        parse_month(text)
