"""Per-subscriber covariates for value, segments and uplift models, at one as-of month.

One SQL pass over the analytical store (DuckDB), point in time: only rows dated up to the end of
``as_of`` are read. The columns are the levers offers act on and the value inputs:

| column | meaning |
|---|---|
| ``region`` | county of the home grid |
| ``tenure_months`` | months since activation |
| ``prepaid``, ``is_5g``, ``promo_package`` | current package traits |
| ``monthly_fee`` | current package's monthly fee (yuan) |
| ``family`` | in a family V-net group |
| ``customer_group`` | key_account / business / mass / migrant |
| ``arpu_3m``, ``revenue_last`` | mean monthly revenue over the last 3 months, and in ``as_of`` |
| ``revenue_ratio`` | ``revenue_last / arpu_3m`` (a falling bill) |
| ``data_gb_3m``, ``voice_min_3m`` | mean monthly data (GB) and voice minutes |
| ``active_days_last``, ``active_ratio`` | active days in ``as_of`` and relative to the 3-month mean |
| ``balance``, ``arrears`` | balance and arrears at the end of ``as_of`` |
| ``competitor_share`` | competitor minutes / all voice minutes, last 3 months |
| ``second_sim`` | a competitor's SIM in the same handset in ``as_of`` |
| ``onnet_contacts`` | distinct own-network peers in the call graph, last 3 months (number dependency) |
| ``complaints_3m``, ``unresolved_3m`` | complaints in the last 3 months, of which unresolved |
| ``retention_contacts_6m`` | retention contacts in the last 6 months |
| ``contract_months_left`` | months until the contract or handset subsidy ends (0 if none) |
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from churnradar.periods import add_months, month_end_exclusive, parse_month

#: Numeric model inputs (``region`` and ``customer_group`` are one-hot encoded by the models).
NUMERIC = (
    "tenure_months",
    "prepaid",
    "is_5g",
    "promo_package",
    "monthly_fee",
    "family",
    "arpu_3m",
    "revenue_last",
    "revenue_ratio",
    "data_gb_3m",
    "voice_min_3m",
    "active_days_last",
    "active_ratio",
    "balance",
    "arrears",
    "competitor_share",
    "second_sim",
    "onnet_contacts",
    "complaints_3m",
    "unresolved_3m",
    "retention_contacts_6m",
    "contract_months_left",
)
CATEGORICAL = ("customer_group",)


def population_sql(con, as_of: date) -> str:
    """DuckDB SQL of the population at ``as_of`` (``subscriber_id``): the one definition,
    :func:`churnradar.metrics.population.population`, compiled for this connection."""
    import ibis

    from churnradar.metrics.population import population
    from churnradar.store.backends import Backend

    bk = Backend("duckdb", ibis.duckdb.from_connection(con), Path("."))
    return bk.con.compile(population(bk, as_of))


def covariates_sql(as_of: date, pop_sql: str) -> tuple[str, dict[str, object]]:
    """The covariates query of ``as_of`` over the population ``pop_sql`` (:func:`population_sql`)."""
    m0 = add_months(as_of, -2)
    cut = month_end_exclusive(as_of)
    sql = f"""
    WITH pop AS (
      SELECT s.* FROM subscription s SEMI JOIN ({pop_sql}) p USING (subscriber_id)
    ),
    b AS (
      SELECT subscriber_id, avg(revenue) AS arpu_3m,
             max(revenue) FILTER (WHERE month = $m) AS revenue_last,
             max(balance) FILTER (WHERE month = $m) AS balance,
             max(arrears) FILTER (WHERE month = $m) AS arrears,
             arg_max(package_id, month) AS package_now
      FROM billing_monthly WHERE month BETWEEN $m0 AND $m GROUP BY 1
    ),
    u AS (
      SELECT subscriber_id, avg(data_mb) / 1024 AS data_gb_3m,
             avg(voice_out_min + voice_in_min) AS voice_min_3m, avg(active_days) AS active_3m,
             max(active_days) FILTER (WHERE month = $m) AS active_days_last,
             sum(competitor_min) / nullif(sum(voice_out_min + voice_in_min), 0) AS competitor_share,
             bool_or(second_sim_operator IS NOT NULL) FILTER (WHERE month = $m) AS second_sim
      FROM usage_monthly WHERE month BETWEEN $m0 AND $m GROUP BY 1
    ),
    g AS (
      SELECT subscriber_id, count(DISTINCT peer_hash) AS onnet_contacts FROM call_edge
      WHERE month BETWEEN $m0 AND $m AND peer_operator = 'own' GROUP BY 1
    ),
    i AS (
      SELECT subscriber_id,
             count(*) FILTER (WHERE kind = 'complaint' AND interaction_time >= $m0) AS complaints_3m,
             count(*) FILTER (WHERE kind = 'complaint' AND interaction_time >= $m0 AND NOT resolved)
               AS unresolved_3m,
             count(*) FILTER (WHERE kind = 'retention_contact') AS retention_contacts_6m
      FROM interaction WHERE interaction_time >= $m5 AND interaction_time < $cut GROUP BY 1
    )
    SELECT p.subscriber_id, coalesce(r.county_id, '') AS region,
           date_diff('month', date_trunc('month', p.activation_date), $m) AS tenure_months,
           (pk.payment_type = 'prepaid')::INT AS prepaid, coalesce(pk.is_5g, false)::INT AS is_5g,
           coalesce(pk.is_promotion, false)::INT AS promo_package, coalesce(pk.monthly_fee, 0) AS monthly_fee,
           (p.family_group_id IS NOT NULL)::INT AS family, coalesce(c.customer_group, 'mass') AS customer_group,
           coalesce(b.arpu_3m, 0) AS arpu_3m, coalesce(b.revenue_last, 0) AS revenue_last,
           coalesce(b.revenue_last / nullif(b.arpu_3m, 0), 0) AS revenue_ratio,
           coalesce(u.data_gb_3m, 0) AS data_gb_3m, coalesce(u.voice_min_3m, 0) AS voice_min_3m,
           coalesce(u.active_days_last, 0) AS active_days_last,
           coalesce(u.active_days_last / nullif(u.active_3m, 0), 0) AS active_ratio,
           coalesce(b.balance, 0) AS balance, coalesce(b.arrears, 0) AS arrears,
           coalesce(u.competitor_share, 0) AS competitor_share, coalesce(u.second_sim, false)::INT AS second_sim,
           coalesce(g.onnet_contacts, 0) AS onnet_contacts, coalesce(i.complaints_3m, 0) AS complaints_3m,
           coalesce(i.unresolved_3m, 0) AS unresolved_3m,
           coalesce(i.retention_contacts_6m, 0) AS retention_contacts_6m,
           greatest(coalesce(date_diff('month', $m, greatest(p.contract_end, p.subsidy_end)), 0), 0)
             AS contract_months_left
    FROM pop p
    LEFT JOIN b USING (subscriber_id) LEFT JOIN u USING (subscriber_id) LEFT JOIN g USING (subscriber_id)
    LEFT JOIN i USING (subscriber_id)
    LEFT JOIN package pk ON pk.package_id = coalesce(b.package_now, p.package_id)
    LEFT JOIN region r ON r.grid_id = p.grid_id
    LEFT JOIN customer c ON c.customer_id = p.customer_id
    ORDER BY p.subscriber_id
    """
    params = {"m": as_of, "m0": m0, "m5": add_months(as_of, -5), "cut": cut}
    return sql, params


def covariates(store_path: Path | str, as_of: str | date, con=None) -> pd.DataFrame:
    """Covariates of every subscriber open at the end of ``as_of`` (one row each)."""
    import duckdb

    month = parse_month(as_of)
    own = con is None
    con = con or duckdb.connect(str(store_path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        sql, params = covariates_sql(month, population_sql(con, month))
        df = con.execute(sql, params).df()
    finally:
        if own:
            con.close()
    return df


def design_matrix(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Numeric model matrix: :data:`NUMERIC` plus one-hot :data:`CATEGORICAL` (fixed ``columns`` if given)."""
    x = frame[list(NUMERIC)].astype("float64")
    for c in CATEGORICAL:
        x = x.join(pd.get_dummies(frame[c], prefix=c, dtype="float64"))
    if columns is not None:
        x = x.reindex(columns=columns, fill_value=0.0)
    return x
