"""Months as the unit of time: parsing ``YYYY-MM``, month arithmetic, month ends."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

from churnradar.errors import ConfigError

_MONTH_RE = re.compile(r"^(\d{4})-?(\d{2})(?:-01)?$")


def parse_month(text: str | date) -> date:
    """``"2024-03"``, ``"202403"`` or ``"2024-03-01"`` → ``date(2024, 3, 1)``."""
    if isinstance(text, datetime):
        return date(text.year, text.month, 1)
    if isinstance(text, date):
        return date(text.year, text.month, 1)
    m = _MONTH_RE.match(str(text).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ConfigError(f"month {text!r} is not valid; expected YYYY-MM, e.g. 2024-03")
    return date(int(m.group(1)), int(m.group(2)), 1)


def add_months(month: date, n: int) -> date:
    """The first day of the month ``n`` months after ``month`` (negative ``n`` goes back)."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    """The last day of ``month``."""
    return date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])


def month_end_exclusive(month: date) -> datetime:
    """Midnight at the start of the next month: events strictly before it belong to ``month`` or earlier."""
    return datetime.combine(add_months(month, 1), datetime.min.time())


def months_between(start: date, end: date) -> int:
    """Whole months from ``start``'s month to ``end``'s month."""
    return (end.year - start.year) * 12 + end.month - start.month


def format_month(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def month_range(start: date, end: date) -> list[date]:
    """Every month from ``start`` to ``end`` inclusive."""
    return [add_months(start, i) for i in range(months_between(start, end) + 1)]


ONE_DAY = timedelta(days=1)
