"""The randomised retention campaign, the customer survey and marketing consent.

Campaign: in month ``campaign_offset`` the operator targets the ``campaign_share`` of active lines
with the highest *operator-visible* risk (the true hazard seen through noise), randomises them into a
control group and three offers, reaches some treated lines (with consent on the offer's channel),
and records accepted/retained outcomes. The true effect: a reached line's hazard is multiplied by
``1 − offer_effect`` for the follow-up window, and the same chance talks a pending leaver out of it.

Survey: ratings follow the drivers — black-spot grids rate data and call quality lower, recent
unresolved complaints lower the service rating, pending leavers give lower NPS and name an
alternative operator more often (the pushing competitor in pushed counties).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from churnradar.simulate.calendar import days_in_month, month_first_day
from churnradar.simulate.config import SimConfig
from churnradar.simulate.hazard import hazard_matrix
from churnradar.simulate.lifecycle import DAY, Lifecycle
from churnradar.simulate.population import ACTIVE, BUSINESS, Population, _choose
from churnradar.simulate.records import InteractionBuffer
from churnradar.simulate.world import World

CONTACT_CHANNELS = ("sms", "outbound_call", "app_push", "account_manager", "store")
CONSENT_P = (0.85, 0.7, 0.6, 0.9, 0.95)
#: (offer_id, kind, channel, cost, description)
OFFERS = (
    (
        "OF01",
        "tariff_discount",
        "outbound_call",
        60.0,
        "套餐费8折，连续6个月 / 20% off the package for 6 months",
    ),
    ("OF02", "data_bonus", "sms", 15.0, "每月赠送10GB流量，连续3个月 / 10 GB data per month for 3 months"),
    ("OF03", "family_vnet", "account_manager", 30.0, "免费加入家庭V网 / free family V-net membership"),
)


@dataclass
class CampaignLog:
    campaign_mi: int = -1
    contact: dict[str, np.ndarray] = field(default_factory=dict)
    outcome: dict[str, np.ndarray] = field(default_factory=dict)


def consent_arrays(
    pop: Population, rng: np.random.Generator, last_mi: int, lo: int, hi: int
) -> dict[str, np.ndarray]:
    """Consent rows of lines ``lo`` to ``hi − 1``: SMS, outbound call and app push for every line;
    account manager for key accounts and business customers."""
    subs = np.arange(lo, hi, dtype=np.int64)
    biz = pop.group_of(subs) <= BUSINESS
    rows_sub, rows_chan = [], []
    for ci in range(4):
        s = subs if ci < 3 else subs[biz]
        rows_sub.append(s)
        rows_chan.append(np.full(len(s), ci, dtype=np.int8))
    sub = np.concatenate(rows_sub)
    chan = np.concatenate(rows_chan)
    order = np.lexsort((chan, sub))
    sub, chan = sub[order], chan[order]
    k = len(sub)
    allowed = rng.random(k) < np.array(CONSENT_P)[chan]
    act = month_first_day(pop.act_mi[sub]) + pop.act_day[sub] - 1
    end = int(month_first_day(last_mi)) + int(days_in_month(last_mi)) - 1
    later = rng.random(k) < 0.3  # updated after activation
    upd = act + (rng.random(k) * np.maximum(end - act, 0) * later).astype(np.int64)
    t = upd * DAY + 9 * 3600 + rng.integers(0, 10 * 3600, k)
    return {"sub": sub, "channel": chan, "allowed": allowed, "time": t}


def allowed_lookup(parts: list[dict[str, np.ndarray]], n: int) -> np.ndarray:
    """(n, 5) bool: may we contact line i on channel j."""
    out = np.zeros((n, len(CONTACT_CHANNELS)), dtype=bool)
    for c in parts:
        out[c["sub"], c["channel"]] = c["allowed"]
    return out


def run_campaign(
    pop: Population,
    cfg: SimConfig,
    world: World,
    rng: np.random.Generator,
    life: Lifecycle,
    mi: int,
    allowed: np.ndarray,
    interactions: InteractionBuffer,
    log: CampaignLog,
) -> None:
    """Select, randomise and contact; set the true treatment effect on reached lines."""
    n = pop.n
    active = np.flatnonzero(
        (pop.status[:n] == ACTIVE) & (pop.left_mi[:n] < 0) & (pop.act_mi[:n] < mi) & ~pop.silent[:n]
    )
    if len(active) == 0:
        return
    hz = hazard_matrix(pop, cfg, world, active, mi).sum(axis=1)
    pending = pop.pend_leave[active] >= 0
    score = np.log(hz + 1e-6) + np.where(pending, 1.0, 0.0) + rng.normal(0, 1.0, len(active))
    k = max(1, round(cfg.campaign_share * len(active)))
    target = np.sort(active[np.argsort(-score, kind="stable")[:k]])
    arm = np.where(rng.random(k) < cfg.campaign_control_share, -1, rng.integers(0, len(OFFERS), k))
    dim = int(days_in_month(mi))
    first = int(month_first_day(mi))
    assigned_day = first + rng.integers(0, 3, k)
    chan_idx = np.array([CONTACT_CHANNELS.index(o[2]) for o in OFFERS])
    consent = np.where(arm >= 0, allowed[target, chan_idx[np.clip(arm, 0, None)]], False)
    contacted = (arm >= 0) & consent & (rng.random(k) < cfg.campaign_reach)
    contact_day = assigned_day + 1 + rng.integers(0, max(dim - 6, 1), k)
    contact_time = contact_day * DAY + 9 * 3600 + rng.integers(0, 9 * 3600, k)
    accepted = contacted & (rng.random(k) < cfg.campaign_accept)
    effect = np.where(contacted, np.array(cfg.offer_effects)[np.clip(arm, 0, None)], 0.0)
    reached = target[contacted]
    pop.treat_until[reached] = mi + cfg.campaign_followup_months - 1
    pop.treat_mult[reached] = 1 - effect[contacted]
    life.retention_cancel(reached, effect[contacted])
    # retention contacts are interactions too
    interactions.add(
        reached,
        contact_time[contacted],
        "retention_contact",
        np.array([0, 2, 1])[arm[contacted]],
        5,
        accepted[contacted],
    )
    log.campaign_mi = mi
    log.contact = {
        "sub": target,
        "arm": arm,
        "assigned_day": assigned_day,
        "contacted": contacted,
        "contact_time": contact_time,
        "accepted": accepted,
    }


def campaign_outcomes(
    pop: Population, cfg: SimConfig, world: World, rng: np.random.Generator, log: CampaignLog
) -> None:
    """Outcome rows of reached lines: retained = not left by the end of the follow-up window (null
    when the window ends after the simulated period); about 90% verified by call-back."""
    if log.campaign_mi < 0:
        return
    c = log.contact
    idx = np.flatnonzero(c["contacted"])
    end_mi = log.campaign_mi + cfg.campaign_followup_months - 1
    subs = c["sub"][idx]
    lm = pop.left_mi[subs]
    retained = (lm < 0) | (lm > end_mi)
    known = end_mi <= world.last_mi
    log.outcome = {
        "contact_idx": idx,
        "time": c["contact_time"][idx] + rng.integers(1, 6, len(idx)) * DAY,
        "accepted": c["accepted"][idx],
        "retained": retained,
        "retained_null": np.full(len(idx), not known),
        "verified": rng.random(len(idx)) < 0.9,
    }


def survey_arrays(
    pop: Population, cfg: SimConfig, world: World, rng: np.random.Generator, mi: int
) -> dict[str, np.ndarray]:
    n = pop.n
    active = np.flatnonzero((pop.status[:n] == ACTIVE) & (pop.left_mi[:n] < 0) & (pop.act_mi[:n] < mi))
    k = round(cfg.survey_share * len(active))
    subs = np.sort(rng.choice(active, size=min(k, len(active)), replace=False)) if k else active[:0]
    m = len(subs)
    bad = world.bad(mi)[pop.grid[subs]]
    pending = pop.pend_leave[subs] >= 0
    unresolved = (mi - pop.last_unresolved[subs]) <= 6
    fee = world.pkg_fee[pop.pkg[subs]]

    def rate(mean):
        return np.clip(np.round(mean + rng.normal(0, 1.3, m)), 1, 10).astype(np.int64)

    data = rate(8.2 - 5.0 * bad - 0.8 * pending)
    call = rate(8.4 - 4.0 * bad - 0.5 * pending)
    price = rate(7.2 - 0.012 * (fee - 40) - 1.0 * pending)
    plan = rate(7.4 - 0.6 * pending - 0.8 * pop.promo_cohort[subs])
    service = rate(8.0 - 2.5 * unresolved - 0.6 * pending)
    imp = {
        name: np.clip(np.round(rng.normal(mu, 1.5, m)), 1, 10).astype(np.int64)
        for name, mu in (("data", 8.0), ("call", 7.0), ("price", 7.5), ("plan", 6.0), ("service", 6.5))
    }
    w = {key: imp[key] / 10.0 for key in imp}
    score = (
        w["data"] * data + w["call"] * call + w["price"] * price + w["plan"] * plan + w["service"] * service
    ) / sum(w.values())
    nps = np.clip(np.round(1.25 * (score - 8) + 8 - 2.0 * pending + rng.normal(0, 1.2, m)), 0, 10).astype(
        np.int64
    )
    push = world.push_boost(mi)[pop.county[subs]]
    p_alt = np.clip(0.3 + 0.3 * push + 0.3 * pending + 0.2 * (pop.dual_comp[subs] >= 0), 0, 0.95)
    has_alt = rng.random(m) < p_alt
    pushing = world.pushing(mi)
    alt = np.where(
        pop.dual_comp[subs] >= 0, pop.dual_comp[subs], _choose(rng, np.array(cfg.competitor_market_share), m)
    )
    in_push = np.array([int(c) in pushing for c in pop.county[subs]], dtype=bool)
    if in_push.any():
        alt[in_push] = np.array([pushing[int(c)] for c in pop.county[subs[in_push]]])
    alt = np.where(has_alt, alt, -1)
    day = int(month_first_day(mi)) + rng.integers(0, int(days_in_month(mi)), m)
    return {
        "sub": subs,
        "day": day,
        "nps": nps,
        "data": data,
        "call": call,
        "price": price,
        "plan": plan,
        "service": service,
        **{f"imp_{k}": v for k, v in imp.items()},
        "has_alt": has_alt,
        "alt": alt,
    }
