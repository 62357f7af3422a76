"""Fixtures of the model tests: a copy of the small simulated operator with a small model trained."""

from __future__ import annotations

import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Small, fast, deterministic LightGBM settings for tests.
SMALL = {"n_estimators": 40, "num_leaves": 7, "min_child_samples": 20, "num_threads": 1}
AS_OF = "2024-06"

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass
class TrainedStore:
    store: Path
    model_id: str
    result: object
    truth: Path


@pytest.fixture(scope="session")
def trained_store(small_operator, tmp_path_factory) -> TrainedStore:
    """The small operator's store (copied) with a model trained as of 2024-06 and scored.

    Trained once per source hash (``tests.conftest.cached_build``), not once per worker.
    """
    from tests.conftest import WHOLE_PACKAGE, cached_build, params_digest

    def build(folder: Path) -> None:
        from churnradar.models import score_store, train_store

        store = folder / "store.duckdb"
        shutil.copy(small_operator.store, store)
        result = train_store(store, AS_OF, params=SMALL)
        score_store(store, AS_OF)
        (folder / "result.pickle").write_bytes(pickle.dumps(result))

    key = f"trained-{small_operator.subscribers}x{small_operator.months}-s{small_operator.seed}-{AS_OF}"
    cached = cached_build(f"{key}-{params_digest(SMALL)}", build, WHOLE_PACKAGE, also=(Path(__file__),))
    store = tmp_path_factory.mktemp("models") / "store.duckdb"
    shutil.copy(cached / "store.duckdb", store)
    result = pickle.loads((cached / "result.pickle").read_bytes())
    return TrainedStore(store, result.model_id, result, small_operator.truth)


def read_scores(store: Path, as_of: str = AS_OF):
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.sql(f"SELECT * FROM score WHERE as_of = DATE '{as_of}-01' ORDER BY risk_rank").df()
    finally:
        con.close()
