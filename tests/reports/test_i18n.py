"""The message catalogue: same keys in zh and en, fallback, language names."""

from __future__ import annotations

import pytest

from churnradar.errors import ConfigError
from churnradar.i18n import catalogue, normalise_lang, t


def test_every_message_exists_in_both_languages():
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en)
    assert all(v.strip() for v in zh.values()) and all(v.strip() for v in en.values())


def test_placeholders_are_filled_and_missing_keys_show_themselves():
    assert t("chart.grid_last", "en", month="2025-03") == "Churn rate by grid, 2025-03"
    assert t("no.such.key", "zh") == "no.such.key"


def test_language_codes_are_normalised_and_unknown_ones_rejected():
    assert (
        normalise_lang("zh-CN") == "zh" and normalise_lang("en_GB") == "en" and normalise_lang(None) == "zh"
    )
    with pytest.raises(ConfigError, match="expected one of zh-CN, en"):
        normalise_lang("fr")
