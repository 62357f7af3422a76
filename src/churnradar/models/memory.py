"""Memory budget of ``train`` and ``score``: parse ``--memory``, split it, check it before a stage starts.

A budget is the resident memory the whole process may use. It is split between DuckDB (its
``memory_limit``: the engine spills to disk beyond it) and what the model code holds in Python:
the encoded training rows (float32), LightGBM's binned copy of them and the month being read.
A stage estimates what it needs from the row and feature counts before it starts; when even the
smallest useful amount does not fit, it stops with :class:`MemoryBudgetError` (one line, the
amount needed and what to change) instead of being killed by the kernel half-way.

>>> parse_memory("16GB"), parse_memory("512MiB"), parse_memory("none")  # doctest: +SKIP
(16000000000, 536870912, None)
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from churnradar.errors import ChurnRadarError, ConfigError

#: Share of the machine's memory (or of the container's limit) used when ``--memory`` is not given.
DEFAULT_SHARE = 0.60
#: DuckDB's share of the budget, within these bounds.
DUCKDB_SHARE = 0.30
#: DuckDB's floor: a month's feature query holds every join's and aggregate's table at once, about
#: 360 MiB on one thread and 580 MiB on two however small the operator (measured on a 3,000-line
#: store); DuckDB's own guidance is 1-4 GB per thread. Below the floor, queries fail at random.
DUCKDB_MIN = 2**30
DUCKDB_MAX = 8 * 2**30
#: DuckDB's share of the budget in a stage where it does the work alone (ingest, labels, features):
#: the rest is what it allocates outside its buffer pool and the Arrow batches in flight. Measured
#: on an ingest at 1M lines x 24 months under --memory 8GB (7.45 GiB): 0.75 peaked at 7.67 GiB, over
#: the budget; 0.60 at 6.69 GiB in the same time: DuckDB sits at its limit, the rest is about 2.2 GiB.
DUCKDB_ALONE_SHARE = 0.60

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 2**10,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 2**20,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 2**30,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 2**40,
}
_UNBOUNDED = ("none", "unbounded", "off", "unlimited")


class MemoryBudgetError(ChurnRadarError):
    """A stage would need more memory than its budget allows; raised before the stage starts."""


def total_memory() -> int:
    """Physical memory of the machine, or the container's (cgroup) limit when that is lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return total


def rss_bytes() -> int:
    """Resident memory of this process now (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def peak_rss_bytes() -> int:
    """Highest resident memory of this process so far (VmHWM; 0 where not available)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def format_bytes(n: float) -> str:
    """``1.5 GiB``, ``640 MiB``: binary units, as ``free`` and ``top`` show memory."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}" if abs(n) < 10 * size else f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def parse_memory(text: str | int | float | None) -> int | None:
    """Bytes from ``16GB``, ``16GiB``, ``16g``, ``1.5TB``, ``60%`` (of the machine) or a number of bytes.

    ``none``, ``unbounded``, ``off`` or ``unlimited`` return None (no budget). Decimal units
    (KB, MB, GB, TB; also K, M, G, T) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) powers
    of 1024.
    """
    if text is None:
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text <= 0:
            raise ConfigError(f"memory budget {text} must be positive")
        return int(text)
    s = str(text).strip().lower().replace(" ", "")
    if s in _UNBOUNDED:
        return None
    if s.endswith("%"):
        try:
            share = float(s[:-1]) / 100
        except ValueError:
            share = -1.0
        if not 0 < share <= 1:
            raise ConfigError(f"--memory {text!r}: a share must be between 0% and 100%")
        return int(total_memory() * share)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([a-z]*)", s)
    if not m or m.group(2) not in _UNITS:
        raise ConfigError(f"--memory {text!r} is not a size; expected e.g. 16GB, 16GiB, 512MB, 60% or none")
    value = float(m.group(1)) * _UNITS[m.group(2)]
    if value <= 0:
        raise ConfigError(f"--memory {text!r} must be positive")
    return int(value)


def duckdb_share(total: int) -> int:
    """DuckDB's ``memory_limit`` within a budget of ``total`` bytes."""
    return int(min(max(total * DUCKDB_SHARE, DUCKDB_MIN), DUCKDB_MAX, total / 2))


@dataclass(frozen=True)
class MemoryBudget:
    """``total`` bytes for the process; ``duckdb`` of them are DuckDB's ``memory_limit``."""

    total: int
    duckdb: int
    source: str = "--memory"

    @classmethod
    def resolve(cls, memory: str | int | float | MemoryBudget | None = "default") -> MemoryBudget | None:
        """A budget from ``--memory`` text: ``"default"`` is 60% of the machine; ``none`` is no budget."""
        if isinstance(memory, MemoryBudget):
            return memory
        if isinstance(memory, str) and memory.strip().lower() in ("default", "auto"):
            total = int(total_memory() * DEFAULT_SHARE)
            source = f"default: {DEFAULT_SHARE:.0%} of {format_bytes(total_memory())}"
        else:
            parsed = parse_memory(memory)
            if parsed is None:
                return None
            total, source = parsed, "--memory"
        return cls(total=total, duckdb=duckdb_share(total), source=source)

    @staticmethod
    def total_for(other: int) -> int:
        """The smallest budget that holds ``other`` bytes besides its own DuckDB share."""
        total = other + DUCKDB_MIN
        for _ in range(100):
            nxt = other + duckdb_share(total)
            if abs(nxt - total) < 2**20:
                break
            total = nxt
        return int(max(total, nxt) * 1.01)

    @property
    def duckdb_alone(self) -> int:
        """DuckDB's ``memory_limit`` in a stage where DuckDB does the work alone (no model in memory)."""
        return int(self.total * DUCKDB_ALONE_SHARE)

    def describe(self) -> str:
        return f"{format_bytes(self.total)} ({self.source}; DuckDB {format_bytes(self.duckdb)})"

    def to_dict(self) -> dict[str, Any]:
        return {"total_bytes": self.total, "duckdb_bytes": self.duckdb, "source": self.source}


@contextlib.contextmanager
def duckdb_alone(memory: str | int | float | MemoryBudget | None) -> Iterator[MemoryBudget | None]:
    """Within the block, store connections get :attr:`MemoryBudget.duckdb_alone` of the budget
    ``memory`` (``--memory`` text or a budget; none: DuckDB's default) as DuckDB's ``memory_limit``:
    for a stage DuckDB does alone (labels, features)."""
    from churnradar.store.connection import memory_limit

    budget = MemoryBudget.resolve(memory)
    with memory_limit(budget.duckdb_alone if budget is not None else None):
        yield budget


def apply_duckdb_limit(bk: Any, budget: MemoryBudget | None) -> None:
    """Set DuckDB's ``memory_limit`` on an open DuckDB backend (none without a budget; no-op on Spark)."""
    if getattr(bk, "name", None) != "duckdb":
        return
    if budget is not None:
        from churnradar.store.connection import set_memory_limit

        set_memory_limit(bk.con.con, budget.duckdb)
