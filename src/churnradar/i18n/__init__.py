"""Message catalogue for what people read: report headings, column names, notes (zh-CN and en).

One JSON file per language (``zh.json``, ``en.json``) maps a dotted key to its text, and an area may
keep its messages in its own pair of files (``zh.<area>.json``, ``en.<area>.json``, e.g. ``zh.admin.json``)
that are merged in (a key defined twice is an error); ``t(key, lang)`` looks one up, formatting ``{placeholders}`` from keyword arguments. zh-CN is the default language.
Enumerations of the data model keep their labels in :mod:`churnradar.schema.enums`; ``enum_label``
reaches them through the same ``lang`` argument.

>>> t("report.churn.title", "en")
'Churn totals and breakdowns'
>>> t("common.month", "zh")
'月份'
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from churnradar.errors import ConfigError

LANGUAGES = ("zh", "en")
DEFAULT_LANG = "zh"


def normalise_lang(lang: str | None) -> str:
    """``"zh-CN"``, ``"zh"``, ``"en-GB"``, ``"en"`` → ``"zh"`` or ``"en"``; ConfigError otherwise."""
    if lang is None:
        return DEFAULT_LANG
    code = str(lang).strip().lower().replace("_", "-").split("-")[0]
    if code not in LANGUAGES:
        raise ConfigError(f"language {lang!r} is not supported; expected one of zh-CN, en")
    return code


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of ``lang`` (``"zh"`` or ``"en"``)."""
    lang = normalise_lang(lang)
    here = Path(__file__).parent
    messages: dict[str, str] = {}
    for path in [here / f"{lang}.json", *sorted(here.glob(f"{lang}.*.json"))]:
        part = json.loads(path.read_text(encoding="utf-8"))
        twice = sorted(set(part) & set(messages))
        if twice:
            raise ConfigError(f"{path.name}: message keys {twice[:5]} are already defined in another file")
        messages.update(part)
    return messages


def t(key: str, lang: str = DEFAULT_LANG, **values: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``.

    A key missing from ``lang`` falls back to English, then to the key itself (so a missing
    translation shows up in the output rather than failing a report).
    """
    lang = normalise_lang(lang)
    text = catalogue(lang).get(key) or catalogue("en").get(key) or key
    return text.format(**values) if values else text


def enum_label(labels: dict[str, tuple[str, str]], code: object, lang: str = DEFAULT_LANG) -> str:
    """Label of an enumeration code of the data model (``schema.enums``) in ``lang``; the code when unknown."""
    if code is None:
        return ""
    pair = labels.get(str(code))
    if pair is None:
        return str(code)
    return pair[1] if normalise_lang(lang) == "zh" else pair[0]


__all__ = ["DEFAULT_LANG", "LANGUAGES", "catalogue", "enum_label", "normalise_lang", "t"]
