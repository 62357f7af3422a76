"""Tenure, acquisition package and channel, payment type and customer profile."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from churnradar.features.registry import feature, node
from churnradar.features.timeframe import AsOf, month_index

#: Tenure band of promotion churners who "burn the card".
PROMO_BURN_MONTHS = (3, 9)


@node(across_subscribers=True)
def lines_per_customer(population: ir.Table) -> ir.Table:
    """Per customer (``cust``): their subscriptions in the population at T."""
    p = population
    return p.group_by(cust=p.customer_id).agg(customer_lines=p.subscriber_id.count())


@node
def subscriber_profile(
    population: ir.Table,
    package: ir.Table,
    channel: ir.Table,
    customer: ir.Table,
    billing_recent: ir.Table,
    lines_per_customer: ir.Table,
) -> ir.Table:
    """Population with its activation package, current (billed in T) package, channel and customer."""
    p = population
    act = package.select(
        act_package_id=package.package_id,
        act_is_promotion=package.is_promotion,
    )
    cur_ids = billing_recent.select(
        cur_sub=billing_recent.subscriber_id, cur_package=billing_recent.package_0
    )
    cur = package.select(
        cur_package_id=package.package_id,
        cur_brand=package.brand,
        cur_fee=package.monthly_fee,
        cur_is_5g=package.is_5g,
    )
    ch = channel.select(ch_id=channel.channel_id, channel_type=channel.channel_type)
    cu = customer.select(
        cu_id=customer.customer_id, customer_group=customer.customer_group, is_local=customer.is_local
    )
    lines = lines_per_customer
    j = p.left_join(act, p.package_id == act.act_package_id)
    j = j.left_join(cur_ids, j.subscriber_id == cur_ids.cur_sub)
    j = j.left_join(cur, j.cur_package == cur.cur_package_id)
    j = j.left_join(ch, j.channel_id == ch.ch_id)
    j = j.left_join(cu, j.customer_id == cu.cu_id)
    j = j.left_join(lines, j.customer_id == lines.cust)
    return j.select(
        "subscriber_id",
        "activation_date",
        "payment_type",
        "brand",
        "act_is_promotion",
        "channel_type",
        "customer_group",
        "is_local",
        "customer_lines",
        # the package billed in T (brand falls back to the activation brand when T has no bill)
        package_fee=j.cur_fee,
        is_5g=j.cur_is_5g,
        current_brand=ibis.coalesce(j.cur_brand, j.brand),
    )


@feature(theme="tenure", driver="convenience", reason="competitor", dtype="int64")
def tenure_months(population: ir.Table, as_of: AsOf) -> ir.Table:
    """Whole calendar months from the activation month to T (0 = activated in T)."""
    p = population
    return p.select(
        "subscriber_id", tenure_months=(as_of.index - month_index(p.activation_date)).cast("int64")
    )


@feature(theme="tenure", driver="convenience", reason="competitor", dtype="boolean")
def acquired_on_promotion(subscriber_profile: ir.Table) -> ir.Table:
    """Activated on an acquisition-promotion package."""
    s = subscriber_profile
    return s.select("subscriber_id", acquired_on_promotion=s.act_is_promotion.fill_null(False))


@feature(theme="tenure", driver="convenience", reason="competitor", dtype="boolean")
def promo_burn_window(subscriber_profile: ir.Table, as_of: AsOf) -> ir.Table:
    """Activated on a promotion package and tenure is 3 to 9 months (promotion churners' window)."""
    s = subscriber_profile
    tenure = as_of.index - month_index(s.activation_date)
    lo, hi = PROMO_BURN_MONTHS
    return s.select(
        "subscriber_id",
        promo_burn_window=s.act_is_promotion.fill_null(False) & (tenure >= lo) & (tenure <= hi),
    )


@feature(theme="tenure", driver="convenience", dtype="string")
def acquisition_channel_type(subscriber_profile: ir.Table) -> ir.Table:
    """Kind of channel the subscriber was acquired through (own_store, franchise, social, …)."""
    s = subscriber_profile
    return s.select("subscriber_id", acquisition_channel_type=s.channel_type)


@feature(theme="tenure", driver="convenience", reason="competitor", dtype="boolean")
def acquired_via_commission_channel(subscriber_profile: ir.Table) -> ir.Table:
    """Acquired through a commission-paid social channel (社会渠道)."""
    s = subscriber_profile
    return s.select(
        "subscriber_id", acquired_via_commission_channel=(s.channel_type == "social").fill_null(False)
    )


@feature(theme="tenure", driver="price", reason="arrears", dtype="boolean")
def is_prepaid(subscriber_profile: ir.Table) -> ir.Table:
    """Prepaid subscription."""
    s = subscriber_profile
    return s.select("subscriber_id", is_prepaid=s.payment_type == "prepaid")


@feature(theme="tenure", driver="price", reason="tariff_reselection")
def package_fee(subscriber_profile: ir.Table) -> ir.Table:
    """Monthly fee of the package billed in T (yuan; null when T has no bill)."""
    s = subscriber_profile
    return s.select("subscriber_id", package_fee=s.package_fee)


@feature(theme="tenure", driver="technology", reason="competitor", dtype="boolean")
def is_5g_package(subscriber_profile: ir.Table) -> ir.Table:
    """The package billed in T is a 5G package (false when T has no bill)."""
    s = subscriber_profile
    return s.select("subscriber_id", is_5g_package=s.is_5g.fill_null(False))


@feature(theme="tenure", driver="life_event", reason="seasonal_migrant", dtype="string")
def customer_group(subscriber_profile: ir.Table) -> ir.Table:
    """Customer group of the owner (key_account, business, mass, migrant)."""
    s = subscriber_profile
    return s.select("subscriber_id", customer_group=s.customer_group)


@feature(theme="tenure", driver="life_event", reason="seasonal_migrant", dtype="boolean")
def is_migrant(subscriber_profile: ir.Table) -> ir.Table:
    """The owner belongs to the migrant customer group (流动客户)."""
    s = subscriber_profile
    return s.select("subscriber_id", is_migrant=(s.customer_group == "migrant").fill_null(False))


@feature(theme="tenure", driver="life_event", reason="relocation", dtype="boolean")
def is_local_certificate(subscriber_profile: ir.Table) -> ir.Table:
    """The owner's certificate was issued locally."""
    s = subscriber_profile
    return s.select("subscriber_id", is_local_certificate=s.is_local)


@feature(
    theme="tenure",
    driver="convenience",
    reason="number_reselection",
    dtype="int64",
    requires=("subscription.customer_id",),
)
def customer_lines(subscriber_profile: ir.Table) -> ir.Table:
    """Active subscriptions at T held by the same customer (this one included)."""
    s = subscriber_profile
    return s.select("subscriber_id", customer_lines=s.customer_lines.cast("int64"))
