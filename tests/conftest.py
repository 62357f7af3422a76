"""Shared fixtures: small simulated operators, built once and cached on disk by (size, seed, source)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TEST_KEY = "churnradar-test-key-not-secret"

# Spark's Python workers (the scoring test's mapInArrow) run this interpreter, whichever test starts
# the one Spark session of a worker, rather than the first `python3` on the PATH
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@dataclass(frozen=True)
class SimulatedOperator:
    """A simulated operator on disk: raw files, ground truth and the ingested store."""

    data_dir: Path
    store: Path
    truth: Path
    subscribers: int
    months: int
    start: str
    seed: int


#: where built test operators are kept between runs (and shared by the parallel workers of one run)
CACHE_ROOT = Path(
    os.environ.get("CHURNRADAR_TEST_CACHE", Path(__file__).resolve().parents[1] / ".cache" / "operators")
)

#: the code an operator's files and store depend on: a change to any of it rebuilds the operator
_BUILD_SOURCES = ("simulate", "ingest", "schema", "store", "periods.py", "errors.py")
#: the whole package, for what trained models, scores and cycles depend on (nearly every part of it)
WHOLE_PACKAGE = ("",)
_DISTS = ("duckdb", "pyarrow", "numpy", "pandas")
_MODEL_DISTS = (*_DISTS, "ibis-framework", "lightgbm", "numba", "scikit-learn", "scipy")


def source_hash(sources: tuple[str, ...] = _BUILD_SOURCES) -> str:
    """Digest of the package's ``sources`` (folders or files; ``WHOLE_PACKAGE``: its Python and TOML
    files) and of the library versions they use."""
    import importlib.metadata as md

    import churnradar

    pkg = Path(churnradar.__file__).parent
    whole = sources == WHOLE_PACKAGE
    h = hashlib.sha256()
    for name in sources:
        base = pkg / name
        if base.is_dir():
            files = sorted(
                f for pattern in ("*.py", "*.toml") if whole or pattern == "*.py" for f in base.rglob(pattern)
            )
        else:
            files = [base]
        for f in files:
            h.update(str(f.relative_to(pkg)).encode())
            h.update(f.read_bytes())
    for dist in _MODEL_DISTS if whole else _DISTS:
        h.update(f"{dist}={md.version(dist)}".encode())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # the parallel workers of one run wait for the first builder
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cached_build(
    key: str,
    build: Callable[[Path], None],
    sources: tuple[str, ...] = _BUILD_SOURCES,
    also: tuple[Path, ...] = (),
) -> Path:
    """The folder ``build(folder)`` fills, built once per ``key`` and hash of ``sources`` (the
    package's parts it depends on; ``WHOLE_PACKAGE`` for anything that trains or scores a model) and
    of the files ``also`` (the test module holding ``build``), kept on disk: the parallel workers of
    a run (and later runs) build it once.

    Callers copy what they need out of it: tests write into their operator (labels, scores), and the
    cached original must stay as built.
    """
    digest = source_hash(sources)
    if also:
        h = hashlib.sha256(digest.encode())
        for f in also:
            h.update(Path(f).read_bytes())
        digest = h.hexdigest()[:16]
    final = CACHE_ROOT / f"{key}-{digest}"
    with _locked(CACHE_ROOT / f"{final.name}.lock"):
        if not (final / ".complete").exists():
            shutil.rmtree(final, ignore_errors=True)
            work = CACHE_ROOT / f"{final.name}.building-{os.getpid()}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            build(work)
            (work / ".complete").write_text(key)
            work.rename(final)
    return final


def params_digest(value: Any) -> str:
    """A short digest of ``repr(value)``, for cache keys of fixtures built with settings."""
    return hashlib.sha256(repr(value).encode()).hexdigest()[:10]


def build_operator(
    root: Path,
    subscribers: int,
    months: int,
    seed: int,
    start: str = "2024-01",
    config: Any = None,
) -> SimulatedOperator:
    """A simulated operator (Parquet files, truth and ingested store) in ``root``: simulated and
    ingested once per (size, seed, start, simulator config, source hash) and copied from the cache."""
    from churnradar.ingest import ingest
    from churnradar.simulate import simulate

    def build(folder: Path) -> None:
        kwargs = {} if config is None else {"config": config}
        simulate(
            subscribers=subscribers,
            months=months,
            seed=seed,
            out=folder / "data",
            fmt="parquet",
            start=start,
            **kwargs,
        )
        ingest([folder / "data"], store=folder / "store.duckdb", key=TEST_KEY)

    cfg = "" if config is None else "-" + params_digest(config)
    cached = cached_build(f"op-{subscribers}x{months}-s{seed}-{start}{cfg}", build)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(cached / "data", root / "data", dirs_exist_ok=True)
    shutil.copy(cached / "store.duckdb", root / "store.duckdb")
    data = root / "data"
    return SimulatedOperator(
        data, root / "store.duckdb", data / "_truth" / "churn_truth.parquet", subscribers, months, start, seed
    )


@pytest.fixture(scope="session")
def small_operator(tmp_path_factory) -> SimulatedOperator:
    """3,000 subscribers × 12 months from 2024-01 (seed 11), simulated and ingested once."""
    return build_operator(tmp_path_factory.mktemp("small_operator"), subscribers=3_000, months=12, seed=11)


@pytest.fixture(scope="session")
def chromium_args() -> list[str]:
    """Command-line flags for Debian's headless chromium in the browser tests (SETUP-NOTES)."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]


def is_spark_test(item: pytest.Item) -> bool:
    """A test that starts Apache Spark: marked ``spark``, or run with the ``spark`` backend."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return item.get_closest_marker("spark") is not None or "spark" in params.values()


def _shares_module_fixture(item: pytest.Item) -> bool:
    """Whether the test uses a module- or class-scoped fixture (built once per module and worker)."""
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.values() if info is not None else ()
    return any(fd[-1].scope in ("module", "class") for fd in defs if fd)


def _module_id(item: pytest.Item) -> str:
    module = item.getparent(pytest.Module)
    return module.nodeid if module is not None else item.nodeid.split("::")[0]


@pytest.hookimpl(wrapper=True)  # around every other hook, xdist's included
def pytest_collection_modifyitems(config, items):
    """Groups for xdist's ``--dist loadgroup`` (pyproject's addopts), each run by one worker:

    - ``spark``: the tests that start Apache Spark (one JVM per run instead of one per worker), and
      the tests sharing a module-scoped fixture with one of them;
    - the module's id: the other tests of a module that share a module- or class-scoped fixture
      (the fixture is built once, not once per worker: the cycle, the backtests, the reports' scopes).

    The controller groups tests by the ``@<group>`` suffix of the node ids the workers report.
    pytest-xdist (3.8) writes it to ``item._nodeid``, which pytest 9 no longer reads (the id is
    ``item._id``, a ``NodeId``), so each Spark test was scheduled on its own and both workers
    started a JVM. The ``xdist_group`` markers are added before xdist's hook reads them, and the
    suffix is set after it when xdist's did not take.
    """
    spark_modules = {_module_id(item) for item in items if is_spark_test(item)}
    # the modules grouped with Spark, deselected Spark tests (``-m``) included: test_spark_group reads it
    config.spark_modules = frozenset(spark_modules)
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue  # grouped by its author
        if is_spark_test(item):
            item.add_marker(pytest.mark.xdist_group("spark"))
        elif _shares_module_fixture(item):
            module = _module_id(item)
            item.add_marker(pytest.mark.xdist_group("spark" if module in spark_modules else module))
    result = yield
    if getattr(config.option, "loadgroup", False):  # set on xdist's workers only
        for item in items:
            _set_group_suffix(item)
    return result


def _set_group_suffix(item: pytest.Item) -> None:
    groups = {
        str(m.args[0] if m.args else m.kwargs.get("name", "default"))
        for m in item.iter_markers("xdist_group")
    }
    if not groups:
        return
    suffix = "@" + "_".join(sorted(groups))
    if item.nodeid.endswith(suffix):
        return  # set by xdist (pytest < 9)
    node_id = getattr(item, "_id", None)
    if node_id is None:  # pragma: no cover - pytest < 9, where xdist's own suffix takes
        item._nodeid = item.nodeid + suffix
    else:
        item._id = type(node_id).parse(item.nodeid + suffix)


def postgres_database(url: str, prefix: str) -> str:
    """A fresh database named ``prefix_<random>`` on the test PostgreSQL server; returns its URL."""
    import psycopg
    import sqlalchemy as sa

    base = sa.engine.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(
        host=base.host,
        port=base.port,
        user=base.username,
        password=base.password,
        dbname=base.database or "postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False)
