"""Churn reports: tidy tables built with Ibis on the store, rendered as self-contained HTML (ECharts)
or as an XLSX workbook with native Excel charts.

>>> from churnradar.reports import write_reports
>>> paths = write_reports("operator.duckdb", ["anomaly"], as_of="2025-03", out="reports/")  # doctest: +SKIP

Builders (each returns a ``pandas.DataFrame``) live in one module per family: :mod:`.churn`,
:mod:`.revenue`, :mod:`.survival`, :mod:`.seasonality`, :mod:`.kpi`, :mod:`.competitor`; a
:class:`.context.ReportContext` holds the store, as-of month, dating and suppression threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from churnradar.errors import ChurnRadarError
from churnradar.reports.context import ReportContext
from churnradar.reports.model import Chart, Report, Section

FORMATS = ("html", "xlsx")


class UnknownReportError(ChurnRadarError):
    """A report name that is not one of the report set."""


def _registry() -> dict[str, Callable[[ReportContext], Report]]:
    from churnradar.reports.builders import REPORTS

    reg = dict(REPORTS)
    from churnradar.survey import report_survey

    reg["survey"] = report_survey
    from churnradar.forecast import report_forecast

    reg["forecast"] = report_forecast
    return reg


def report_names() -> list[str]:
    """Names of every report of ``churnradar report all``, in order."""
    return list(_registry())


def build_report(ctx: ReportContext, name: str) -> Report:
    """Build the report ``name`` on an open context."""
    reg = _registry()
    if name not in reg:
        raise UnknownReportError(f"unknown report {name!r}; expected one of {', '.join(reg)} or all")
    return reg[name](ctx)


def resolve_names(names: list[str] | str | None) -> list[str]:
    """``"all"``/None → every report; otherwise the names, checked."""
    all_names = report_names()
    if names is None or names == "all" or names == ["all"]:
        return all_names
    names = [names] if isinstance(names, str) else list(names)
    for n in names:
        if n not in all_names:
            raise UnknownReportError(f"unknown report {n!r}; expected one of {', '.join(all_names)} or all")
    return names


def write_reports(
    store: Path | str,
    names: list[str] | str | None = "all",
    *,
    as_of: str | date | None = None,
    fmt: str = "html",
    out: Path | str = "reports",
    lang: str = "zh",
    dating: str = "left",
    min_count: int = 5,
    window: int = 24,
    backend: str = "duckdb",
    progress: Callable[..., Any] | None = None,
) -> list[Path]:
    """Build reports on ``store`` and write them to ``out``: one HTML file per report, or one workbook.

    Returns the written paths. ``fmt`` is ``html`` or ``xlsx``.
    """
    from churnradar.i18n import normalise_lang

    if fmt not in FORMATS:
        raise ChurnRadarError(f"format {fmt!r} is not supported; expected one of {', '.join(FORMATS)}")
    lang = normalise_lang(lang)
    selected = resolve_names(names)
    out = Path(out)
    if fmt == "html":
        from churnradar.reports.html import echarts_source

        echarts_source()  # fail before any work when the asset is missing
    say = progress or (lambda *_a, **_k: None)
    paths: list[Path] = []
    reports: list[Report] = []
    with ReportContext.open(
        store, as_of, window=window, dating=dating, lang=lang, min_count=min_count, backend=backend
    ) as ctx:
        for i, name in enumerate(selected):
            say("reports", i, len(selected))
            rep = build_report(ctx, name)
            if fmt == "html":
                from churnradar.reports.html import render_html

                paths.append(render_html(rep, out / f"{name}.html"))
            else:
                reports.append(rep)
        say("reports", len(selected), len(selected))
        if fmt == "xlsx":
            from churnradar.reports.xlsx import render_xlsx

            stem = "reports" if len(selected) > 1 else selected[0]
            paths.append(render_xlsx(reports, out / f"{stem}-{ctx.as_of:%Y-%m}.xlsx"))
    return paths


__all__ = [
    "FORMATS",
    "Chart",
    "Report",
    "ReportContext",
    "Section",
    "UnknownReportError",
    "build_report",
    "report_names",
    "resolve_names",
    "write_reports",
]
