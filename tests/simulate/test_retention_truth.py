"""The retention truth follows the simulator's month order: each month's decisions and departures
happen before its campaign. Checked against a Monte Carlo run of that order."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from churnradar.simulate.config import SimConfig
from churnradar.simulate.retention import true_response


def monte_carlo(pend_leave, h, effect, mi, f, lag_p, decided, offer, rng):
    """Left by the end of month mi + f − 1? One draw per line, months run as the engine runs them:
    decide (hazard × (1 − effect) while treated), leave when due, then the campaign in month mi."""
    n = len(pend_leave)
    pl = pend_leave.copy()
    left = np.zeros(n, dtype=bool)
    treated = np.zeros(n, dtype=bool)
    for m in range(mi, mi + f):
        if m > mi or not decided:
            free = (pl < 0) & ~left
            rate = np.where(treated, h * (1 - effect), h)
            new = free & (rng.random(n) < rate)
            pl[new] = m + rng.choice(len(lag_p), size=int(new.sum()), p=lag_p)
        due = (pl == m) & ~left
        left |= due
        if m == mi and offer:
            treated = ~left
            talked_out = treated & (pl > m) & (rng.random(n) < max(effect, 0.0))
            pl[talked_out] = -1
    return left


@pytest.mark.parametrize("decided", [True, False])
@pytest.mark.parametrize("effect", [0.3, -0.2])
def test_truth_matches_the_month_order(decided, effect):
    cfg = SimConfig()
    f, lag_p, mi = cfg.campaign_followup_months, np.asarray(cfg.warning_lag_probs), 5
    n = 400_000
    rng = np.random.default_rng(0)
    # free lines, and pending leavers due in each month around the window
    pend = np.where(rng.random(n) < 0.8, -1, rng.integers(mi + (1 if decided else 0), mi + f + 2, n))
    h = np.full(n, 0.06)
    pop = SimpleNamespace(pend_leave=pend)
    subs = np.arange(n)
    p0, uplift = true_response(pop, cfg, subs, mi, h, np.full((n, 1), effect), decided=decided)
    base = monte_carlo(pend, h, effect, mi, f, lag_p, decided, False, rng)
    with_offer = monte_carlo(pend, h, effect, mi, f, lag_p, decided, True, rng)
    for group in (pend < 0, pend >= 0):
        se = np.sqrt(2 * base[group].mean() / group.sum()) + 1e-4
        assert p0[group].mean() == pytest.approx(base[group].mean(), abs=4 * se)
        assert uplift[group, 0].mean() == pytest.approx(
            base[group].mean() - with_offer[group].mean(), abs=6 * se
        )
