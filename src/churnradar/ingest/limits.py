"""The real domain of the canonical columns, beyond their storage types.

DuckDB's DATE holds years from before Christ to 5,881,580 and its casts accept ``2024/01/05``, a
time of day in a date, ``0x10``, ``0b101`` and ``1_000``; a VARCHAR holds any length. Ingest
accepts what an operator's data can mean:

- **dates, months and timestamps** between ``CHURNRADAR_EARLIEST_DATE`` (default 1980-01-01) and
  ``CHURNRADAR_LATEST_DATE`` (default one year after today); columns that hold future dates by
  nature (a contract's or promotion's end) may lie up to ten years after today;
- **text** of at most 64 characters for identifiers and codes, 1,000 for names and free text;
- **identifiers and codes** (ids, keys and foreign keys) trimmed and upper-cased, so ``yc01 `` and
  ``YC01`` are one county;
- **raw identifiers** of the right shape before they are hashed: phone numbers 5 to 15 digits (an
  optional leading ``+``), IMEIs 14 to 16 digits, certificate numbers 6 to 20 letters or digits,
  with the check character verified on 18-character resident ID numbers (GB 11643).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta

from churnradar.errors import ConfigError
from churnradar.schema.model import Column, Table

EARLIEST_ENV = "CHURNRADAR_EARLIEST_DATE"
LATEST_ENV = "CHURNRADAR_LATEST_DATE"
DEFAULT_EARLIEST = date(1980, 1, 1)
#: how far after today a date may lie (most columns; see FUTURE_COLUMNS)
LATEST_AFTER_TODAY = timedelta(days=366)
#: how far after the latest date a column of future dates may lie
FUTURE_MARGIN = timedelta(days=9 * 366)
#: columns whose dates are in the future by nature (ends of contracts, subsidies, campaigns, promotions)
FUTURE_COLUMNS = frozenset(
    {
        ("subscription", "contract_end"),
        ("subscription", "subsidy_end"),
        ("promotion", "end_month"),
        ("promotion", "start_month"),
        ("campaign", "end_date"),
        ("campaign", "start_date"),
    }
)

CODE_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 1000

#: shape of a raw identifier (RE2, matched against the whole trimmed value) and what is expected
IDENTIFIER_SHAPES: dict[str, tuple[str, str]] = {
    "msisdn": (r"\+?[0-9]{5,15}", "is not a phone number; expected 5 to 15 digits (a leading + allowed)"),
    "imei": (r"[0-9]{14,16}", "is not an IMEI; expected 14 to 16 digits"),
    "certificate": (
        r"[0-9A-Za-z]{6,20}",
        "is not a certificate number; expected 6 to 20 letters or digits (an 18-character resident ID "
        "with a valid check character)",
    ),
}
#: GB 11643 resident ID: weights of the first 17 digits and the check character of the sum mod 11
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"


def _env_date(name: str, default: date) -> date:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"${name} is {text!r}, not a date; expected YYYY-MM-DD") from None


@dataclass(frozen=True)
class DateRange:
    earliest: date
    latest: date

    def describe(self) -> str:
        return (
            f"is outside the plausible range {self.earliest.isoformat()} … {self.latest.isoformat()} "
            f"(${EARLIEST_ENV} and ${LATEST_ENV} set it)"
        )


def date_range(table: Table, column: Column, today: date | None = None) -> DateRange:
    """The dates a date, month or timestamp column of ``table`` may hold."""
    today = today or date.today()
    earliest = _env_date(EARLIEST_ENV, DEFAULT_EARLIEST)
    latest = _env_date(LATEST_ENV, today + LATEST_AFTER_TODAY)
    if (table.name, column.name) in FUTURE_COLUMNS:
        latest = latest + FUTURE_MARGIN
    if latest < earliest:
        raise ConfigError(
            f"the latest date {latest} is before the earliest date {earliest}; check ${LATEST_ENV}"
        )
    return DateRange(earliest, latest)


def is_code(table: Table, column: Column) -> bool:
    """An identifier or code (trimmed and upper-cased at ingest): a text column that is not a
    pseudonymised identifier nor an enumeration, and is a key, a foreign key, or named ``*_id``."""
    return (
        column.dtype == "string"
        and column.pii is None
        and not column.enum
        and (column.name in table.key or column.references is not None or column.name.endswith("_id"))
    )


def max_length(table: Table, column: Column) -> int:
    """The longest text a string column may hold (characters)."""
    return CODE_MAX_LENGTH if is_code(table, column) else TEXT_MAX_LENGTH
