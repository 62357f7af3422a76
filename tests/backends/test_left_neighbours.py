"""Neighbours who just left (``left_neighbours_3m``): closed, ported out, or suspended and not back."""

from __future__ import annotations

import pytest
from handmade import AS_OF

from churnradar.features import compute_features


@pytest.fixture
def rows(backend_name, open_on, handmade_store) -> dict[str, dict]:
    cols = ["subscriber_id", "left_neighbours_3m", "left_neighbour_share_3m", "churned_neighbours_6m"]
    t = compute_features(open_on(handmade_store), AS_OF).select(*cols).to_pyarrow()
    return {r["subscriber_id"]: r for r in t.to_pylist()}


def test_a_suspended_neighbour_counts_as_left_before_it_is_deregistered(rows):
    a = rows["A"]
    # A called our numbers B, C, D in T-5..T: B deregistered in T-1; D suspended (two-way) in T with
    # no reactivation by the end of T; C ports out only after T
    assert a["left_neighbours_3m"] == 2
    assert a["left_neighbour_share_3m"] == pytest.approx(2 / 3, rel=1e-12)
    # the deregistration-only count sees B alone
    assert a["churned_neighbours_6m"] == 1


def test_no_called_numbers_gives_zero_and_no_share(rows):
    d = rows["D"]
    assert d["left_neighbours_3m"] == 0
    assert d["left_neighbour_share_3m"] is None
