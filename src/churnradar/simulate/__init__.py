"""The operator simulator: a fictional prefecture-level operator whose churn follows explicit,
seeded, documented rules, written as the canonical tables plus a ground-truth table.

>>> from churnradar.simulate import simulate
>>> result = simulate(subscribers=2_000, months=12, seed=1, out="sim")  # doctest: +SKIP

See ``docs/simulator.md`` for every mechanism, its parameters and their sources.
"""

from churnradar.simulate.config import SimConfig, parameter_table
from churnradar.simulate.engine import SimResult, simulate
from churnradar.simulate.mechanisms import MECHANISMS, Mechanism

__all__ = ["MECHANISMS", "Mechanism", "SimConfig", "SimResult", "parameter_table", "simulate"]
