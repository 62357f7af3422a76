"""The web API holds no SQL and opens no DuckDB connection: it calls the library's read views."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import churnradar

SRC = Path(churnradar.__file__).parent
API = SRC / "api"
#: none: auth.py builds its queries with SQLAlchemy Core over the operational store's tables
NOT_CHECKED: set[Path] = set()

#: SQL in a string: a keyword in capitals, or a raw SQL call of SQLAlchemy, DuckDB or Ibis
SQL = re.compile(r"\b(SELECT|FROM|JOIN|WHERE|GROUP BY|ORDER BY|INSERT|UPDATE|DELETE)\b")
SQL_CALLS = re.compile(r"\b(sa|sqlalchemy)\.text\(|(?<![\w.])text\(|\.raw_sql\(|\.execute\(\s*f?[\"']")


def sql_in(source: str) -> list[str]:
    """The SQL found in a module's source: string constants with SQL keywords, raw SQL calls."""
    found = [m.group(0) for m in SQL_CALLS.finditer(source)]
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found += [f"{m.group(0)} in {node.value[:60]!r}" for m in SQL.finditer(node.value)]
    return found


def test_the_sql_check_finds_sql():
    assert sql_in('q = "SELECT a FROM t"\n')
    assert sql_in('con.execute(f"DELETE FROM {t}")\n')
    assert sql_in("conn.execute(sa.text(x))\n")
    assert sql_in("bk.con.raw_sql(x)\n")
    assert not sql_in('"""Rows FROM the store are selected here."""\nx = "regions"\n')


def test_no_sql_in_the_api():
    found = {
        str(p.relative_to(SRC)): hits
        for p in sorted(API.rglob("*.py"))
        if p not in NOT_CHECKED and (hits := sql_in(p.read_text(encoding="utf-8")))
    }
    assert not found, f"SQL in the web API (read through churnradar.views instead): {found}"


def test_no_duckdb_connection_opened_by_the_api_or_the_views():
    """The API, the read views and ``churnradar serve`` open the store through
    churnradar.store.connect only."""
    paths = [*API.rglob("*.py"), *(SRC / "views").rglob("*.py"), SRC / "cli" / "serve.py"]
    found = [str(p.relative_to(SRC)) for p in paths if "duckdb.connect" in p.read_text(encoding="utf-8")]
    assert not found, f"DuckDB opened outside churnradar.store (call churnradar.store.connect): {found}"


def test_no_route_imports_the_app():
    """The app includes the routes; no route module imports the app back."""
    found = []
    for p in (API / "routes").rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [f"{p.name}: {n}" for n in names if n == "churnradar.api.app"]
    assert not found
