"""Subscribers and customers as numpy arrays: the initial base, monthly acquisitions and new lines.

One row per subscription (index = position in the arrays, ``subscriber_id`` = ``U`` + index). The
arrays grow as lines are added; nothing is ever removed, a departed line only changes state.
"""

from __future__ import annotations

import numpy as np

from churnradar.simulate.calendar import days_in_month, month_first_day
from churnradar.simulate.config import SimConfig
from churnradar.simulate.world import CHANNEL_TYPES, PACKAGES, PROMO_PACKAGE, World

# Lifecycle states
ACTIVE, ONEWAY, TWOWAY, PREDEREG, DEREG, PORTED = range(6)
# Customer groups (enum order of CUSTOMER_GROUP)
KEY, BUSINESS, MASS, MIGRANT = range(4)
# Departure routes
ROUTE_ARREARS, ROUTE_USER, ROUTE_PORT, ROUTE_FRAUD, ROUTE_RESELECT = range(5)

NO_CONTACT = np.iinfo(np.int64).min
REALISED_ARPU = 1.07
REALISED_USAGE = 1.08
COMP_POOL = 64  # competitor-side people per community

SUB_FIELDS: dict[str, tuple[type, object]] = {
    # static attributes
    "customer": (np.int64, -1),
    "grid": (np.int16, 0),
    "county": (np.int8, 0),
    "community": (np.int32, 0),
    "pkg0": (np.int8, 0),
    "pkg": (np.int8, 0),
    "postpaid": (np.bool_, False),
    "act_mi": (np.int32, 0),
    "act_day": (np.int16, 1),
    "channel": (np.int16, 0),
    "contract_end": (np.int64, -1),  # days since epoch, -1 none
    "subsidy_end": (np.int64, -1),
    "family": (np.int32, -1),
    "handset": (np.int64, 0),
    "dual_comp": (np.int8, -1),
    "arpu": (np.float64, 0.0),
    "mou": (np.float64, 0.0),
    "dou": (np.float64, 0.0),
    "sms": (np.float64, 0.0),
    "dc": (np.float64, 0.0),
    "out_share": (np.float64, 0.5),
    "comp_share": (np.float64, 0.3),
    "days_p": (np.float64, 0.9),
    "frailty": (np.float64, 1.0),
    "recharge_target": (np.float64, 0.0),
    "promo_cohort": (np.bool_, False),
    "fraud_card": (np.bool_, False),
    # state
    "status": (np.int8, ACTIVE),
    "pend_leave": (np.int32, -1),
    "pend_start": (np.int32, -1),
    "pend_cause": (np.int8, -1),
    "pend_reason": (np.int8, -1),
    "pend_route": (np.int8, -1),
    "pend_decay": (np.float64, 1.0),
    "pend_dest": (np.int8, -1),
    "left_mi": (np.int32, -1),
    "left_day": (np.int16, 0),
    "route": (np.int8, -1),
    "dest": (np.int8, -1),
    "pipe_start": (np.int32, -1),
    "pipe_pay": (np.int32, -1),  # month the arrears are paid (-1: never)
    "pipe_churn": (np.bool_, False),
    "successor": (np.int64, -1),
    "silent": (np.bool_, False),
    "decline_start": (np.int32, -1),
    "decline_target": (np.float64, 1.0),
    "downgraded": (np.bool_, False),
    "balance": (np.float64, 0.0),
    "arrears": (np.float64, 0.0),
    "last_bill": (np.float64, 0.0),
    "last_unresolved": (np.int32, -999),
    "treat_until": (np.int32, -1),
    "treat_mult": (np.float64, 1.0),
    "closed_mi": (np.int32, -1),  # month of deregistration or port-out
}

CUST_FIELDS: dict[str, tuple[type, object]] = {
    "group": (np.int8, MASS),
    "ctype": (np.int8, 0),
    "is_local": (np.bool_, True),
    "has_contact": (np.bool_, True),
    "birth_year": (np.int16, 0),  # 0 = unknown
    "gender": (np.int8, -1),  # -1 unknown, 0 F, 1 M
}


