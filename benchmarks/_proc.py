"""What the benchmarks share about the processes they run: the command line of ``churnradar``,
the memory available, and a process tree's members, resident bytes and CPU seconds (from /proc)."""

from __future__ import annotations

import os
import sys


def churnradar(*args: str) -> list[str]:
    """The command line running ``churnradar ARGS`` with this interpreter."""
    return [sys.executable, "-c", "from churnradar.cli import _console_main; _console_main()", *args]


def mem_available_gib() -> float:
    """The kernel's estimate of memory available to a new process, in GiB."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return float("inf")


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return out


def rss(pids: list[int]) -> int:
    """Resident bytes of the processes ``pids`` (those that have exited count 0)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError):
            continue
    return total


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants."""
    return rss(tree(pid))


def cpu(pids: list[int]) -> float:
    """CPU seconds (user + system, with reaped children's) of the processes so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        except (OSError, ValueError, IndexError):
            continue
    return total / tick
