"""Per-subscriber covariates for value, segments and uplift models, at one as-of month.

The covariates are features of the feature library (the ``retention`` feature set,
:data:`churnradar.features.sets.RETENTION_FEATURES`), computed by
:func:`churnradar.features.compute_features` on DuckDB or Spark: point in time (only data up to
the end of ``as_of``) and over the library's population at ``as_of``. Retention renames them to the
levers its models use, fills what a subscriber has no row for, and derives three ratios:

| column | feature(s) |
|---|---|
| ``region`` | ``home_county`` (county of the home grid) |
| ``tenure_months`` | ``tenure_months`` |
| ``prepaid``, ``is_5g``, ``promo_package`` | ``is_prepaid``, ``is_5g_package``, ``is_promotion_package`` |
| ``monthly_fee`` | ``package_fee`` (0 when T has no bill) |
| ``family`` | ``in_family_group`` |
| ``customer_group`` | ``customer_group`` (``mass`` when unknown) |
| ``arpu_3m``, ``revenue_last`` | ``arpu_3m_mean``, ``arpu_1m`` |
| ``revenue_ratio`` | ``arpu_1m / arpu_3m_mean`` (a falling bill; 0 without revenue) |
| ``data_gb_3m``, ``voice_min_3m`` | ``data_mb_3m_mean / 1024``, ``mou_3m_mean`` |
| ``active_days_last``, ``active_ratio`` | ``active_days_1m`` and ``active_days_1m / active_days_3m_mean`` |
| ``balance``, ``arrears`` | ``balance_1m``, ``arrears_1m`` |
| ``competitor_share`` | ``competitor_share_3m`` |
| ``second_sim`` | ``competitor_second_sim_1m`` |
| ``onnet_contacts`` | ``onnet_contacts_3m`` (number dependency) |
| ``complaints_3m``, ``unresolved_3m`` | ``complaints_3m``, ``complaints_unresolved_3m`` |
| ``retention_contacts_6m`` | ``retention_contacts_6m`` |
| ``contract_months_left`` | the later of ``months_to_contract_end`` and ``months_to_subsidy_end``, at least 0 |

A feature the store cannot feed (an optional table or column the operator does not supply) is
skipped by the library; its covariate is then 0 for everyone (the value of "no such record").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from churnradar.periods import parse_month

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


#: Covariate ← library feature, for the columns that are a feature as it is.
RENAMES = {
    "home_county": "region",
    "tenure_months": "tenure_months",
    "is_prepaid": "prepaid",
    "is_5g_package": "is_5g",
    "is_promotion_package": "promo_package",
    "package_fee": "monthly_fee",
    "in_family_group": "family",
    "customer_group": "customer_group",
    "arpu_3m_mean": "arpu_3m",
    "arpu_1m": "revenue_last",
    "mou_3m_mean": "voice_min_3m",
    "active_days_1m": "active_days_last",
    "balance_1m": "balance",
    "arrears_1m": "arrears",
    "competitor_share_3m": "competitor_share",
    "competitor_second_sim_1m": "second_sim",
    "onnet_contacts_3m": "onnet_contacts",
    "complaints_3m": "complaints_3m",
    "complaints_unresolved_3m": "unresolved_3m",
    "retention_contacts_6m": "retention_contacts_6m",
}


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den != 0)).fillna(0.0)


def from_features(f: pd.DataFrame) -> pd.DataFrame:
    """The covariates (module docstring) of a ``retention`` feature table (one row per subscriber)."""
    from churnradar.features.sets import RETENTION_FEATURES

    f = f.copy()
    for name in RETENTION_FEATURES:
        if name not in f.columns:  # skipped: the store does not feed it
            f[name] = np.nan
    out = pd.DataFrame({"subscriber_id": f["subscriber_id"].astype(str).to_numpy()})
    for feat, col in RENAMES.items():
        out[col] = f[feat].to_numpy()
    out["region"] = out["region"].astype(object).where(out["region"].notna(), "").astype(str)
    out["customer_group"] = (
        out["customer_group"].astype(object).where(out["customer_group"].notna(), "mass").astype(str)
    )
    for col in NUMERIC:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col].astype("float64"), errors="coerce").fillna(0.0)
    for col in ("prepaid", "is_5g", "promo_package", "family", "second_sim"):
        out[col] = out[col].astype("int64")
    out["data_gb_3m"] = pd.to_numeric(f["data_mb_3m_mean"], errors="coerce").fillna(0.0).to_numpy() / 1024
    out["revenue_ratio"] = _ratio(out["revenue_last"], out["arpu_3m"])
    active_3m = pd.Series(pd.to_numeric(f["active_days_3m_mean"], errors="coerce").to_numpy())
    out["active_ratio"] = _ratio(out["active_days_last"], active_3m.fillna(0.0))
    left = pd.concat(
        [
            pd.to_numeric(f["months_to_contract_end"], errors="coerce"),
            pd.to_numeric(f["months_to_subsidy_end"], errors="coerce"),
        ],
        axis=1,
    ).max(axis=1)
    out["contract_months_left"] = left.fillna(0).clip(lower=0).astype("int64").to_numpy()
    cols = ["subscriber_id", "region", *NUMERIC, *CATEGORICAL]
    return out[cols].sort_values("subscriber_id", kind="stable").reset_index(drop=True)


def covariates(store_path: Path | str, as_of: str | date, backend: str = "duckdb") -> pd.DataFrame:
    """Covariates of every subscriber open at the end of ``as_of`` (one row each), from the feature
    library's ``retention`` set on ``backend`` (``duckdb`` or ``spark``)."""
    from churnradar.features import compute_features
    from churnradar.store.backends import open_backend

    month = parse_month(as_of)
    bk = open_backend(store_path, backend)
    try:
        f = bk.to_pyarrow(compute_features(bk, month, "retention")).to_pandas()
    finally:
        bk.close()
    return from_features(f)


def design_matrix(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Numeric model matrix: :data:`NUMERIC` plus one-hot :data:`CATEGORICAL` (fixed ``columns`` if given)."""
    x = frame[list(NUMERIC)].astype("float64")
    for c in CATEGORICAL:
        x = x.join(pd.get_dummies(frame[c], prefix=c, dtype="float64"))
    if columns is not None:
        x = x.reindex(columns=columns, fill_value=0.0)
    return x
