"""What a report is: titled sections, each a tidy table with an optional chart and a note."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

CHART_KINDS = ("line", "bar", "stacked_bar", "scatter", "heatmap", "step")


@dataclass
class Chart:
    """A chart drawn from a wide table: ``x`` is the category column, ``series`` the value columns.

    ``heatmap`` reads ``x``, ``y`` and ``value`` columns of a long table instead; ``scatter`` reads
    ``x``, ``series[0]`` (y) and ``label``. ``fmt`` is ``pct``, ``num`` or ``yuan``. ``marks`` holds
    reference lines ({"x": value} or {"y": value}).
    """

    kind: str
    title: str
    data: pd.DataFrame
    x: str
    series: list[str] = field(default_factory=list)
    y: str | None = None
    value: str | None = None
    label: str | None = None
    fmt: str = "num"
    marks: list[dict[str, Any]] = field(default_factory=list)
    series_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in CHART_KINDS:
            raise ValueError(f"chart kind {self.kind!r}; expected one of {CHART_KINDS}")

    def n_points(self) -> int:
        if self.kind in ("heatmap",):
            return int(self.data[self.value].notna().sum()) if self.value else 0
        cols = self.series
        return int(self.data[cols].notna().to_numpy().sum()) if cols else 0


@dataclass
class Section:
    """One titled block of a report: a tidy table, an optional chart and an explanatory note."""

    key: str
    title: str
    table: pd.DataFrame
    chart: Chart | None = None
    note: str = ""
    charts: list[Chart] = field(default_factory=list)
    #: the 口径 of the catalogue metrics the table shows, as the metrics catalogue words them
    definitions: str = ""

    def all_charts(self) -> list[Chart]:
        return ([self.chart] if self.chart is not None else []) + list(self.charts)


@dataclass
class Report:
    """A rendered-ready report: name, title, as-of month, language, sections and facts about it."""

    name: str
    title: str
    as_of: date
    lang: str
    sections: list[Section]
    meta: dict[str, Any] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    #: raw results behind the report for programmatic use (not rendered), e.g. a ForecastResult
    data: dict[str, Any] = field(default_factory=dict)

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(
            f"report {self.name!r} has no section {key!r}; it has {[s.key for s in self.sections]}"
        )
