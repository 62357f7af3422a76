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


#: What a report reads beyond subscriptions and monthly usage: ``"end_events"`` (deregistration
#: or port-out events: every churn figure of the reports is off-net churn), a table, or a
#: ``table.column``. A store that lacks one skips the report and says why.
REQUIRES: dict[str, tuple[str, ...]] = {
    "churn": ("end_events",),
    "geography": ("end_events", "region"),
    "cohort": ("end_events",),
    "revenue": ("end_events", "billing_monthly.revenue"),
    "retention": ("end_events",),
    "anomaly": ("end_events",),
    "kpi": ("end_events",),
    "competitor": ("end_events",),
    "survey": ("survey_response",),
    "forecast": ("end_events",),
}


def missing_inputs(ctx: ReportContext, name: str) -> list[str]:
    """What the store behind ``ctx`` lacks for report ``name`` (empty: it can be built)."""
    from churnradar.features.inputs import availability
    from churnradar.metrics.population import has_end_events

    need = REQUIRES.get(name, ())
    tables = {n.partition(".")[0] for n in need if n != "end_events"}
    avail = availability(ctx.bk, tables) if tables else None
    out = avail.missing(n for n in need if n != "end_events") if avail else []
    if "end_events" in need and not ctx._cached("has_end_events", lambda: has_end_events(ctx.bk)):
        out.insert(0, "deregistration or port-out events (status_event)")
    return out


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
    skipped: dict[str, list[str]] | None = None,
) -> list[Path]:
    """Build reports on ``store`` and write them to ``out``: one HTML file per report, or one workbook.

    Returns the written paths. ``fmt`` is ``html`` or ``xlsx``. A report whose inputs the store
    lacks (:data:`REQUIRES`) is not built: it is added to ``skipped`` (report → what is missing)
    when given; when every report asked for is skipped, nothing is written and the error says why.
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
        lacking = {n: m for n in selected if (m := missing_inputs(ctx, n))}
        if skipped is not None:
            skipped.update(lacking)
        if len(lacking) == len(selected):
            shown = "; ".join(f"{n}: no {', '.join(m)}" for n, m in lacking.items())
            raise ChurnRadarError(
                f"no report can be built on {store}: {shown}. Churn reports count off-net churn "
                "(deregistration and port-out); for usage-based churn use "
                "`churnradar label --definition silent:30` and the model commands"
            )
        for i, name in enumerate(selected):
            say("reports", i, len(selected))
            if name in lacking:
                continue
            rep = build_report(ctx, name)
            if fmt == "html":
                from churnradar.reports.html import render_html

                paths.append(render_html(rep, out / f"{name}.html"))
            else:
                reports.append(rep)
        say("reports", len(selected), len(selected))
        if fmt == "xlsx":
            from churnradar.reports.xlsx import render_xlsx

            built = [n for n in selected if n not in lacking]
            stem = "reports" if len(built) > 1 else built[0]
            paths.append(render_xlsx(reports, out / f"{stem}-{ctx.as_of:%Y-%m}.xlsx"))
    return paths


__all__ = [
    "FORMATS",
    "REQUIRES",
    "Chart",
    "Report",
    "ReportContext",
    "Section",
    "UnknownReportError",
    "build_report",
    "missing_inputs",
    "report_names",
    "resolve_names",
    "write_reports",
]
