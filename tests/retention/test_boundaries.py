"""Retention uses the shared library: the store through ``churnradar.store``, risk from the score
table, no simulator truth, one operational-store package."""

from __future__ import annotations

import re
from pathlib import Path

import churnradar

SRC = Path(churnradar.__file__).parent


def _sources(folder: str) -> dict[str, str]:
    return {str(p.relative_to(SRC)): p.read_text() for p in sorted((SRC / folder).rglob("*.py"))}


def test_retention_opens_no_duckdb_connection_of_its_own():
    bad = {
        n
        for n, text in _sources("retention").items()
        if re.search(r"\bduckdb\.connect\(|^\s*import duckdb", text, re.M)
    }
    assert bad == set()


def test_retention_reads_no_simulator_truth_and_has_no_stand_in_risk_model():
    for name, text in _sources("retention").items():
        assert not re.search(r"_truth[/\"']|retention_truth|churn_truth", text), name
        assert not re.search(r"(from|import) churnradar\.evaluate", text), name
        assert "interim" not in text, name


def test_only_the_opstore_package_creates_engines():
    makers = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "create_engine(" in p.read_text()}
    assert makers == {"opstore/engine.py"}
    assert not (SRC / "retention" / "opstore.py").exists() and not (SRC / "opstore.py").exists()
