"""Months as integers, calendar helpers and the Spring-Festival (Chinese New Year) dates.

A month index is ``year * 12 + (month - 1)``; all simulator loops run over month indices.
"""

from __future__ import annotations

import re

import numpy as np

from churnradar.errors import ConfigError
from churnradar.periods import CNY_DATES

FIRST_YEAR = min(CNY_DATES)
LAST_YEAR = max(CNY_DATES)
_EPOCH_MI = 1970 * 12


def parse_month(text: str) -> int:
    """``"YYYY-MM"`` → month index; :class:`ConfigError` when malformed or outside the CNY table."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", str(text).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ConfigError(f"start month {text!r} is not a month; expected YYYY-MM, e.g. 2024-01")
    year = int(m.group(1))
    if not FIRST_YEAR + 1 <= year <= LAST_YEAR - 10:
        raise ConfigError(
            f"start month {text!r} is out of range; expected a year from {FIRST_YEAR + 1} to {LAST_YEAR - 10}"
        )
    return year * 12 + int(m.group(2)) - 1


def month_str(mi: int) -> str:
    """Month index → ``"YYYY-MM"``."""
    return f"{mi // 12:04d}-{mi % 12 + 1:02d}"


def month_first_day(mi: int | np.ndarray) -> np.ndarray:
    """Month index (scalar or array) → days since 1970-01-01 of the first day (int64)."""
    m = np.asarray(mi, dtype=np.int64) - _EPOCH_MI
    return m.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def days_in_month(mi: int | np.ndarray) -> np.ndarray:
    """Number of days of the month(s)."""
    return month_first_day(np.asarray(mi) + 1) - month_first_day(mi)


def month_of_day(day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 → month index."""
    return (
        np.asarray(day, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        + _EPOCH_MI
    )


def spring_festival_months(first_mi: int, last_mi: int) -> set[int]:
    """Month indices of the Spring-Festival month and the month after, for every year in range."""
    out: set[int] = set()
    for year in range(first_mi // 12 - 1, last_mi // 12 + 2):
        if year in CNY_DATES:
            y, m, _ = (int(x) for x in CNY_DATES[year].split("-"))
            sf = y * 12 + m - 1
            out.update({sf, sf + 1})
    return {mi for mi in out if first_mi <= mi <= last_mi}
