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


#: Registered feature sets by name.
FEATURE_SETS = {"core": core, "numeric": numeric}


def get_feature_set(name: str) -> FeatureSet:
    try:
        return FEATURE_SETS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown feature set {name!r}; expected one of {', '.join(FEATURE_SETS)}"
        ) from None
