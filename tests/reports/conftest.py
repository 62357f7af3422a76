"""An operator big and long enough for the reports' effects, simulated and ingested once (cached on disk).

20,000 subscribers × 18 months from 2024-01 (seed 5): the ¥5 promotion card launches in 2024-03 and
its churners leave at tenure 3–9 months; two Spring Festivals (Feb 2024, Jan 2025); 18 months of
recorded churn for the forecast backtest. The survey share is raised to 30% so the NPS driver
analysis has about 6,000 answers (the default 2% gives ~20,000 at a million subscribers).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class ReportOperator:
    store: Path
    data_dir: Path
    truth: Path


@pytest.fixture(scope="session")
def report_operator(tmp_path_factory) -> ReportOperator:
    from tests.conftest import build_operator

    from churnradar.simulate import SimConfig

    op = build_operator(
        tmp_path_factory.mktemp("report_operator"),
        subscribers=20_000,
        months=18,
        seed=5,
        start="2024-01",
        config=SimConfig(survey_share=0.3),
    )
    return ReportOperator(op.store, op.data_dir, op.truth)


@pytest.fixture(scope="session")
def ctx(report_operator):
    from churnradar.reports import ReportContext

    with ReportContext.open(report_operator.store) as c:
        yield c


@pytest.fixture(scope="session")
def built_reports(ctx) -> dict:
    """Every report of the set (zh-CN) and the diagnosis of the latest complete month, built once."""
    from churnradar.reports import build_report, report_names
    from churnradar.reports.diagnosis import diagnose

    reports = {name: build_report(ctx, name) for name in report_names()}
    reports["diagnosis"] = diagnose(ctx)
    return reports


@pytest.fixture(scope="session")
def html_reports(built_reports, tmp_path_factory) -> dict[str, Path]:
    """The built reports rendered as self-contained HTML files."""
    from churnradar.reports.html import render_html

    out = tmp_path_factory.mktemp("html")
    return {name: render_html(rep, out / f"{name}.html") for name, rep in built_reports.items()}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_args):
    """Debian's chromium (never `playwright install`), flags from SETUP-NOTES."""
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium") or "/usr/bin/chromium",
        "args": chromium_args,
    }