class Population:
    """Growable column arrays of subscriptions and of customers."""

    def __init__(self, capacity: int, k: int):
        self.n = 0
        self.nc = 0
        self.k = k
        self.cap = max(capacity, 16)
        self.ccap = max(capacity, 16)
        for name, (dt, fill) in SUB_FIELDS.items():
            setattr(self, name, np.full(self.cap, fill, dtype=dt))
        self.contacts = np.full((self.cap, k), NO_CONTACT, dtype=np.int64)
        for name, (dt, fill) in CUST_FIELDS.items():
            setattr(self, "c_" + name, np.full(self.ccap, fill, dtype=dt))
        self.n_handsets = 0
        self.arpu_scale = 1.0
        # community lookup over the initial base
        self.comm_order = np.zeros(0, dtype=np.int64)
        self.comm_start = np.zeros(0, dtype=np.int64)
        self.comm_size = np.zeros(0, dtype=np.int64)
        self.county_start = np.zeros(0, dtype=np.int64)
        self.county_size = np.zeros(0, dtype=np.int64)
        self.grid_comm_start = np.zeros(0, dtype=np.int64)
        self.grid_comm_count = np.zeros(0, dtype=np.int64)
        self.pool_comp = np.zeros(0, dtype=np.int8)

    def add_subs(self, m: int) -> np.ndarray:
        if self.n + m > self.cap:
            new_cap = max(self.n + m, int(self.cap * 1.25) + 16)
            for name, (dt, fill) in SUB_FIELDS.items():
                old = getattr(self, name)
                arr = np.full(new_cap, fill, dtype=dt)
                arr[: self.n] = old[: self.n]
                setattr(self, name, arr)
            c = np.full((new_cap, self.k), NO_CONTACT, dtype=np.int64)
            c[: self.n] = self.contacts[: self.n]
            self.contacts = c
            self.cap = new_cap
        idx = np.arange(self.n, self.n + m, dtype=np.int64)
        self.n += m
        return idx

    def add_customers(self, m: int) -> np.ndarray:
        if self.nc + m > self.ccap:
            new_cap = max(self.nc + m, int(self.ccap * 1.25) + 16)
            for name, (dt, fill) in CUST_FIELDS.items():
                old = getattr(self, "c_" + name)
                arr = np.full(new_cap, fill, dtype=dt)
                arr[: self.nc] = old[: self.nc]
                setattr(self, "c_" + name, arr)
            self.ccap = new_cap
        idx = np.arange(self.nc, self.nc + m, dtype=np.int64)
        self.nc += m
        return idx

    def new_handsets(self, m: int) -> np.ndarray:
        h = np.arange(self.n_handsets, self.n_handsets + m, dtype=np.int64)
        self.n_handsets += m
        return h

    def group_of(self, subs: np.ndarray) -> np.ndarray:
        return self.c_group[self.customer[subs]]


# ---- attribute draws ------------------------------------------------------------------------------


def _lognormal_mean1(rng: np.random.Generator, sigma: float, n: int) -> np.ndarray:
    return rng.lognormal(-sigma * sigma / 2, sigma, n)


