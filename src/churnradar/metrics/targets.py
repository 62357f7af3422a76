"""KPI targets (考核目标) an operator supplies, and 完成率 (attainment) against them.

A targets file is a CSV (UTF-8, a BOM allowed; lines starting with ``#`` are comments) with the
header ``kpi,period,region,target,direction``:

- ``kpi``: a metric id of the catalogue (:data:`churnradar.metrics.CATALOGUE`), e.g. ``offnet_rate``;
- ``period``: a month ``YYYY-MM``, or a year ``YYYY`` for a figure that is a level (a rate or a
  per-line figure), which then holds for every month of that year without a month row of its own;
- ``region``: ``operator`` (the whole operator) or a county id of the store;
- ``target``: a positive number; a ratio may be written as a percentage (``1.8%`` = ``0.018``);
- ``direction``: ``lower`` (lower is better, as churn rates) or ``higher``; empty for the figure's
  usual direction (:func:`usual_direction`).

完成率 (:func:`attainment`): ``actual / target`` when higher is better, and
``1 − (actual − target) / target`` when lower is better (meeting the target exactly is 100%, every
1% above it costs one point, below it counts above 100%). Without a target there is no 完成率.

>>> t = read_targets("targets.csv", counties={"C01", "C02"})  # doctest: +SKIP
>>> t.get("offnet_rate", "2025-01", "operator").value  # doctest: +SKIP
0.018
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from churnradar.errors import ConfigError
from churnradar.metrics.catalogue import CATALOGUE, TPLUS
from churnradar.periods import format_month

#: The columns of a targets file, in order.
COLUMNS = ("kpi", "period", "region", "target", "direction")
#: The region of a target for the whole operator.
OPERATOR = "operator"
DIRECTIONS = ("lower", "higher")
#: Units of figures that are levels (a year's target holds for each month); counts, money and
#: volumes add up over months, so their targets are per month.
LEVEL_UNITS = frozenset({"ratio", "pp", "yuan_per_line", "gb_per_line", "min_per_line"})
#: Figures where less is better: exits and their rates, cancellations, revenue churn, high risk.
LOWER_IS_BETTER = frozenset(
    {
        "deregistrations",
        "port_outs",
        "offnet_churn",
        "offnet_rate",
        "port_out_rate",
        "offnet_churn_rate",
        "offnet_churn_left",
        "offnet_churn_rate_left",
        "stock_revenue_churn_rate",
        "risk_high",
        "risk_very_high",
        *(f"{p}_t{n}" for n in TPLUS for p in ("cancelled", "cancel_rate")),
    }
)
#: At most this many problems are spelt out in one error.
MAX_PROBLEMS = 20

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")


class TargetsError(ConfigError):
    """A targets file cannot be read: each problem names the file, line, column, value and what
    was expected."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = len(problems) - MAX_PROBLEMS
        text = "\n".join(problems[:MAX_PROBLEMS]) + (f"\n… and {more} more" if more > 0 else "")
        super().__init__(text)


def usual_direction(kpi: str) -> str:
    """``"lower"`` for a figure where less is better (churn and its rates), else ``"higher"``."""
    return "lower" if kpi in LOWER_IS_BETTER else "higher"


@dataclass(frozen=True)
class Target:
    """One row of a targets file."""

    kpi: str
    #: ``YYYY-MM`` or ``YYYY``
    period: str
    region: str
    value: float
    direction: str
    line: int


@dataclass
class Targets:
    """The targets of one file, looked up by KPI, month and region."""

    path: Path | None = None
    rows: list[Target] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = {(t.kpi, t.period, t.region): t for t in self.rows}

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, kpi: str, month: str | date, region: str = OPERATOR) -> Target | None:
        """The target of ``kpi`` for ``month`` in ``region``: its month row, else its year row."""
        m = month if isinstance(month, str) else format_month(month)
        return self._index.get((kpi, m[:7], region)) or self._index.get((kpi, m[:4], region))


def attainment(actual: float | None, target: Target | None) -> float | None:
    """完成率 of ``actual`` against ``target`` (None without either): ``actual / target`` when higher
    is better, ``1 − (actual − target) / target`` when lower is better."""
    if actual is None or target is None or not math.isfinite(actual):
        return None
    if target.direction == "lower":
        return 1 - (actual - target.value) / target.value
    return actual / target.value


def _number(text: str, kpi: str | None) -> float:
    """The target in ``text``: a plain number, or a percentage for a ratio."""
    t = text.strip().replace(",", "")
    pct = t.endswith("%")
    v = float(t[:-1] if pct else t)  # ValueError for anything else
    if not math.isfinite(v):
        raise ValueError(text)
    unit = CATALOGUE[kpi].unit if kpi in CATALOGUE else None
    if pct:
        if unit is not None and unit not in ("ratio", "pp"):  # an unknown kpi is reported once
            raise ValueError(text)
        v /= 100
    return v


