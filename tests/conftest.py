"""Shared fixtures: small simulated operators, built once and cached on disk by (size, seed, source)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TEST_KEY = "churnradar-test-key-not-secret"


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


def source_hash() -> str:
    """Digest of the simulator's, ingest's and store's source and of the library versions they use."""
    import importlib.metadata as md

    import churnradar

    pkg = Path(churnradar.__file__).parent
    h = hashlib.sha256()
    for name in _BUILD_SOURCES:
        base = pkg / name
        for f in sorted(base.rglob("*.py")) if base.is_dir() else [base]:
            h.update(str(f.relative_to(pkg)).encode())
            h.update(f.read_bytes())
    for dist in ("duckdb", "pyarrow", "numpy", "pandas"):
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


def cached_build(key: str, build: Callable[[Path], None]) -> Path:
    """The folder ``build(folder)`` fills, built once per ``key`` and source hash and kept on disk.

    Callers copy what they need out of it: tests write into their operator (labels, scores), and the
    cached original must stay as built.
    """
    final = CACHE_ROOT / f"{key}-{source_hash()}"
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

    cfg = "" if config is None else "-" + hashlib.sha256(repr(config).encode()).hexdigest()[:10]
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


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup reads the groups
def pytest_collection_modifyitems(config, items):
    """Tests that start Apache Spark (marked ``spark`` or run with the ``spark`` backend) share one
    worker under ``--dist loadgroup``: one JVM per run instead of one per worker."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("spark") or "spark" in params.values():
            item.add_marker(pytest.mark.xdist_group("spark"))


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
