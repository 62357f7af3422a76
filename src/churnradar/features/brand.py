"""Brand (全球通 / 动感地带 / 神州行 style) and moves between brands."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features.registry import feature

#: Brands from budget (1) to premium (3).
BRAND_RANK = {"budget": 1, "youth": 2, "premium": 3}


def _rank(brand: ir.StringValue) -> ir.IntegerValue:
    return ibis.cases(*((brand == b, r) for b, r in BRAND_RANK.items()), else_=ibis.null("int64"))


@feature(theme="brand", driver="price", dtype="string")
def brand(population: ir.Table) -> ir.Table:
    """Brand at activation (premium, youth, budget)."""
    p = population
    return p.select("subscriber_id", brand=p.brand)


@feature(theme="brand", driver="price", dtype="string")
def current_brand(subscriber_profile: ir.Table) -> ir.Table:
    """Brand of the package billed in T (the activation brand when T has no bill)."""
    s = subscriber_profile
    return s.select("subscriber_id", current_brand=s.current_brand)


@feature(theme="brand", driver="price", reason="tariff_reselection", dtype="boolean")
def is_premium_brand(subscriber_profile: ir.Table) -> ir.Table:
    """The package billed in T belongs to the premium brand."""
    s = subscriber_profile
    return s.select("subscriber_id", is_premium_brand=s.current_brand == "premium")


@feature(theme="brand", driver="price", reason="tariff_reselection", dtype="int64")
def brand_rank_change(subscriber_profile: ir.Table) -> ir.Table:
    """Brand rank in T minus at activation (budget 1, youth 2, premium 3; negative = downgrade)."""
    s = subscriber_profile
    return s.select(
        "subscriber_id", brand_rank_change=(_rank(s.current_brand) - _rank(s.brand)).cast("int64")
    )
