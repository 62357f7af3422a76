"""One truth: each business definition and each way into the store exists once.

- the kind lists (销户 + 携出 events, off-net kinds, re-selection kinds) are written only in
  ``schema/enums.py``; every other module imports ``END_EVENTS``, ``OFFNET_KINDS`` or
  ``RESELECTION_KINDS``;
- a DuckDB connection is opened only in ``store/`` (``churnradar.store.connect``);
- the simulator's ground truth (``_truth``) is read only by the simulator and the evaluations.

``PENDING`` lists the files still to be brought in line; remove an entry once its file is.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "churnradar"

#: Files or folders (relative to src/churnradar) not yet checked, with the rule they still break.
PENDING: dict[str, tuple[str, ...]] = {}

#: Pairs of codes that, written together in one literal, are a copy of a list in schema/enums.py.
KIND_PAIRS = (
    ({"deregister", "port_out"}, "END_EVENTS"),
    ({"offnet", "port_out"}, "OFFNET_KINDS"),
    ({"number_reselection", "tariff_reselection"}, "RESELECTION_KINDS"),
)
SQL_LIST = re.compile(r"IN\s*\(\s*'(\w+)'\s*,\s*'(\w+)'", re.IGNORECASE)


def _files(rule: str, skip: tuple[str, ...] = ()) -> list[Path]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if any(rel.startswith(p) for p in skip):
            continue
        if any(rel.startswith(p) and rule in rules for p, rules in PENDING.items()):
            continue
        out.append(path)
    return out


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def kind_literals(source: str) -> list[str]:
    """Literal lists (tuples, lists, sets, SQL ``IN (...)``) that copy a kind list of schema/enums.py."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            codes = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            found += [f"line {node.lineno}: {name}" for pair, name in KIND_PAIRS if pair <= codes]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for m in SQL_LIST.finditer(node.value):
                found += [
                    f"line {node.lineno}: {name}" for pair, name in KIND_PAIRS if pair <= set(m.groups())
                ]
    return found


def duckdb_connects(source: str) -> list[str]:
    return [
        f"line {i}: {line.strip()}"
        for i, line in enumerate(source.splitlines(), 1)
        if re.search(r"\bduckdb\.connect\(|from duckdb import .*\bconnect\b", line)
    ]


def truth_reads(source: str) -> list[str]:
    """String constants naming ``_truth`` that are not docstrings (a docstring may say that ingest
    skips the simulator's ``_truth/`` folder)."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [
        f"line {n.lineno}: {n.value[:60]!r}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and "_truth" in n.value
        and id(n) not in docs
    ]


def test_the_checks_find_what_they_look_for():
    """The detectors themselves: a copied list, a direct connection and a truth path are found."""
    assert kind_literals('x = e.event_type.isin(("deregister", "port_out"))')
    assert kind_literals("ok = kind in ['offnet', 'port_out', 'silent']")
    assert kind_literals("sql = \"WHERE kind IN ('number_reselection', 'tariff_reselection')\"")
    assert not kind_literals('x = e.event_type.isin(END_EVENTS) | (k == "port_out")')
    assert duckdb_connects("con = duckdb.connect(str(path))")
    assert not duckdb_connects("con = connect(path, read_only=True)")
    assert truth_reads('p = out / "_truth" / "churn_truth.parquet"')
    assert not truth_reads('def f():\n    """Skips folders such as ``_truth/``."""\n')


def _offenders(paths: list[Path], find) -> dict[str, list[str]]:
    found = {_rel(p): find(p.read_text(encoding="utf-8")) for p in paths}
    return {k: v for k, v in found.items() if v}


def test_kind_lists_are_imported_from_the_schema():
    bad = _offenders(_files("kinds", skip=("schema/enums.py", "simulate/")), kind_literals)
    assert bad == {}, "these modules write a kind list of churnradar.schema.enums; import it instead"


def test_duckdb_is_opened_only_by_the_store():
    bad = _offenders(_files("duckdb", skip=("store/",)), duckdb_connects)
    assert bad == {}, "these modules open DuckDB themselves; use churnradar.store.connect"


#: The simulator, the evaluations, the simulator's own command (which says where it writes its
#: truth) and the schema's documentation of the truth tables the simulator writes.
TRUTH_ALLOWED = ("simulate/", "evaluate/", "cli/simulate.py", "schema/tables.py")


def test_only_the_simulator_and_the_evaluations_read_the_truth():
    bad = _offenders(_files("truth", skip=TRUTH_ALLOWED), truth_reads)
    assert bad == {}, "these modules read the simulator's _truth; move that to churnradar.evaluate"
