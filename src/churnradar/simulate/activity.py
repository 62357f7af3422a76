"""Monthly activity of every line on the books: usage, bill, balance and recharges, complaints and
inquiries, and the call graph.

Early-warning signals come from the *activity factor* of a line: 1 for a loyal line, decaying by a
per-churner factor each month of the warning period before leaving (some churners show no decay),
lower in value decline, 0 when silent or gone. Loyal lines have random dips too, so a fall in usage
is evidence, not proof. Prepaid churners stop recharging and run their balance down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churnradar.simulate.calendar import days_in_month, month_first_day
from churnradar.simulate.config import SimConfig
from churnradar.simulate.identifiers import competitor_msisdn, imei_numbers, own_msisdn
from churnradar.simulate.lifecycle import DAY
from churnradar.simulate.mechanisms import HAZARD_MECHS, MECH_INDEX, MECHANISMS
from churnradar.simulate.population import (
    ACTIVE,
    COMP_POOL,
    NO_CONTACT,
    ONEWAY,
    PORTED,
    ROUTE_ARREARS,
    ROUTE_FRAUD,
    TWOWAY,
    Population,
    _choose,
)
from churnradar.simulate.records import INTERACTION_CHANNELS, INTERACTION_TOPICS, InteractionBuffer
from churnradar.simulate.world import World

_SLOT_P = np.array([0.95, 0.85, 0.72, 0.6, 0.5, 0.42, 0.36, 0.3, 0.26, 0.22] + [0.2] * 10)
_SLOT_W = np.array([1.0, 0.8, 0.6, 0.45, 0.35, 0.28, 0.24, 0.2, 0.18, 0.16] + [0.15] * 10)
_QUALITY = np.array([MECHANISMS[MECH_INDEX[m]].driver == "quality" for m in HAZARD_MECHS])
_MECH_QUALITY = np.array([m.driver == "quality" for m in MECHANISMS])
_MECH_PRICE = np.array([m.driver == "price" for m in MECHANISMS])
_MECH_BOUND = np.array([m.competitor_bound for m in MECHANISMS])
TOPIC = {t: i for i, t in enumerate(INTERACTION_TOPICS)}
CHAN = {c: i for i, c in enumerate(INTERACTION_CHANNELS)}


@dataclass
class Keys:
    """Seeded constants of the fictional identifiers."""

    msisdn_mult: int
    msisdn_off: int
    comp_mult: int
    comp_off: int
    imei_mult: int
    imei_off: int
    cert_mult: int
    cert_off: int


@dataclass
class MonthActivity:
    """Columns of one month (index arrays and values), ready for the writers."""

    subs: np.ndarray
    usage: dict[str, np.ndarray]
    billing: dict[str, np.ndarray]
    edges: dict[str, np.ndarray] | None


def on_book(pop: Population, mi: int) -> np.ndarray:
    n = pop.n
    return np.flatnonzero((pop.act_mi[:n] <= mi) & ((pop.closed_mi[:n] < 0) | (pop.closed_mi[:n] == mi)))


def activity_factor(
    pop: Population, cfg: SimConfig, rng: np.random.Generator, subs: np.ndarray, mi: int
) -> tuple[np.ndarray, np.ndarray]:
    """(activity factor, share of the month on the books) of ``subs``."""
    dim = float(days_in_month(mi))
    m = len(subs)
    start_day = np.where(pop.act_mi[subs] == mi, pop.act_day[subs], 1).astype(float)
    end_day = np.where(pop.left_mi[subs] == mi, pop.left_day[subs], dim).astype(float)
    frac = np.clip((end_day - start_day + 1) / dim, 1 / dim, 1.0)
    a = frac.copy()
    gone = (pop.left_mi[subs] >= 0) & (pop.left_mi[subs] < mi)
    # warning period (and the month of leaving): decay per month since the decision
    ps = pop.pend_start[subs]
    warn = (ps >= 0) & (ps <= mi) & ((pop.pend_leave[subs] > mi) | (pop.left_mi[subs] == mi))
    a = np.where(warn, a * pop.pend_decay[subs] ** (mi - ps + 1), a)
    ds = pop.decline_start[subs]
    ramp = np.clip((mi - ds + 1) / 2.0, 0, 1)
    a = np.where(ds >= 0, a * (1 - ramp * (1 - pop.decline_target[subs])), a)
    st = pop.status[subs]
    temp = (pop.pipe_start[subs] >= 0) & ~pop.pipe_churn[subs]
    a = np.where(temp & (st == ONEWAY), a * 0.5, a)
    a = np.where(temp & (st == TWOWAY), a * 0.3, a)
    a = np.where(temp & (st == ACTIVE) & (pop.pipe_start[subs] == mi), a * 0.6, a)
    a = np.where(pop.fraud_card[subs], a * 0.05, a)
    dip = rng.random(m) < cfg.dip_prob
    a = np.where(dip, a * rng.uniform(0.2, 0.6, m), a)
    a = np.where(gone | pop.silent[subs], 0.0, a)
    return a, frac


def month_activity(
    pop: Population,
    cfg: SimConfig,
    world: World,
    rng: np.random.Generator,
    keys: Keys,
    mi: int,
    interactions: InteractionBuffer,
    write: bool,
) -> MonthActivity:
    """Advance balances and complaints for month ``mi``; build the usage/billing/edge columns."""
    subs = on_book(pop, mi)
    m = len(subs)
    dim = int(days_in_month(mi))
    a, frac = activity_factor(pop, cfg, rng, subs, mi)
    years = (mi - world.start_mi - 5.5) / 12.0  # trends anchored mid first year
    noise = rng.lognormal(0, 0.12, m)  # common monthly factor of a line

    def ln(n_):
        return rng.lognormal(-(cfg.month_noise_sigma**2) / 2, cfg.month_noise_sigma, n_)

    # ---- bill, balance and recharges -----------------------------------------------------------
    pkg = pop.pkg[subs]
    fee = world.pkg_fee[pkg]
    post = pop.postpaid[subs]
    rev = pop.arpu[subs] * a**0.8 * noise * ln(m)
    rev = np.where(a > 0, rev, 0.0)
    prev_bal = pop.balance[subs]
    prev_arr = pop.arrears[subs]
    leaving_unpaid = (pop.left_mi[subs] == mi) & np.isin(pop.route[subs], (ROUTE_ARREARS, ROUTE_FRAUD))
    temp_start = (pop.pipe_start[subs] == mi) & ~pop.pipe_churn[subs]
    unpaid_now = leaving_unpaid | temp_start
    rev = np.where(
        unpaid_now, np.maximum(rev, np.where(post, rev, prev_bal) + fee * rng.uniform(0.2, 1.0, m)), rev
    )
    in_pipe = (pop.pipe_start[subs] >= 0) & (pop.pipe_start[subs] < mi) & (pop.status[subs] != ACTIVE)
    gone = (pop.left_mi[subs] >= 0) & (pop.left_mi[subs] < mi)
    paying_back = (pop.pipe_pay[subs] == mi) | (temp_start & (pop.status[subs] == ACTIVE))
    ps = pop.pend_start[subs]
    warn = (ps >= 0) & (ps <= mi) & (pop.pend_leave[subs] > mi)
    # prepaid: top up to a personal target balance; in the warning period top-ups shrink
    need = rev + pop.recharge_target[subs] - prev_bal
    topup = np.where(need > 0, np.ceil(need / 10.0) * 10.0, 0.0)
    topup = np.where(warn, np.floor(topup * a**1.5 / 10.0) * 10.0, topup)
    topup = np.where(paying_back, topup + prev_arr, topup)
    topup = np.where(unpaid_now & ~paying_back, 0.0, topup)
    topup = np.where(gone | in_pipe & ~paying_back | pop.silent[subs], 0.0, topup)
    bal = prev_bal + topup - rev
    pre_balance = np.maximum(bal, 0.0)
    pre_arrears = np.where(paying_back, 0.0, prev_arr) + np.maximum(-bal, 0.0)
    # postpaid: pay last month's bill unless leaving or in the pipeline
    post_pay = np.where(unpaid_now | in_pipe | gone, 0.0, pop.last_bill[subs])
    post_pay = np.where(paying_back, prev_arr + pop.last_bill[subs], post_pay)
    post_arrears = np.where(paying_back, 0.0, prev_arr) + np.where(unpaid_now, rev, 0.0)
    recharge = np.where(post, post_pay, topup)
    balance = np.where(post, 0.0, pre_balance)
    arrears = np.where(post, post_arrears, pre_arrears)
    rc = np.where(recharge > 0, np.where(post, 1, 1 + rng.binomial(2, 0.3, m)), 0)
    rc = np.where(warn & (rc > 1), 1, rc)
    pop.balance[subs] = balance
    pop.arrears[subs] = arrears
    pop.last_bill[subs] = np.where(unpaid_now, 0.0, rev)
    overage = np.maximum(rev - fee, 0.0)

    # ---- complaints and inquiries (also during burn-in: they feed the hazard) -----------------
    _interactions(pop, cfg, world, rng, subs, a, mi, dim, interactions)

    if not write:
        return MonthActivity(subs, {}, {}, None)

    # ---- usage ---------------------------------------------------------------------------------
    trend_mou = (1 + cfg.mou_trend_per_year) ** years
    trend_sms = (1 + cfg.sms_trend_per_year) ** years
    feb = cfg.february_data_factor if mi % 12 == 1 else 1.0
    st = pop.status[subs]
    voice = pop.mou[subs] * a * trend_mou * noise * ln(m)
    out_share = np.where(st == ONEWAY, 0.0, pop.out_share[subs])
    voice_out = voice * out_share
    voice_in = voice - voice_out
    data = np.where(st == ONEWAY, 0.0, pop.dou[subs] * a * feb * noise * ln(m))
    if world.launches:  # part of the usage moves to the competitor's SIM in a launch county
        kept = 1.0 - cfg.launch_usage_cut * world.launch_on(mi)[pop.county[subs]]
        voice, voice_out, voice_in, data = voice * kept, voice_out * kept, voice_in * kept, data * kept
    sms = rng.poisson(pop.sms[subs] * a * trend_sms)
    days_on = np.maximum(np.round(frac * dim), 1).astype(np.int64)
    active_days = np.where(
        a > 0, rng.binomial(days_on, np.clip(pop.days_p[subs] * np.minimum(a / frac, 1) ** 0.5, 0, 1)), 0
    )
    voice = np.where(active_days > 0, voice, 0.0)
    voice_out = np.where(active_days > 0, voice_out, 0.0)
    voice_in = np.where(active_days > 0, voice_in, 0.0)
    data = np.where(active_days > 0, data, 0.0)
    sms = np.where(active_days > 0, sms, 0)

    edges, n_edges, own_min, comp_min_e = _edges(pop, cfg, world, rng, keys, subs, a, voice, mi)
    rest = voice - own_min - comp_min_e
    push = world.push_boost(mi)[pop.county[subs]] * cfg.push_share_boost
    if world.launches:
        push = push + world.launch_on(mi)[pop.county[subs]] * cfg.launch_share_boost
    pend = pop.pend_cause[subs]
    bound = (ps >= 0) & (ps <= mi) & _MECH_BOUND[np.clip(pend, 0, None)] & (pend >= 0)
    pend_boost = np.where(bound, 0.1 * (mi - ps + 1), 0.0)
    cs = np.clip(pop.comp_share[subs] + push + pend_boost, 0.0, 0.85)
    offnet = rest * 0.12
    comp_min = comp_min_e + rest * cs
    onnet = own_min + rest * (0.88 - cs)
    dc = n_edges + rng.poisson(pop.dc[subs] * np.minimum(a, 1) ** 0.7)
    dc = np.where(active_days > 0, dc, 0)
    # handsets: occasionally a new one
    change = (a > 0) & (rng.random(m) < 0.012)
    pop.handset[subs[change]] = pop.new_handsets(int(change.sum()))
    imei = imei_numbers(pop.handset[subs], keys.imei_mult, keys.imei_off)
    usage = {
        "voice_out_min": voice_out,
        "voice_in_min": voice_in,
        "onnet_min": onnet,
        "offnet_min": offnet,
        "competitor_min": comp_min,
        "sms_count": sms,
        "data_mb": data,
        "active_days": active_days,
        "distinct_contacts": dc,
        "imei": imei,
        "imei_null": active_days == 0,
        "second_sim": pop.dual_comp[subs],
    }
    billing = {
        "package": pkg,
        "revenue": rev,
        "arrears": arrears,
        "balance": balance,
        "recharge_count": rc,
        "recharge_amount": recharge,
        "overage": overage,
    }
    return MonthActivity(subs, usage, billing, edges)


def _interactions(pop, cfg, world, rng, subs, a, mi, dim, buf: InteractionBuffer) -> None:
    m = len(subs)
    alive = (a > 0) | (pop.status[subs] == ONEWAY)
    bad = world.bad(mi)[pop.grid[subs]]
    ps = pop.pend_start[subs]
    pend = pop.pend_cause[subs]
    warn = (ps >= 0) & (ps <= mi) & (pend >= 0)
    pq = warn & _MECH_QUALITY[np.clip(pend, 0, None)]
    pp = warn & _MECH_PRICE[np.clip(pend, 0, None)]
    # topic probabilities: network, billing, service, price, package, handset
    p_net = cfg.complaint_rate * 0.3 + cfg.complaint_blackspot_rate * bad + np.where(pq, 0.12, 0.0)
    p_bill = cfg.complaint_rate * 0.3 + np.where(pop.arrears[subs] > 0, 0.02, 0.0)
    p_serv = cfg.complaint_rate * 0.2 + np.where(pq, 0.04, 0.0)
    p_price = cfg.complaint_rate * 0.2 + np.where(pp, 0.04, 0.0)
    probs = np.stack([p_net, p_bill, p_serv, p_price], axis=1) * alive[:, None]
    cum = np.cumsum(probs, axis=1)
    u = rng.random(m)
    which = (cum < u[:, None]).sum(axis=1)
    has = which < 4
    who = subs[has]
    topic = np.array([TOPIC["network"], TOPIC["billing"], TOPIC["service"], TOPIC["price"]])[which[has]]
    k = len(who)
    p_res = np.where(
        topic == TOPIC["network"],
        cfg.complaint_resolved_prob * (1 - 0.5 * bad[has]),
        cfg.complaint_resolved_prob,
    )
    resolved = rng.random(k) < p_res
    chan = _choose(rng, np.array([0.6, 0.15, 0.2, 0.05]), k)
    chan = np.where(
        ~resolved & (mi - pop.last_unresolved[who] <= 3) & (rng.random(k) < 0.3), CHAN["regulator"], chan
    )
    pop.last_unresolved[who[~resolved]] = mi
    day = _day_on_book(pop, rng, who, mi, dim)
    t = (int(month_first_day(mi)) + day - 1) * DAY + 8 * 3600 + rng.integers(0, 13 * 3600, k)
    buf.add(who, t, "complaint", chan, topic, resolved)
    # inquiries
    inq = alive & (rng.random(m) < cfg.inquiry_rate)
    who = subs[inq]
    k = len(who)
    topic = np.array([TOPIC["package"], TOPIC["billing"], TOPIC["other"], TOPIC["handset"], TOPIC["price"]])[
        _choose(rng, np.array([0.35, 0.25, 0.2, 0.1, 0.1]), k)
    ]
    chan = _choose(rng, np.array([0.5, 0.2, 0.3]), k)
    day = _day_on_book(pop, rng, who, mi, dim)
    t = (int(month_first_day(mi)) + day - 1) * DAY + 8 * 3600 + rng.integers(0, 13 * 3600, k)
    buf.add(who, t, "inquiry", chan, topic, rng.random(k) < 0.95)


def _day_on_book(pop, rng, who, mi, dim) -> np.ndarray:
    lo = np.where(pop.act_mi[who] == mi, pop.act_day[who], 1).astype(np.int64)
    hi = np.where(pop.left_mi[who] == mi, pop.left_day[who], dim).astype(np.int64)
    hi = np.maximum(hi, lo)
    return lo + (rng.random(len(who)) * (hi - lo + 1)).astype(np.int64)


def _edges(pop, cfg, world, rng, keys: Keys, subs, a, voice, mi):
    """Call-graph rows of the month and the minutes they carry to own and competitor numbers."""
    m, k = len(subs), pop.k
    c = pop.contacts[subs]
    live = (a > 0) & (voice > 0)
    p_act = _SLOT_P[:k][None, :] * np.minimum(a, 1)[:, None] ** 0.3
    active = (c != NO_CONTACT) & live[:, None] & (rng.random((m, k)) < p_act)
    own = c >= 0
    peer = np.where(own, c, 0)
    for _ in range(4):  # follow re-selection to the same person's new number
        nxt = pop.successor[peer]
        switch = own & (nxt >= 0) & (pop.left_mi[peer] < mi) & (pop.left_mi[peer] >= 0)
        if not switch.any():
            break
        peer = np.where(switch, nxt, peer)
    lm = pop.left_mi[peer]
    left_before = own & (lm >= 0) & (lm < mi)
    ported = left_before & (pop.status[peer] == PORTED)
    moved = left_before & ~ported  # left: now on a competitor's new number
    active &= ~(own & pop.silent[peer])
    person = np.where(own, 0, -1 - c)
    person = np.where(c == NO_CONTACT, 0, person)
    n_pool = len(pop.pool_comp)
    comp_of_pool = pop.pool_comp[np.clip(person, 0, n_pool - 1)]
    operator = np.where(
        own, np.where(left_before, pop.dest[peer].astype(np.int64) + 1, 0), comp_of_pool.astype(np.int64) + 1
    )
    number = np.where(
        own & ~moved,
        own_msisdn(peer, keys.msisdn_mult, keys.msisdn_off),
        competitor_msisdn(np.where(moved, n_pool + peer, person), keys.comp_mult, keys.comp_off),
    )
    w = _SLOT_W[:k][None, :] * rng.lognormal(0, 0.5, (m, k)) * active
    total_w = w.sum(axis=1) + 1.2
    minutes = voice[:, None] * w / total_w[:, None]
    own_op = operator == 0
    own_min = (minutes * own_op).sum(axis=1)
    comp_min = (minutes * ~own_op).sum(axis=1)
    rows, cols = np.nonzero(active)
    mins = minutes[rows, cols]
    calls = 1 + rng.poisson(mins / 3.0)
    edges = {
        "sub": subs[rows],
        "peer_msisdn": number[rows, cols],
        "peer_operator": operator[rows, cols],
        "calls": calls,
        "minutes": mins,
    }
    n_edges = active.sum(axis=1)
    return edges, n_edges, own_min, comp_min


__all__ = ["COMP_POOL", "Keys", "MonthActivity", "month_activity", "on_book"]
