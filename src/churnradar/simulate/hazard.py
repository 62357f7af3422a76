"""The monthly off-net churn hazard as a sum of named components (competing risks).

Each column of the hazard matrix is one mechanism of :data:`HAZARD_MECHS`. A subscriber churns in a
month with probability ``min(sum, 0.95)``; the cause is drawn with probability proportional to each
component, so every churn has one true mechanism.
"""

from __future__ import annotations

import numpy as np

from churnradar.simulate.calendar import month_of_day
from churnradar.simulate.config import SimConfig
from churnradar.simulate.mechanisms import HAZARD_MECHS
from churnradar.simulate.population import MIGRANT, NO_CONTACT, Population
from churnradar.simulate.world import World

H = {name: i for i, name in enumerate(HAZARD_MECHS)}


def baseline_hazard(pop: Population, cfg: SimConfig, subs: np.ndarray, mi: int) -> np.ndarray:
    """Baseline hazard: payment type × tenure × group × family × dual SIM × value decline × frailty."""
    tenure = mi - pop.act_mi[subs]
    h = np.where(
        pop.postpaid[subs], cfg.base_hazard_prepaid / cfg.prepaid_postpaid_ratio, cfg.base_hazard_prepaid
    )
    h = h * np.where(
        tenure < 3, cfg.early_tenure_multiplier, np.where(tenure >= 36, cfg.long_tenure_multiplier, 1.0)
    )
    h = h * np.asarray(cfg.group_multipliers)[pop.group_of(subs)]
    h = h * np.where(pop.family[subs] >= 0, cfg.family_multiplier, 1.0)
    h = h * np.where(pop.dual_comp[subs] >= 0, cfg.dual_sim_multiplier, 1.0)
    h = h * np.where(pop.decline_start[subs] >= 0, 1.5, 1.0)
    return h * pop.frailty[subs]


def contacts_left_share(pop: Population, subs: np.ndarray, mi: int, memory: int = 3) -> np.ndarray:
    """Share of a subscriber's own-network contacts who left in the ``memory`` months before ``mi``."""
    c = pop.contacts[subs]
    own = c >= 0
    peer = np.where(own, c, 0)
    lm = pop.left_mi[peer]
    gone = own & (lm >= mi - memory) & (lm < mi) & (lm >= 0)
    n_own = own.sum(axis=1)
    return np.where(n_own > 0, gone.sum(axis=1) / np.maximum(n_own, 1), 0.0)


def hazard_matrix(pop: Population, cfg: SimConfig, world: World, subs: np.ndarray, mi: int) -> np.ndarray:
    """(len(subs), len(HAZARD_MECHS)) matrix of monthly hazard components."""
    m = len(subs)
    out = np.zeros((m, len(HAZARD_MECHS)))
    base = baseline_hazard(pop, cfg, subs, mi)
    out[:, H["baseline"]] = base
    tenure = mi - pop.act_mi[subs]
    promo = pop.promo_cohort[subs]
    fraud = pop.fraud_card[subs]
    out[:, H["promotion_burn"]] = np.where(
        promo & ~fraud & (tenure >= 3) & (tenure <= 8), cfg.promo_burn_hazard, 0.0
    )
    out[:, H["promotion_commission_fraud"]] = np.where(fraud & (tenure >= 3) & (tenure <= 4), 0.6, 0.0)
    pushing = world.pushing(mi)
    if pushing:
        in_push = np.isin(pop.county[subs], list(pushing))
        out[:, H["competitor_push"]] = np.where(in_push, cfg.push_excess_hazard, 0.0)
    launching = world.launching(mi)
    if launching:
        in_launch = np.isin(pop.county[subs], list(launching))
        out[:, H["competitor_push"]] += np.where(in_launch, cfg.launch_excess_hazard, 0.0)
    out[:, H["network_blackspot"]] = cfg.blackspot_excess_hazard * world.bad(mi)[pop.grid[subs]]
    since = mi - pop.last_unresolved[subs]
    out[:, H["unresolved_complaint"]] = np.where(
        (since >= 1) & (since <= 3), cfg.complaint_excess_hazard, 0.0
    )
    for col, end in (("contract_expiry", pop.contract_end[subs]), ("subsidy_expiry", pop.subsidy_end[subs])):
        end_mi = np.where(end >= 0, month_of_day(np.maximum(end, 0)), -99)
        out[:, H[col]] = np.where((end_mi == mi) | (end_mi == mi - 1), cfg.contract_excess_hazard, 0.0)
    if cfg.social_excess_per_share > 0:
        out[:, H["social_contagion"]] = cfg.social_excess_per_share * contacts_left_share(pop, subs, mi)
    # postpaid lines are stickier against every push factor too (prepaid ≈2–3× postpaid churn)
    pay = np.where(pop.postpaid[subs], 1 / np.sqrt(cfg.prepaid_postpaid_ratio), 1.0)
    for name in ("competitor_push", "network_blackspot", "unresolved_complaint", "social_contagion"):
        out[:, H[name]] *= pay
    if mi in world.sf_months:
        # the whole hazard of migrant customers and second SIMs is multiplied in the festival months
        seasonal = (pop.group_of(subs) == MIGRANT) | (pop.dual_comp[subs] >= 0)
        others = out.sum(axis=1)
        out[:, H["spring_festival_migrant"]] = np.where(
            seasonal, others * (cfg.spring_festival_multiplier - 1), 0
        )
    treated = pop.treat_until[subs] >= mi
    if treated.any():
        out[treated] *= pop.treat_mult[subs[treated]][:, None]
    return out


def draw_causes(rng: np.random.Generator, hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which rows churn this month, and the index of the cause for those that do."""
    total = hz.sum(axis=1)
    fire = rng.random(len(total)) < np.minimum(total, 0.95)
    rows = np.flatnonzero(fire)
    cum = np.cumsum(hz[rows], axis=1)
    v = rng.random(len(rows)) * cum[:, -1]
    cause = (cum < v[:, None]).sum(axis=1).clip(0, hz.shape[1] - 1)
    return rows, cause


__all__ = ["NO_CONTACT", "H", "baseline_hazard", "contacts_left_share", "draw_causes", "hazard_matrix"]
