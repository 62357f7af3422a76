"""The months training and scoring use unless told: current by default.

- Scoring's month is the latest complete month, the last month of usage data (the month the
  dashboard's pages show unless asked, :func:`churnradar.views.filters.default_month`).
- Training's month is that month less the churn definition's confirmation months: the outcomes the
  model learns from must be known by the last month of data (the monthly cycle's rule).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from churnradar.periods import add_months


def latest_month(store: str | Path) -> date:
    """The last month of usage data in ``store`` (ConfigError when it holds none)."""
    from churnradar.metrics.compute import Scoped
    from churnradar.store.backends import open_backend

    bk = open_backend(Path(store))
    try:
        return Scoped(bk).data_months[1]
    finally:
        bk.close()


def store_definition(store: str | Path, asked: str | None = None) -> str:
    """``asked``, else the store's default churn definition (off-net when it records ends)."""
    if asked is not None:
        return asked
    from churnradar.labels import default_definition
    from churnradar.store.backends import open_backend

    bk = open_backend(Path(store))
    try:
        return default_definition(bk)[0]
    finally:
        bk.close()


def confirmation_lag(definition: str) -> int:
    """Months after a month before its outcomes under ``definition`` are final."""
    from churnradar.evaluate.backtest import confirmation_months
    from churnradar.labels import get_definition

    return confirmation_months(get_definition(definition))


def training_month(month: date, definition: str) -> date:
    """The month a model scoring ``month`` is trained as of: ``month`` less the confirmation lag."""
    return add_months(month, -confirmation_lag(definition))


def default_training_month(store: str | Path, definition: str | None = None) -> date:
    """The training month for the latest complete month of ``store``."""
    return training_month(latest_month(store), store_definition(store, definition))
