"""Months as integers for the simulator's loops, and the Spring-Festival months among them.

A month index is ``year * 12 + (month - 1)``; all simulator loops run over month indices. Month text
and the Spring-Festival calendar are :mod:`churnradar.periods`'s: this module only converts.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from churnradar import periods
from churnradar.errors import ConfigError
from churnradar.periods import CNY_DATES

FIRST_YEAR = min(CNY_DATES)
LAST_YEAR = max(CNY_DATES)
_EPOCH_MI = 1970 * 12


def month_index(month: date) -> int:
    """A month (:mod:`churnradar.periods`' first-of-month date) → month index."""
    return month.year * 12 + month.month - 1


def parse_month(text: str) -> int:
    """``"YYYY-MM"`` (read by :func:`churnradar.periods.parse_month`) → month index;
    :class:`ConfigError` when malformed or outside the years the Spring-Festival table covers."""
    try:
        month = periods.parse_month(text)
    except ConfigError:
        raise ConfigError(f"start month {text!r} is not a month; expected YYYY-MM, e.g. 2024-01") from None
    if not FIRST_YEAR + 1 <= month.year <= LAST_YEAR - 10:
        raise ConfigError(
            f"start month {text!r} is out of range; expected a year from {FIRST_YEAR + 1} to {LAST_YEAR - 10}"
        )
    return month_index(month)


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
    """Month indices of the Spring-Festival month and the month after
    (:func:`churnradar.periods.spring_festival_months`) from ``first_mi`` to ``last_mi``."""
    every = (month_index(m) for m in periods.spring_festival_months())
    return {mi for mi in every if first_mi <= mi <= last_mi}
