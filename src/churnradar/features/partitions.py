"""Computing a feature set in subscriber-hash partitions, so its memory is bounded by a budget.

Every feature is a value per subscriber, and nearly every node aggregates one subscriber's rows
(usage, bills, recharges, calls made), so the feature table of T is the union of the feature
tables of disjoint sets of subscribers: partition ``i`` of ``n`` reads only the rows of the
subscribers whose ``hash(subscriber_id) % n == i``, and its hash tables are about ``1/n`` the
size. The few nodes whose values count *other* subscribers' rows (lines per number, members
per family group, subscriptions per handset or customer) are declared
``@node(across_subscribers=True)``: they are computed once over every subscriber and every
partition reads them. A partitioned snapshot equals the unpartitioned one
(``tests/features/test_partitions.py``).

:func:`partitions_for` picks ``n`` from the store's size and DuckDB's ``memory_limit``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import ibis.expr.types as ir

from churnradar.errors import ConfigError
from churnradar.features.registry import Node

KEY = "subscriber_id"

#: DuckDB memory a feature computation of the core set holds per subscription in the store (bytes),
#: from what one query needed (its memory_limit plus what it spilled) on two threads: about 3.4 KB on
#: the simulated operator at 1M x 24 (4.47 GiB + 0.95 GiB spilled, 1.69 M subscriptions) and 5 KB
#: on the synthetic one at 10M x 12 (16 GB + 34 GiB, a denser call graph); planned above both.
BYTES_PER_SUBSCRIPTION = 6_000
#: Share of DuckDB's ``memory_limit`` a partition plans to use (the rest: the result being
#: inserted, the shared nodes, DuckDB's own buffers).
PLAN_SHARE = 0.6
#: At most this many partitions (each one scans the subscriber tables again).
MAX_PARTITIONS = 64


@dataclass(frozen=True)
class Partition:
    """Subscribers whose ``hash(subscriber_id) % count == index``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigError(
                f"partition {self.index} of {self.count}: expected 0 <= index < count, count >= 1"
            )

    def filter(self, table: ir.Table) -> ir.Table:
        """``table``'s rows of this partition's subscribers (tables without a subscriber: all rows)."""
        if self.count == 1 or KEY not in table.columns:
            return table
        # a hash may be signed (Ibis reads DuckDB's as int64): the remainder is taken non-negative
        rest = table[KEY].hash() % self.count
        return table.filter((rest + self.count) % self.count == self.index)


def partitions_for(subscriptions: int, memory_limit: int | None) -> int:
    """How many partitions keep a feature computation over ``subscriptions`` within DuckDB's
    ``memory_limit`` (bytes; None: unbounded, one partition)."""
    if memory_limit is None or subscriptions <= 0:
        return 1
    need = subscriptions * BYTES_PER_SUBSCRIPTION
    return max(1, min(MAX_PARTITIONS, math.ceil(need / (memory_limit * PLAN_SHARE))))


def check_partitions(n: int | None) -> int | None:
    """``--partitions`` as given: None (choose from the memory budget) or a whole number ≥ 1."""
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_PARTITIONS:
        raise ConfigError(f"partitions {n!r}: expected a whole number from 1 to {MAX_PARTITIONS}")
    return n


def shared_nodes(wanted: Iterable[str], nodes: dict[str, Node], alias: Callable[[str], str]) -> list[str]:
    """The across-subscriber nodes a partitioned computation of ``wanted`` reads directly (not
    those only other across-subscriber nodes read), in dependency order."""
    seen: set[str] = set()
    out: list[str] = []

    def visit(name: str) -> None:
        name = alias(name)
        if name in seen or name not in nodes:
            return
        seen.add(name)
        if nodes[name].across_subscribers:
            out.append(name)
            return
        for p in nodes[name].params:
            visit(p)

    for w in wanted:
        visit(w)
    return out


__all__ = ["BYTES_PER_SUBSCRIPTION", "Partition", "check_partitions", "partitions_for", "shared_nodes"]
