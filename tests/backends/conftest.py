"""Backends suite: the same expressions on DuckDB and on Spark (local[2]) over the same data.

``backend_name`` is parametrised over ``duckdb`` and ``spark`` (marked ``spark``, and ``ci``: the
Spark runs are CI's ``-m ci`` stage; ``python -m pytest -m ci`` runs them by hand); ``open_on``
opens a store on the current backend. DuckDB reads the store file itself; Spark reads its Parquet
export (``store.backends.open_backend``). One Spark session serves the whole test session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from churnradar.features.synthetic import SyntheticOperator, write_store

#: Spark's runs start a JVM and take two minutes between them on two cores: they run in CI's
#: ``-m ci`` stage (with the cycle's and the scoring's Spark parity), not in the default suite
BACKEND_PARAMS = [
    "duckdb",
    pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow, pytest.mark.ci]),
]


@pytest.fixture(scope="session")
def spark_session():
    """The process-wide Spark session (local[2]); skipped, with the reason, when PySpark is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the install
        pytest.skip("PySpark is not installed: pip install 'ibis-framework[duckdb,pyspark]==12.*'")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from churnradar.store.backends import spark_session as start

    return start("local[2]")


@pytest.fixture(params=BACKEND_PARAMS)
def backend_name(request) -> str:
    if request.param == "spark":
        request.getfixturevalue("spark_session")
    return request.param


@pytest.fixture
def open_on(backend_name):
    """``open_on(store)`` → a Backend for the store on the current backend."""
    from churnradar.store.backends import open_backend

    opened = []

    def _open(store: Path):
        be = open_backend(store, backend_name)
        opened.append(be)
        return be

    yield _open
    for be in opened:
        be.close()


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory) -> Path:
    """3,000 random canonical-shaped subscribers × 12 months from 2024-01 (features.synthetic)."""
    path = tmp_path_factory.mktemp("backends_synthetic") / "store.duckdb"
    return write_store(SyntheticOperator(subscribers=3_000, months=12, seed=7), path)


@pytest.fixture(scope="session")
def handmade_store(tmp_path_factory) -> Path:
    from handmade import build_handmade_store

    return build_handmade_store(tmp_path_factory.mktemp("handmade") / "store.duckdb")


def _simulator_missing() -> str | None:
    try:
        from churnradar.ingest import ingest  # noqa: F401
        from churnradar.simulate import simulate  # noqa: F401
    except ImportError as exc:
        return f"the simulator or ingest is not available yet ({exc})"
    return None


@pytest.fixture(scope="session")
def operator_store(request) -> Path:
    """The simulated 3,000 × 12 operator (tests/conftest.py); the synthetic one until the simulator lands."""
    reason = _simulator_missing()
    if reason:
        import warnings

        warnings.warn(f"feature parity runs on synthetic data: {reason}", stacklevel=1)
        return request.getfixturevalue("synthetic_store")
    return request.getfixturevalue("small_operator").store


@pytest.fixture(scope="session")
def parquet_export(tmp_path_factory):
    """``parquet_export(store)`` → a folder with the store's tables as Parquet (made once per store)."""
    from churnradar.store.backends import export_parquet

    made: dict[Path, Path] = {}

    def _export(store: Path) -> Path:
        if store not in made:
            made[store] = export_parquet(store, tmp_path_factory.mktemp("parquet"))
        return made[store]

    return _export
