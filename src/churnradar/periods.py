"""Months as the unit of time: parsing ``YYYY-MM``, month arithmetic, month ends."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

from churnradar.errors import ConfigError

#: Chinese New Year's Day (Spring Festival) by year: public calendar facts.
CNY_DATES: dict[int, str] = {
    2010: "2010-02-14",
    2011: "2011-02-03",
    2012: "2012-01-23",
    2013: "2013-02-10",
    2014: "2014-01-31",
    2015: "2015-02-19",
    2016: "2016-02-08",
    2017: "2017-01-28",
    2018: "2018-02-16",
    2019: "2019-02-05",
    2020: "2020-01-25",
    2021: "2021-02-12",
    2022: "2022-02-01",
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
    2029: "2029-02-13",
    2030: "2030-02-03",
    2031: "2031-01-23",
    2032: "2032-02-11",
    2033: "2033-01-31",
    2034: "2034-02-19",
    2035: "2035-02-08",
}


_MONTH_RE = re.compile(r"^(\d{4})-?(\d{2})(?:-(\d{2}))?$")


def parse_month(text: str | date, what: str = "month") -> date:
    """``"2024-03"``, ``"202403"`` or a day of the month (``"2024-03-01"``, ``"2024-03-15"``) →
    ``date(2024, 3, 1)``; a date → the first day of its month. ``what`` names the value in the
    error (``"as-of"``, ``"start month"``)."""
    if isinstance(text, datetime):
        return date(text.year, text.month, 1)
    if isinstance(text, date):
        return date(text.year, text.month, 1)
    m = _MONTH_RE.match(str(text).strip())
    ok = bool(m) and 1 <= int(m.group(2)) <= 12 and int(m.group(1)) >= 1
    if ok and m.group(3) is not None:
        try:
            date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            ok = False
    if not ok:
        raise ConfigError(f"{what} {text!r} is not valid; expected YYYY-MM, e.g. 2024-03")
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


def spring_festival_months() -> list[date]:
    """The Spring-Festival (Chinese New Year) month and the month after, for every year known."""
    out = []
    for text in CNY_DATES.values():
        month = date(int(text[:4]), int(text[5:7]), 1)
        out += [month, add_months(month, 1)]
    return out
