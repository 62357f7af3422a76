"""The as-of month and the month arithmetic features share.

Month T (the as-of month) is the last full month a feature may see: monthly rows with
``month <= T`` and events with a time before the first instant of month T+1. Month offsets are
computed from extracted years and months (integers), never with engine date arithmetic, so that
DuckDB and Spark agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from churnradar.periods import add_months, parse_month

if TYPE_CHECKING:
    import ibis.expr.types as ir


@dataclass(frozen=True)
class AsOf:
    """The as-of month T: ``month`` is its first day; data up to ``end`` (exclusive) is visible."""

    month: date

    @classmethod
    def parse(cls, value: str | date | AsOf) -> AsOf:
        """``YYYY-MM`` (or ``YYYY-MM-DD``, any day of the month, or a date) → the month it falls in."""
        if isinstance(value, AsOf):
            return value
        return cls(parse_month(value, "as-of"))

    @property
    def end(self) -> date:
        """First day of month T+1: the first date that is *not* visible."""
        return add_months(self.month, 1)

    @property
    def end_ts(self) -> datetime:
        """First instant of month T+1 (events strictly before it are visible)."""
        return datetime(self.end.year, self.end.month, 1)

    @property
    def index(self) -> int:
        """Months since year 0 (``year * 12 + month - 1``) of month T."""
        return self.month.year * 12 + self.month.month - 1

    def month_start(self, back: int) -> date:
        """First day of month T-``back`` (``month_start(0)`` is T itself)."""
        return add_months(self.month, -back)

    def ts_start(self, back: int) -> datetime:
        d = self.month_start(back)
        return datetime(d.year, d.month, 1)

    def __str__(self) -> str:
        return f"{self.month.year:04d}-{self.month.month:02d}"


def month_index(col: ir.Value) -> ir.IntegerValue:
    """``year * 12 + month - 1`` of a date or timestamp column (an integer)."""
    return (col.year().cast("int64") * 12 + col.month().cast("int64") - 1).cast("int64")


def months_back(col: ir.Value, as_of: AsOf) -> ir.IntegerValue:
    """Whole months from the month of ``col`` to month T (0 in month T, 1 in T-1, …)."""
    return (as_of.index - month_index(col)).cast("int64")
