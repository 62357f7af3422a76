"""Retention's covariates are features of the feature library (the ``retention`` set)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from churnradar.features import get_feature_set
from churnradar.features.sets import RETENTION_FEATURES
from churnradar.retention.covariates import CATEGORICAL, NUMERIC, covariates, design_matrix

AS_OF = "2024-08"


@pytest.fixture(scope="module")
def cov(small_operator):
    return covariates(small_operator.store, AS_OF)


def _read(store, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


def test_the_retention_set_is_part_of_the_core_set():
    """Every covariate feature is in the core set, so the point-in-time and backend-parity tests of
    the core set cover it."""
    assert set(RETENTION_FEATURES) <= set(get_feature_set("core").features)
    assert get_feature_set("retention").features == RETENTION_FEATURES


def test_covariates_have_one_row_per_open_subscriber_and_every_model_column(cov):
    assert cov["subscriber_id"].is_unique and len(cov) > 1_000
    assert {"region", *NUMERIC, *CATEGORICAL} <= set(cov.columns)
    assert not cov[list(NUMERIC)].isna().any().any()
    x = design_matrix(cov)
    assert x.shape[0] == len(cov) and {c for c in x.columns if c.startswith("customer_group_")}
    assert (cov["contract_months_left"] >= 0).all()


def test_new_lever_features_match_the_tables(cov, small_operator):
    store = small_operator.store
    onnet = _read(
        store,
        "SELECT subscriber_id, count(DISTINCT peer_hash) AS n FROM call_edge WHERE peer_operator = 'own' "
        "AND month BETWEEN DATE '2024-06-01' AND DATE '2024-08-01' GROUP BY 1",
    ).set_index("subscriber_id")["n"]
    got = cov.set_index("subscriber_id")
    want = got.index.to_series().map(onnet).fillna(0).astype("int64")
    assert (got["onnet_contacts"] == want).all() and want.sum() > 0
    unresolved = _read(
        store,
        "SELECT subscriber_id, count(*) AS n FROM interaction WHERE kind = 'complaint' AND NOT resolved "
        "AND interaction_time >= TIMESTAMP '2024-06-01' AND interaction_time < TIMESTAMP '2024-09-01' GROUP BY 1",
    ).set_index("subscriber_id")["n"]
    want = got.index.to_series().map(unresolved).fillna(0).astype("int64")
    assert (got["unresolved_3m"] == want).all()
    county = _read(
        store, "SELECT s.subscriber_id, r.county_id FROM subscription s JOIN region r USING (grid_id)"
    ).set_index("subscriber_id")["county_id"]
    assert (got["region"] == got.index.to_series().map(county).fillna("")).all()
    assert got["region"].nunique() > 1
