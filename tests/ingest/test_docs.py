"""The Python example of docs/ingest.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "ingest.md"


def test_the_python_example_in_the_ingest_docs_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "docs/ingest.md has no python example"
    monkeypatch.setenv("CHURNRADAR_HMAC_KEY", "set-by-the-example-itself")
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
