"""The population at T computed two ways (one month at a time from events up to T, and many months
at once from each line's lifespan) is the same set of lines, and reads no later event."""

from __future__ import annotations

from datetime import date

import pytest

from churnradar.metrics.population import lifespans, open_at, population
from churnradar.periods import add_months
from churnradar.store.backends import open_backend


@pytest.fixture(scope="module")
def bk(small_operator):
    b = open_backend(small_operator.store)
    yield b
    b.close()


@pytest.mark.parametrize("k", [0, 3, 6, 11])
def test_population_at_t_equals_the_lines_open_at_the_end_of_t(bk, small_operator, k):
    month = add_months(date.fromisoformat(small_operator.start + "-01"), k)
    one = set(bk.to_pyarrow(population(bk, month)).column(0).to_pylist())
    life = lifespans(bk.table("subscription"), bk.table("status_event"))
    many = set(bk.to_pyarrow(life.filter(open_at(life, month)).select("subscriber_id")).column(0).to_pylist())
    assert one == many and len(one) > 1000


def test_population_reads_no_event_after_t(bk, small_operator):
    month = add_months(date.fromisoformat(small_operator.start + "-01"), 5)
    e = bk.table("status_event")
    before = population(bk, month)
    # drop every event after T: the population at T must not change
    from churnradar.metrics.population import ended_by, in_network, known_at
    from churnradar.periods import month_end_exclusive

    cut = e.filter(e.event_time < month_end_exclusive(month))
    after = in_network(known_at(bk.table("subscription"), month), ended_by(cut, month)).select(
        "subscriber_id"
    )
    assert set(bk.to_pyarrow(before).column(0).to_pylist()) == set(bk.to_pyarrow(after).column(0).to_pylist())
