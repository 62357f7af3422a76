"""The feature library's contract: named, documented, themed, driver-mapped, versioned features."""

from __future__ import annotations

import ibis
import pytest

from churnradar.errors import ConfigError
from churnradar.features import (
    DRIVERS,
    FEATURES,
    THEMES,
    Feature,
    FeatureSet,
    feature_expressions,
    get_feature,
    get_feature_set,
)
from churnradar.features.registry import definition_hash, dependencies
from churnradar.features.synthetic import arrow_schema
from churnradar.schema import TABLES
from churnradar.schema.enums import REASON_CODE


class SchemaOnly:
    """A 'backend' of unbound Ibis tables: enough to build every expression without data."""

    def table(self, name: str):
        return ibis.table(ibis.schema(arrow_schema(TABLES[name])), name=name)


CORE = get_feature_set("core")


def test_core_set_has_at_least_60_uniquely_named_features():
    names = CORE.features
    assert len(names) >= 60
    assert len(set(names)) == len(names)
    assert set(names) == set(FEATURES)


@pytest.mark.parametrize("name", CORE.features)
def test_every_feature_is_documented_themed_and_mapped_to_a_driver(name):
    f = get_feature(name)
    assert f.func.__name__ == name
    assert f.definition and f.definition.endswith("."), f"{name}: docstring must be a one-line definition"
    assert f.theme in THEMES
    assert f.driver in DRIVERS
    assert f.reason is None or f.reason in REASON_CODE
    assert f.dtype in ("float64", "int64", "boolean", "string")


def test_every_theme_of_the_issue_has_features():
    themes = {get_feature(n).theme for n in CORE.features}
    assert themes == set(THEMES)
    assert set(DRIVERS) == {"price", "quality", "technology", "social", "convenience", "life_event"}


def test_each_feature_returns_its_own_column_keyed_by_subscriber():
    exprs = feature_expressions(SchemaOnly(), "2024-09", CORE)
    for name, expr in exprs.items():
        assert expr.columns == ("subscriber_id", name)


def test_unknown_names_are_refused_with_the_allowed_values():
    with pytest.raises(ConfigError, match="unknown feature set 'nope'; expected one of core"):
        get_feature_set("nope")
    with pytest.raises(ConfigError, match="unknown feature 'nope'"):
        get_feature("nope")
    with pytest.raises(ConfigError, match="more than once"):
        FeatureSet("x", "1", ("arpu_1m", "arpu_1m"))


def _arpu_1m_changed(billing_months):
    """Billed revenue in month T, in cents."""
    return billing_months.select("subscriber_id", arpu_1m=billing_months.rev_0 * 100)


def test_feature_set_version_changes_when_a_definition_changes():
    same = FeatureSet("core", CORE.version, CORE.features)
    assert same.full_version == CORE.full_version
    old = get_feature("arpu_1m")
    changed = Feature("arpu_1m", _arpu_1m_changed, ("billing_months",), theme="spend", driver="price")
    edited = FeatureSet("core", CORE.version, CORE.features, overrides=(changed,))
    assert edited.full_version != CORE.full_version
    assert definition_hash(changed) != definition_hash(old)
    # a feature's hash covers the shared node it selects from
    assert [n.name for n in dependencies("arpu_trend_3m")][-2:] == ["billing_recent", "arpu_trend_3m"]
    # ... and the library helpers it calls (a change to `slope` re-versions every trend feature)
    assert "def slope(" in get_feature("arpu_trend_3m").source
    assert "def _billing_pivot(" in dependencies("arpu_trend_3m")[0].source
    # order and membership are part of the version too
    fewer = FeatureSet("core", CORE.version, CORE.features[:-1])
    assert fewer.full_version != CORE.full_version


def test_numeric_set_has_no_strings():
    numeric = get_feature_set("numeric")
    assert all(f.dtype != "string" for f in numeric.resolve())
    assert len(numeric.features) >= 60
