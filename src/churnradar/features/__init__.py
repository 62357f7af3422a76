"""Point-in-time feature library: one function per column, grouped by theme, run through Ibis.

>>> from churnradar.store.backends import open_backend
>>> from churnradar.features import compute_features
>>> table = compute_features(open_backend("operator.duckdb"), "2025-06").to_pyarrow()  # doctest: +SKIP
"""

from churnradar.features.compute import compute_features, feature_columns, feature_expressions
from churnradar.features.registry import (
    DRIVERS,
    FEATURES,
    THEMES,
    Feature,
    FeatureSet,
    feature,
    get_feature,
    node,
)
from churnradar.features.sets import FEATURE_SETS, get_feature_set
from churnradar.features.snapshot import SNAPSHOT_TABLE, write_snapshot
from churnradar.features.timeframe import AsOf

__all__ = [
    "DRIVERS",
    "FEATURES",
    "FEATURE_SETS",
    "SNAPSHOT_TABLE",
    "THEMES",
    "AsOf",
    "Feature",
    "FeatureSet",
    "compute_features",
    "feature",
    "feature_columns",
    "feature_expressions",
    "get_feature",
    "get_feature_set",
    "node",
    "write_snapshot",
]
