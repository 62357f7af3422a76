"""Plain JSON values of what the store returns (dates as ISO text, NaN as null, numpy as Python)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any


def jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def maybe_json(v: Any) -> Any:
    """JSON text (an object or a list) decoded; anything else as it is."""
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
