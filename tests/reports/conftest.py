"""An operator big and long enough for the reports' effects, simulated and ingested once per session.

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

KEY = "churnradar-test-key-not-secret"


@dataclass(frozen=True)
class ReportOperator:
    store: Path
    data_dir: Path
    truth: Path


@pytest.fixture(scope="session")
def report_operator(tmp_path_factory) -> ReportOperator:
    from churnradar.ingest import ingest
    from churnradar.simulate import SimConfig, simulate

    root = tmp_path_factory.mktemp("report_operator")
    data = root / "data"
    simulate(
        subscribers=20_000,
        months=18,
        seed=5,
        out=data,
        fmt="parquet",
        start="2024-01",
        config=SimConfig(survey_share=0.3),
    )
    store = root / "store.duckdb"
    ingest([data], store=store, key=KEY)
    return ReportOperator(store, data, data / "_truth" / "churn_truth.parquet")


@pytest.fixture(scope="session")
def ctx(report_operator):
    from churnradar.reports import ReportContext

    with ReportContext.open(report_operator.store) as c:
        yield c


@pytest.fixture(scope="session")
def html_reports(report_operator, tmp_path_factory) -> dict[str, Path]:
    """Every report of the set as HTML (zh-CN), plus the diagnosis of the latest complete month."""
    from churnradar.reports import write_reports
    from churnradar.reports.diagnosis import diagnose_store

    out = tmp_path_factory.mktemp("html")
    paths = {p.stem: p for p in write_reports(report_operator.store, "all", out=out)}
    paths["diagnosis"] = diagnose_store(report_operator.store, out=out).path
    return paths


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium (never `playwright install`), flags from SETUP-NOTES."""
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium") or "/usr/bin/chromium",
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