def read_targets(path: str | Path, counties: Collection[str] | None = None) -> Targets:
    """The targets of the CSV at ``path`` (see the module's help for the format). ``counties`` (the
    store's county ids) checks each row's region; None accepts any. Raises :class:`TargetsError`
    listing every bad cell as ``file:line:column: value …; expected …``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such targets file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8 CSV"
        ) from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    lines = [(n, line) for n, line in lines if not line.lstrip().startswith("#")]
    if not lines:
        raise TargetsError([f"{p}: no header; expected the columns {','.join(COLUMNS)}"])
    head_no, head_line = lines[0]
    header = [h.strip().lower() for h in next(csv.reader(io.StringIO(head_line)))]
    missing = [c for c in COLUMNS if c not in header and c != "direction"]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        what = (f"missing {missing}" if missing else "") + ("; " if missing and unknown else "")
        what += f"unknown {unknown}" if unknown else ""
        raise TargetsError(
            [f"{p}:{head_no}: header {header} ({what}); expected the columns {','.join(COLUMNS)}"]
        )
    col = {name: header.index(name) for name in header}
    allowed_counties = None if counties is None else frozenset(counties)
    problems: list[str] = []
    rows: list[Target] = []
    seen: dict[tuple[str, str, str], int] = {}

    def bad(line: int, name: str, value: str, expected: str) -> None:
        problems.append(f"{p}:{line}:{col[name] + 1} ({name}): value {value!r} {expected}")

    for n, line in lines[1:]:
        cells = next(csv.reader(io.StringIO(line)))
        if len(cells) != len(header):
            problems.append(f"{p}:{n}: {len(cells)} values; expected {len(header)} ({','.join(header)})")
            continue
        cell = {name: cells[j].strip() for name, j in col.items()}
        ok = True
        kpi = cell["kpi"]
        if kpi not in CATALOGUE:
            bad(n, "kpi", kpi, f"is not a metric of the catalogue; expected one of {', '.join(CATALOGUE)}")
            ok = False
        period = cell["period"]
        m = _MONTH.match(period)
        if m and 1 <= int(m.group(2)) <= 12:
            pass
        elif _YEAR.match(period):
            if kpi in CATALOGUE and CATALOGUE[kpi].unit not in LEVEL_UNITS:
                bad(
                    n,
                    "period",
                    period,
                    f"is a year, but {kpi} ({CATALOGUE[kpi].unit}) adds up over months; expected a month YYYY-MM",
                )
                ok = False
        else:
            bad(n, "period", period, "is not a period; expected a month YYYY-MM or a year YYYY")
            ok = False
        region = cell["region"]
        if region != OPERATOR and (
            not region or (allowed_counties is not None and region not in allowed_counties)
        ):
            choices = sorted(allowed_counties or ())
            bad(
                n,
                "region",
                region,
                f"is not a county of the store; expected {OPERATOR!r} or a county id"
                + (f" ({', '.join(choices[:12])}{', …' if len(choices) > 12 else ''})" if choices else ""),
            )
            ok = False
        raw = cell["target"]
        try:
            value = _number(raw, kpi)
        except ValueError:
            pct = " (a percentage such as 1.8% only for a ratio)" if raw.strip().endswith("%") else ""
            bad(n, "target", raw, f"is not a number{pct}; expected a positive number")
            ok = False
        else:
            if value <= 0:
                bad(
                    n,
                    "target",
                    raw,
                    "is not positive; expected a positive number (完成率 divides by the target)",
                )
                ok = False
            elif kpi in CATALOGUE and CATALOGUE[kpi].unit == "ratio" and value > 1:
                bad(n, "target", raw, f"is above 1 for the ratio {kpi}; expected e.g. 0.018 or 1.8%")
                ok = False
        direction = cell.get("direction", "").lower()
        if direction and direction not in DIRECTIONS:
            bad(
                n,
                "direction",
                cell["direction"],
                f"is not a direction; expected one of {', '.join(DIRECTIONS)} or empty",
            )
            ok = False
        if not ok:
            continue
        key = (kpi, period, region)
        if key in seen:
            problems.append(
                f"{p}:{n}: duplicate target of {kpi} for {period} in {region} (line {seen[key]} already sets it); "
                "expected one row per kpi, period and region"
            )
            continue
        seen[key] = n
        rows.append(Target(kpi, period, region, value, direction or usual_direction(kpi), n))
    if problems:
        raise TargetsError(problems)
    return Targets(p, rows)