def _choose(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").clip(0, len(p) - 1)


def draw_customers(
    pop: Population,
    rng: np.random.Generator,
    cfg: SimConfig,
    world: World,
    county: np.ndarray,
    migrant_boost: float = 1.0,
) -> np.ndarray:
    """New customers living in ``county``; returns their indices."""
    m = len(county)
    c = pop.add_customers(m)
    heavy = world.county_migrant_heavy[county]
    p_mig = np.where(heavy, cfg.migrant_share_industrial, cfg.migrant_share_other) * migrant_boost
    u = rng.random(m)
    group = np.full(m, MASS, dtype=np.int8)
    group[u < cfg.key_account_share] = KEY
    group[(u >= cfg.key_account_share) & (u < cfg.key_account_share + cfg.business_share)] = BUSINESS
    mig = (group == MASS) & (rng.random(m) < np.clip(p_mig, 0, 1))
    group[mig] = MIGRANT
    pop.c_group[c] = group
    pop.c_ctype[c] = np.where((group <= BUSINESS) & (rng.random(m) < 0.8), 1, 0)
    pop.c_is_local[c] = np.where(group == MIGRANT, rng.random(m) < 0.1, rng.random(m) < 0.93)
    pop.c_has_contact[c] = rng.random(m) < 0.82
    by = np.where(group == MIGRANT, rng.integers(1972, 2006, m), rng.integers(1945, 2008, m))
    by[rng.random(m) < 0.03] = 0
    pop.c_birth_year[c] = by
    g = (rng.random(m) < 0.48).astype(np.int8)
    g[rng.random(m) < 0.02] = -1
    pop.c_gender[c] = g
    return c


def _channel_lookup(world: World) -> np.ndarray:
    """[channel type, county] → a channel of that type in the county, else a city-wide/any one."""
    nt, nc = len(CHANNEL_TYPES), len(world.county_weight)
    table = np.full((nt, nc), -1, dtype=np.int16)
    for t in range(nt):
        of_type = np.flatnonzero(world.channel_type == t)
        for ci in range(nc):
            local = of_type[world.channel_county[of_type] == ci]
            table[t, ci] = local[0] if len(local) else of_type[0]
    return table


def draw_lines(
    pop: Population,
    rng: np.random.Generator,
    cfg: SimConfig,
    world: World,
    subs: np.ndarray,
    mi_now: int,
    new: bool,
    promo_on: bool = False,
) -> None:
    """Draw payment, brand, package, ARPU, usage traits and channel of lines whose customer, grid and
    county are set. ``new``: acquired this month (else part of the initial base)."""
    m = len(subs)
    group = pop.group_of(subs)
    birth = pop.c_birth_year[pop.customer[subs]].astype(np.int64)
    age = np.where(birth > 0, mi_now // 12 - birth, 40)
    # payment type: group-specific postpaid propensity scaled to hit the target prepaid share
    pre_target = cfg.new_prepaid_share if new else cfg.prepaid_share
    base_post = np.array([0.95, 0.8, 0.4, 0.08])[group]
    scale = (1 - pre_target) / max(float(base_post.mean()), 1e-9)
    postpaid = rng.random(m) < np.clip(base_post * scale, 0, 1)
    # brand
    u = rng.random(m)
    brand = np.full(m, 2, dtype=np.int8)  # budget
    premium_p = np.where(group <= BUSINESS, 0.8, np.where(group == MASS, 0.35, 0.05))
    youth_p = np.where(age < 28, 0.7, 0.08)
    brand[postpaid & (u < premium_p)] = 0
    brand[(brand == 2) & (rng.random(m) < youth_p)] = 1
    # packages: candidates of (brand, payment), 5G preference
    is5g_want = rng.random(m) < cfg.fiveg_share
    raw = np.exp(rng.normal(0, cfg.arpu_sigma, m)) * np.array([2.0, 0.8, 0.75])[brand]
    raw *= np.where(postpaid, 1.25, 1.0) * np.where(is5g_want, cfg.arpu_5g_ratio, 1.0)
    if not new:
        # REALISED_* compensate partial months, dips, declines and warning periods so that the
        # billed means of active lines match the calibration targets.
        pop.arpu_scale = cfg.arpu_mean / float(raw.mean()) * REALISED_ARPU
    arpu = raw * pop.arpu_scale
    pkg = np.zeros(m, dtype=np.int8)
    fee = np.array([p[5] for p in PACKAGES])
    p5 = np.array([p[8] for p in PACKAGES])
    pbrand = np.array([["premium", "youth", "budget"].index(p[3]) for p in PACKAGES])
    ppost = np.array([p[4] == "postpaid" for p in PACKAGES])
    regular = ~np.array([p[9] for p in PACKAGES]) & (np.arange(len(PACKAGES)) != 11)
    target_fee = arpu * rng.uniform(0.6, 1.0, m)
    for b in range(3):
        for post in (False, True):
            for want5 in (False, True):
                sel = (brand == b) & (postpaid == post) & (is5g_want == want5)
                if not sel.any():
                    continue
                cand = np.flatnonzero(regular & (pbrand == b) & (ppost == post) & (p5 == want5))
                if len(cand) == 0:
                    cand = np.flatnonzero(regular & (pbrand == b) & (ppost == post))
                if len(cand) == 0:  # e.g. premium prepaid does not exist: fall back to budget
                    cand = np.flatnonzero(regular & (pbrand == 2) & (ppost == post))
                dist = np.abs(np.log(target_fee[sel][:, None]) - np.log(fee[cand][None, :]))
                pkg[sel] = cand[np.argmin(dist, axis=1)]
    keeper = (~postpaid) & (brand == 2) & (rng.random(m) < 0.04)
    pkg[keeper] = 11
    arpu[keeper] *= 0.3
    promo = np.zeros(m, dtype=bool)
    if new and promo_on:
        promo = (
            (~postpaid)
            & (group >= MASS)
            & (rng.random(m) < cfg.promo_acquisition_share / max(pre_target, 1e-9))
        )
        pkg[promo] = PROMO_PACKAGE
        brand[promo] = 2
        arpu[promo] = cfg.promo_fee * rng.lognormal(0.55, 0.35, int(promo.sum()))
    pop.pkg0[subs] = pkg
    pop.pkg[subs] = pkg
    pop.postpaid[subs] = world.pkg_postpaid[pkg]
    pop.arpu[subs] = arpu
    pop.promo_cohort[subs] = promo
    pop.fraud_card[subs] = promo & (rng.random(m) < cfg.promo_fraud_share)
    is5g = world.pkg_5g[pkg]
    # usage traits (means calibrated on the whole base; 5G lines use more data)
    pop.mou[subs] = (
        cfg.mou_mean
        * REALISED_USAGE
        * _lognormal_mean1(rng, cfg.mou_sigma, m)
        * np.where(postpaid, 1.2, 0.88)
    )
    pop.dou[subs] = (
        cfg.dou_gb_mean
        * 1024
        * REALISED_USAGE
        * _lognormal_mean1(rng, cfg.dou_sigma, m)
        * np.where(is5g, 1.25, 0.55)
        * np.where(age < 30, 1.3, 0.9)
    )
    pop.sms[subs] = cfg.sms_mean * _lognormal_mean1(rng, 0.9, m)
    pop.dc[subs] = 22 * _lognormal_mean1(rng, 0.5, m)
    pop.out_share[subs] = rng.beta(5.5, 4.5, m)
    share = float(sum(cfg.competitor_market_share))
    pop.comp_share[subs] = np.clip(share + rng.normal(0, 0.08, m), 0.02, 0.9)
    pop.days_p[subs] = rng.beta(14, 1.2, m)
    pop.frailty[subs] = rng.gamma(cfg.frailty_shape, 1 / cfg.frailty_shape, m)
    pop.recharge_target[subs] = np.where(postpaid, 0.0, arpu * rng.uniform(0.2, 1.5, m))
    pop.balance[subs] = pop.recharge_target[subs] * rng.uniform(0.5, 1.5, m)
    # acquisition channel
    ctype = _choose(rng, [0.45, 0.22, 0.16, 0.12, 0.05], m)
    ctype[(group <= BUSINESS) & (rng.random(m) < 0.6)] = 4  # direct sales
    ctype[(ctype == 4) & (group > BUSINESS)] = 0
    ctype[promo] = np.where(rng.random(int(promo.sum())) < 0.85, 2, 3)
    pop.channel[subs] = _channel_lookup(world)[ctype, pop.county[subs]]
    # dual SIM beside a competitor's SIM
    p_dual = np.where(group == MIGRANT, cfg.dual_sim_share_migrant, cfg.dual_sim_share)
    dual = rng.random(m) < p_dual
    comp = _choose(rng, np.array(cfg.competitor_market_share), m).astype(np.int8)
    pop.dual_comp[subs] = np.where(dual, comp, -1)
    pop.handset[subs] = pop.new_handsets(m)
    # contracts and subsidies (postpaid)
    first = month_first_day(mi_now)
    con = postpaid & (rng.random(m) < cfg.contract_share_postpaid)
    sub = postpaid & (rng.random(m) < cfg.subsidy_share)
    if new:
        act = month_first_day(pop.act_mi[subs]) + pop.act_day[subs] - 1
        pop.contract_end[subs] = np.where(con, act + 730, -1)
        pop.subsidy_end[subs] = np.where(sub, act + 730, -1)
    else:
        pop.contract_end[subs] = np.where(con, first + rng.integers(-30, 900, m), -1)
        pop.subsidy_end[subs] = np.where(sub, first + rng.integers(-30, 900, m), -1)


def init_base(pop: Population, rng: np.random.Generator, cfg: SimConfig, world: World, n: int) -> None:
    """The active base at the first simulated month (burn-in included)."""
    t0 = world.first_mi
    county = _choose(rng, world.county_weight, n).astype(np.int8)
    grids_of = [np.flatnonzero(world.grid_county == c) for c in range(len(world.county_weight))]
    grid = np.zeros(n, dtype=np.int16)
    for c, gs in enumerate(grids_of):
        sel = county == c
        w = rng.dirichlet(np.full(len(gs), 4.0))
        grid[sel] = gs[_choose(rng, w, int(sel.sum()))]
    subs = pop.add_subs(n)
    extra = rng.random(n) < cfg.multi_line_share
    extra[0] = False
    primaries = np.flatnonzero(~extra)
    cust = draw_customers(pop, rng, cfg, world, county[primaries])
    pop.customer[primaries] = cust
    ex = np.flatnonzero(extra)
    host = primaries[rng.integers(0, len(primaries), len(ex))]
    pop.customer[ex] = pop.customer[host]
    county[ex] = county[host]
    grid[ex] = grid[host]
    pop.county[subs] = county
    pop.grid[subs] = grid
    # tenure before the first month
    group = pop.group_of(subs)
    mean_tenure = np.where(group <= BUSINESS, 70.0, np.where(group == MIGRANT, 18.0, 40.0))
    tenure = 1 + np.minimum(rng.exponential(mean_tenure), 239).astype(np.int32)
    pop.act_mi[subs] = t0 - tenure
    pop.act_day[subs] = 1 + (rng.random(n) * days_in_month(t0 - tenure)).astype(np.int16)
    draw_lines(pop, rng, cfg, world, subs, t0, new=False)
    pop.postpaid[subs] = world.pkg_postpaid[pop.pkg[subs]]
    build_communities(pop, rng, cfg, world, subs)


def build_communities(
    pop: Population, rng: np.random.Generator, cfg: SimConfig, world: World, subs: np.ndarray
) -> None:
    """Calling communities inside grids, family groups, and each line's call-circle contacts."""
    n = len(subs)
    grid = pop.grid[subs].astype(np.int64)
    order = np.lexsort((rng.random(n), grid))  # by grid (grids are numbered county by county)
    g_sorted = grid[order]
    g_counts = np.bincount(g_sorted, minlength=world.n_grids)
    g_start = np.concatenate([[0], np.cumsum(g_counts)[:-1]])
    rank_in_grid = np.arange(n) - g_start[g_sorted]
    n_comm_grid = np.maximum(1, g_counts // cfg.community_size)
    comm_off = np.concatenate([[0], np.cumsum(n_comm_grid)[:-1]])
    comm_sorted = comm_off[g_sorted] + np.minimum(
        rank_in_grid * n_comm_grid[g_sorted] // np.maximum(g_counts[g_sorted], 1), n_comm_grid[g_sorted] - 1
    )
    pop.community[subs[order]] = comm_sorted
    n_comm = int(n_comm_grid.sum())
    pop.comm_order = subs[order]
    cc = np.bincount(comm_sorted, minlength=n_comm)
    pop.comm_size = cc
    pop.comm_start = np.concatenate([[0], np.cumsum(cc)[:-1]])
    county_sorted = world.grid_county[g_sorted]
    kc = np.bincount(county_sorted, minlength=len(world.county_weight))
    pop.county_size = kc
    pop.county_start = np.concatenate([[0], np.cumsum(kc)[:-1]])
    pop.grid_comm_start = comm_off
    pop.grid_comm_count = n_comm_grid
    shares = np.array(cfg.competitor_market_share)
    pop.pool_comp = _choose(rng, shares, n_comm * COMP_POOL).astype(np.int8)
    # family groups: consecutive flagged members of a community, sizes 2–4
    flagged = rng.random(n) < cfg.family_share
    fam_members = subs[order][flagged]
    sizes = rng.integers(2, 5, len(fam_members) // 2 + 1)
    fam_id = np.repeat(np.arange(len(sizes)), sizes)[: len(fam_members)]
    counts = np.bincount(fam_id)
    single = counts[fam_id] < 2
    pop.family[fam_members[~single]] = fam_id[~single]
    pop.n_families = len(sizes)
    draw_contacts(pop, rng, cfg, subs)
    # a family member is the first contact
    fam_sorted = subs[order][flagged][~single]
    fid = fam_id[~single]
    nxt = np.roll(fam_sorted, -1)
    same = np.roll(fid, -1) == fid
    partner = np.where(same, nxt, np.roll(fam_sorted, 1))
    pop.contacts[fam_sorted, 0] = partner
    dedupe_contacts(pop, fam_sorted)


def draw_contacts(pop: Population, rng: np.random.Generator, cfg: SimConfig, subs: np.ndarray) -> None:
    """Fill the call-circle slots of ``subs`` from their community, county and competitor pool."""
    m, k = len(subs), pop.k
    comm = pop.community[subs].astype(np.int64)
    county = pop.county[subs].astype(np.int64)
    kind = _choose(rng, np.array(cfg.contact_mix), m * k).reshape(m, k)
    u = rng.random((m, k))
    in_comm = pop.comm_order[
        pop.comm_start[comm][:, None] + (u * pop.comm_size[comm][:, None]).astype(np.int64)
    ]
    in_county = pop.comm_order[
        pop.county_start[county][:, None] + (u * pop.county_size[county][:, None]).astype(np.int64)
    ]
    pool = -1 - (comm[:, None] * COMP_POOL + (u * COMP_POOL).astype(np.int64))
    c = np.where(kind == 0, in_comm, np.where(kind == 1, in_county, pool))
    pop.contacts[subs] = c
    dedupe_contacts(pop, subs)


def dedupe_contacts(pop: Population, subs: np.ndarray) -> None:
    c = pop.contacts[subs]
    c = np.where(c == subs[:, None], NO_CONTACT, c)
    # keep slot order (slot 0 = strongest tie) but blank repeated contacts
    srt = np.sort(c, axis=1)
    dup_vals = np.where(srt[:, 1:] == srt[:, :-1], srt[:, 1:], NO_CONTACT)
    for j in range(c.shape[1]):
        col = c[:, j]
        is_dup = (dup_vals == col[:, None]).any(axis=1) & (col != NO_CONTACT)
        first = np.argmax(c == col[:, None], axis=1) == j
        c[:, j] = np.where(is_dup & ~first, NO_CONTACT, col)
    pop.contacts[subs] = c


def acquire(
    pop: Population, rng: np.random.Generator, cfg: SimConfig, world: World, mi: int, m: int
) -> np.ndarray:
    """``m`` new lines activated in month ``mi`` (new customers)."""
    promo_on = mi >= world.promo_launch_mi
    county = _choose(rng, world.county_weight, m).astype(np.int8)
    migrant_boost = 1.0
    if (mi - 1) in world.sf_months and mi not in world.sf_months:
        migrant_boost = 1.6  # migrants come back after the festival and buy new cards
    subs = pop.add_subs(m)
    pop.customer[subs] = draw_customers(pop, rng, cfg, world, county, migrant_boost)
    pop.county[subs] = county
    gc = world.grid_county
    for c in range(len(world.county_weight)):
        sel = np.flatnonzero(county == c)
        gs = np.flatnonzero(gc == c)
        pop.grid[subs[sel]] = gs[rng.integers(0, len(gs), len(sel))]
    pop.act_mi[subs] = mi
    pop.act_day[subs] = 1 + (rng.random(m) * days_in_month(mi)).astype(np.int16)
    draw_lines(pop, rng, cfg, world, subs, mi, new=True, promo_on=promo_on)
    assign_community(pop, rng, cfg, subs)
    return subs


def assign_community(pop: Population, rng: np.random.Generator, cfg: SimConfig, subs: np.ndarray) -> None:
    g = pop.grid[subs].astype(np.int64)
    pop.community[subs] = pop.grid_comm_start[g] + (rng.random(len(subs)) * pop.grid_comm_count[g]).astype(
        np.int64
    )
    draw_contacts(pop, rng, cfg, subs)
