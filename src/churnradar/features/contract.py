"""Contract (合约) and handset-subsidy expiry; package changes and downgrades."""

from __future__ import annotations

import ibis.expr.types as ir

from churnradar.features.registry import feature
from churnradar.features.timeframe import AsOf, month_index


def _months_to(end: ir.Value, as_of: AsOf) -> ir.IntegerValue:
    return (month_index(end) - as_of.index).cast("int64")


@feature(theme="contract", driver="convenience", reason="competitor", dtype="int64")
def months_to_contract_end(population: ir.Table, as_of: AsOf) -> ir.Table:
    """Months from T to the month the contract ends (0 = ends in T, negative = ended; null = none)."""
    p = population
    return p.select("subscriber_id", months_to_contract_end=_months_to(p.contract_end, as_of))


@feature(theme="contract", driver="convenience", reason="competitor", dtype="boolean")
def contract_expiring_3m(population: ir.Table, as_of: AsOf) -> ir.Table:
    """The contract ends in T..T+3."""
    p = population
    m = _months_to(p.contract_end, as_of)
    return p.select("subscriber_id", contract_expiring_3m=((m >= 0) & (m <= 3)).fill_null(False))


@feature(theme="contract", driver="convenience", reason="competitor", dtype="boolean")
def contract_expired_6m(population: ir.Table, as_of: AsOf) -> ir.Table:
    """The contract ended in T-6..T-1 (no renewal recorded on the subscription)."""
    p = population
    m = _months_to(p.contract_end, as_of)
    return p.select("subscriber_id", contract_expired_6m=((m >= -6) & (m <= -1)).fill_null(False))


@feature(theme="contract", driver="technology", reason="competitor", dtype="int64")
def months_to_subsidy_end(population: ir.Table, as_of: AsOf) -> ir.Table:
    """Months from T to the month the handset subsidy commitment ends (null = none)."""
    p = population
    return p.select("subscriber_id", months_to_subsidy_end=_months_to(p.subsidy_end, as_of))


@feature(theme="contract", driver="technology", reason="competitor", dtype="boolean")
def subsidy_expiring_3m(population: ir.Table, as_of: AsOf) -> ir.Table:
    """The handset subsidy commitment ends in T..T+3."""
    p = population
    m = _months_to(p.subsidy_end, as_of)
    return p.select("subscriber_id", subsidy_expiring_3m=((m >= 0) & (m <= 3)).fill_null(False))


@feature(theme="contract", driver="price", reason="tariff_reselection", dtype="int64", fill=0)
def package_changes_6m(status_stats: ir.Table) -> ir.Table:
    """Package changes recorded in T-5..T."""
    s = status_stats
    return s.select("subscriber_id", package_changes_6m=s.package_changes_6m.cast("int64"))


@feature(theme="contract", driver="price", reason="tariff_reselection", dtype="int64", fill=0)
def downgrades_6m(status_stats: ir.Table) -> ir.Table:
    """Package changes recorded as downgrades (降档) in T-5..T."""
    s = status_stats
    return s.select("subscriber_id", downgrades_6m=s.downgrades_6m.cast("int64"))
