"""Every Python example in docs/*.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = [
    pytest.param(path, i, code, id=f"{path.name}[{i}]")
    for path in sorted(DOCS.glob("*.md"))
    if path.name != "ingest.md"  # tests/ingest/test_docs.py runs that one with its environment
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S))
]


@pytest.mark.parametrize(("path", "index", "code"), EXAMPLES)
def test_docs_python_example_runs(path, index, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{path}:example{index}", "exec"), {"__name__": "docs_example"})
