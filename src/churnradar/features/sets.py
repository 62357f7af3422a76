"""Named, versioned feature sets."""

from __future__ import annotations

from churnradar.errors import ConfigError
from churnradar.features.registry import FEATURES, THEMES, FeatureSet, _load_themes


def _all_in_theme_order() -> tuple[str, ...]:
    _load_themes()
    return tuple(n for theme in THEMES for n, f in FEATURES.items() if f.theme == theme)


def core() -> FeatureSet:
    """Every feature of the library, grouped by theme: the set models train on by default."""
    return FeatureSet("core", version="1.0", features=_all_in_theme_order())


def numeric() -> FeatureSet:
    """The core set without string (categorical) columns."""
    _load_themes()
    names = tuple(n for n in _all_in_theme_order() if FEATURES[n].dtype != "string")
    return FeatureSet("numeric", version="1.0", features=names)


#: The features retention's value, segment and uplift models read (``churnradar.retention.covariates``
#: names its columns after them).
RETENTION_FEATURES = (
    "home_county",
    "tenure_months",
    "is_prepaid",
    "is_5g_package",
    "is_promotion_package",
    "package_fee",
    "in_family_group",
    "customer_group",
    "arpu_1m",
    "arpu_3m_mean",
    "data_mb_3m_mean",
    "mou_3m_mean",
    "active_days_1m",
    "active_days_3m_mean",
    "balance_1m",
    "arrears_1m",
    "competitor_share_3m",
    "competitor_second_sim_1m",
    "onnet_contacts_3m",
    "complaints_3m",
    "complaints_unresolved_3m",
    "retention_contacts_6m",
    "months_to_contract_end",
    "months_to_subsidy_end",
)


def retention() -> FeatureSet:
    """The features retention reads (value, segments, uplift): a subset of the core set."""
    return FeatureSet("retention", version="1.0", features=RETENTION_FEATURES)


#: Registered feature sets by name.
FEATURE_SETS = {"core": core, "numeric": numeric, "retention": retention}


def get_feature_set(name: str) -> FeatureSet:
    try:
        return FEATURE_SETS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown feature set {name!r}; expected one of {', '.join(FEATURE_SETS)}"
        ) from None
