"""Network quality of the home grid (网络黑点): drop rate, throughput, coverage."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features._expr import mean, months, pivot_months, safe_div, slope
from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf, months_back

WINDOW = 3  # months T-2..T


@node
def grid_quality(network_quality: ir.Table, region: ir.Table, as_of: AsOf) -> ir.Table:
    """Per grid, quality measures over T-2..T (means, drop-rate slope) and its county's mean drop rate."""
    q = network_quality.filter(
        network_quality.month >= ibis.date(as_of.month_start(WINDOW - 1)),
        network_quality.month < ibis.date(as_of.end),
    )
    back = months_back(q.month, as_of)
    measures = {"drop": q.drop_rate, "thr": q.throughput_mbps, "cov": q.coverage_score}
    g = q.group_by("grid_id").agg(**pivot_months(q, back, measures, WINDOW))
    g = g.select(
        "grid_id",
        drop_3m=mean(months(g, "drop", WINDOW)),
        thr_3m=mean(months(g, "thr", WINDOW)),
        cov_3m=mean(months(g, "cov", WINDOW)),
        drop_trend=slope(months(g, "drop", WINDOW)),
    )
    r = region.select(r_grid=region.grid_id, county_id=region.county_id)
    g = g.join(r, g.grid_id == r.r_grid).select(
        "grid_id", "drop_3m", "thr_3m", "cov_3m", "drop_trend", "county_id"
    )
    county = g.group_by(c_county=g.county_id).agg(county_drop=g.drop_3m.mean())
    g = g.left_join(county, g.county_id == county.c_county)
    return g.select("grid_id", "drop_3m", "thr_3m", "cov_3m", "drop_trend", "county_drop")


@node(requires=("subscription.grid_id",))
def home_grid_quality(population: ir.Table, grid_quality: ir.Table) -> ir.Table:
    """Population with the quality of its home grid."""
    p = population.select("subscriber_id", home_grid=population.grid_id)
    j = p.left_join(grid_quality, p.home_grid == grid_quality.grid_id)
    return j.select("subscriber_id", "drop_3m", "thr_3m", "cov_3m", "drop_trend", "county_drop")


@feature(theme="network", driver="quality", reason="competitor")
def grid_drop_rate_3m(home_grid_quality: ir.Table) -> ir.Table:
    """Mean call drop rate of the home grid over T-2..T."""
    g = home_grid_quality
    return g.select("subscriber_id", grid_drop_rate_3m=g.drop_3m)


@feature(theme="network", driver="quality", reason="competitor")
def grid_drop_rate_trend_3m(home_grid_quality: ir.Table) -> ir.Table:
    """Least-squares slope of the home grid's monthly drop rate over T-2..T (per month)."""
    g = home_grid_quality
    return g.select("subscriber_id", grid_drop_rate_trend_3m=g.drop_trend)


@feature(theme="network", driver="quality", reason="competitor", requires=("region.county_id",))
def grid_drop_rate_vs_county(home_grid_quality: ir.Table) -> ir.Table:
    """Home grid's mean drop rate over T-2..T divided by the mean over the grids of its county."""
    g = home_grid_quality
    return g.select("subscriber_id", grid_drop_rate_vs_county=safe_div(g.drop_3m, g.county_drop))


@feature(theme="network", driver="quality", reason="competitor")
def grid_throughput_3m(home_grid_quality: ir.Table) -> ir.Table:
    """Mean downlink throughput of the home grid over T-2..T (Mbit/s)."""
    g = home_grid_quality
    return g.select("subscriber_id", grid_throughput_3m=g.thr_3m)


@feature(theme="network", driver="quality", reason="competitor")
def grid_coverage_3m(home_grid_quality: ir.Table) -> ir.Table:
    """Mean coverage score (0–100) of the home grid over T-2..T."""
    g = home_grid_quality
    return g.select("subscriber_id", grid_coverage_3m=g.cov_3m)
