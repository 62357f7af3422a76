"""The monthly cycle (月度经分): ingest → labels → features → train when due → score → segments →
target list → metrics and reports → monitoring, as one resumable run (see :mod:`.run`)."""

from churnradar.cycle.monitor import MonitorResult, monitor, psi
from churnradar.cycle.run import STAGES, CycleOptions, CycleResult, StageRun, run_cycle

__all__ = [
    "STAGES",
    "CycleOptions",
    "CycleResult",
    "MonitorResult",
    "StageRun",
    "monitor",
    "psi",
    "run_cycle",
]
