"""The randomised retention campaign, the customer survey and marketing consent.

Campaigns: in each month of ``campaign_offsets`` the operator targets the ``campaign_share`` of
active lines with the highest *operator-visible* risk (the true hazard seen through noise),
randomises them into a control group and three offers, reaches some treated lines (with consent on
the offer's channel), and records accepted/retained outcomes. The true effect is each line's own:
``offer_effects`` shifted by segment modifiers (prepaid, heavy data use, family V-net, high ARPU) and
a fixed per-line deviation, sometimes negative. A reached line's hazard is multiplied by
``1 − effect`` for the follow-up window, and the same chance talks a pending leaver out of it. The
true effects, the no-offer churn probability and the resulting uplift are written to
``_truth/retention_truth`` for every campaign member and, for targeting, for every open line in the
month after the data.

Survey: ratings follow the drivers — black-spot grids rate data and call quality lower, recent
unresolved complaints lower the service rating, pending leavers give lower NPS and name an
alternative operator more often (the pushing competitor in pushed counties). NPS weights each
rating by the stated importance (``NPS_IMPORTANCE_MEANS`` gives the true driver order).
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


#: Offer kinds of :data:`OFFERS`, in order (the columns of the effect matrix).
OFFER_KINDS = tuple(o[1] for o in OFFERS)


#: Mean stated importance (1–10) of each survey factor; the NPS answer weights each rating by the
#: respondent's stated importance, so this order is the true NPS driver order (data quality > call
#: quality > price > plan choice > service). Spaced 1.5 apart so that a driver
#: analysis of a few thousand answers can recover the order (closer means, e.g. 8/7/7.5/6/6.5, were
#: within the noise and the omitted pending-leaver effect of each other).
NPS_IMPORTANCE_MEANS: dict[str, float] = {"data": 9.0, "call": 7.5, "price": 6.0, "plan": 4.5, "service": 3.0}


@dataclass
class CampaignLog:
    campaign_mi: int = -1
    index: int = 0  # 0-based campaign number: RC01 is 0
    contact: dict[str, np.ndarray] = field(default_factory=dict)
    outcome: dict[str, np.ndarray] = field(default_factory=dict)
    truth: dict[str, np.ndarray] = field(default_factory=dict)


def _unit_noise(subs: np.ndarray, salt: int) -> np.ndarray:
    """A fixed standard-normal-like draw per line and salt (no random stream consumed): a line keeps
    its own deviation from its segment's effect in every campaign and in the targeting truth."""
    x = (
        subs.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        + np.uint64((salt * 0x632BE59BD9B4E019) % (1 << 64))
    ) & np.uint64(0xFFFFFFFFFFFF)
    x ^= x >> np.uint64(21)
    x = (x * np.uint64(0xBF58476D1CE4E5B9)) & np.uint64(0xFFFFFFFFFFFF)
    u = (x.astype(np.float64) + 0.5) / float(1 << 48)
    # the logistic quantile of a hashed uniform, scaled to unit variance
    return np.log(u / (1 - u)) * (np.sqrt(3) / np.pi)


def effect_modifiers(pop: Population, cfg: SimConfig, subs: np.ndarray) -> np.ndarray:
    """(len(subs), 4) indicators: prepaid, heavy data user, in a family V-net, high ARPU."""
    return np.column_stack(
        [
            ~pop.postpaid[subs],
            pop.dou[subs] > cfg.heavy_data_gb * 1024,
            pop.family[subs] >= 0,
            pop.arpu[subs] > cfg.high_arpu_yuan,
        ]
    ).astype(np.float64)


def offer_effect_matrix(pop: Population, cfg: SimConfig, subs: np.ndarray, base: np.ndarray) -> np.ndarray:
    """(len(subs), 3) true relative hazard reduction of each offer for each line.

    ``offer_effects[o] + Σ_k modifiers[o][k] · (z_k − mean z_k over base) + noise``, clipped to
    [−0.5, 0.8]; the centring on the active ``base`` keeps the base average at ``offer_effects``.
    """
    z = effect_modifiers(pop, cfg, subs)
    zbar = effect_modifiers(pop, cfg, base).mean(axis=0) if len(base) else np.zeros(4)
    mods = np.asarray(cfg.offer_effect_modifiers, dtype=np.float64)  # (3, 4)
    eff = np.asarray(cfg.offer_effects, dtype=np.float64)[None, :] + (z - zbar) @ mods.T
    noise = np.column_stack([_unit_noise(subs, o + 1) for o in range(len(OFFERS))])
    return np.clip(eff + cfg.offer_effect_noise * noise, -0.5, 0.8)


def _window_churn(h: np.ndarray, lag_p: np.ndarray, months: int) -> np.ndarray:
    """P(decide to leave in one of ``months`` months at monthly hazard h and leave inside them)."""
    cdf = np.cumsum(lag_p)
    out = np.zeros_like(h)
    for k in range(months):
        out += h * (1 - h) ** k * cdf[min(months - 1 - k, len(cdf) - 1)]
    return out


def true_response(
    pop: Population,
    cfg: SimConfig,
    subs: np.ndarray,
    mi: int,
    hz: np.ndarray,
    eff: np.ndarray,
    decided: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(p_churn, uplift): true chance of leaving within the follow-up window ``mi .. mi + f − 1`` of a
    campaign run in month ``mi`` without an offer, and its reduction per offer if reached.

    The month loop draws month ``mi``'s decisions and departures *before* the campaign, so an offer
    acts on pending leavers due after ``mi`` (talked out with the effect, never pushed out by a
    negative one) and on the decisions of the ``f − 1`` later months of the window (hazard scaled by
    1 − effect). ``decided``: the state is the one the campaign saw, after month ``mi``'s decisions
    (a campaign's own members). Otherwise (the targeting truth) it is the end of the month before:
    month ``mi``'s decision is still to come at the untreated hazard; with no warning lag the line
    leaves before the campaign, with a lag inside the window it is a pending leaver at the campaign;
    and a pending leaver due in month ``mi`` itself leaves before it.
    """
    f = cfg.campaign_followup_months
    lag_p = np.asarray(cfg.warning_lag_probs, dtype=np.float64)
    cdf = np.cumsum(lag_p)
    h = np.minimum(hz, 0.95)
    pl = pop.pend_leave[subs]
    pending = pl >= 0
    in_window = pending & (pl <= mi + f - 1)
    savable = in_window & (pl > mi)
    later = _window_churn(h, lag_p, f - 1)  # decisions in months mi + 1 .. mi + f − 1
    if decided:
        stay, now_gone, now_pending = np.ones_like(h), np.zeros_like(h), np.zeros_like(h)
    else:
        stay = 1 - h
        now_gone = h * lag_p[0]
        now_pending = h * (cdf[min(f - 1, len(cdf) - 1)] - lag_p[0])
    p0 = np.where(pending, in_window.astype(np.float64), now_gone + now_pending + stay * later)
    uplift = np.empty_like(eff)
    for o in range(eff.shape[1]):
        e = eff[:, o]
        treated = _window_churn(np.minimum(h * (1 - e), 0.95), lag_p, f - 1)
        free = now_pending * np.maximum(e, 0.0) + stay * (later - treated)
        uplift[:, o] = np.where(pending, savable * np.maximum(e, 0.0), free)
    return p0, uplift


def _active(pop: Population, mi: int) -> np.ndarray:
    n = pop.n
    return np.flatnonzero(
        (pop.status[:n] == ACTIVE) & (pop.left_mi[:n] < 0) & (pop.act_mi[:n] < mi) & ~pop.silent[:n]
    )


def _untreated_hazard(pop: Population, cfg: SimConfig, world: World, subs: np.ndarray, mi: int) -> np.ndarray:
    hz = hazard_matrix(pop, cfg, world, subs, mi).sum(axis=1)
    treated = pop.treat_until[subs] >= mi
    return np.where(treated, hz / np.maximum(pop.treat_mult[subs], 1e-9), hz)


def _reach(cfg: SimConfig, allowed: np.ndarray, subs: np.ndarray) -> np.ndarray:
    chan_idx = np.array([CONTACT_CHANNELS.index(o[2]) for o in OFFERS])
    return allowed[subs][:, chan_idx] * cfg.campaign_reach


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
    exclude: np.ndarray | None = None,
) -> None:
    """Select, randomise and contact; set each reached line's own true effect of its offer.

    ``exclude``: members of campaigns whose follow-up window is still running; they are not selected
    again (a treated member in a later control group, or a control member treated within its own
    window, would blur both comparisons). With campaigns a quarter apart nobody is excluded.
    """
    active = _active(pop, mi)
    if len(active) == 0:
        return
    hz = hazard_matrix(pop, cfg, world, active, mi).sum(axis=1)
    pending = pop.pend_leave[active] >= 0
    score = np.log(hz + 1e-6) + np.where(pending, 1.0, 0.0) + rng.normal(0, 1.0, len(active))
    if exclude is not None and len(exclude):
        score[np.isin(active, exclude)] = -np.inf
    k = min(max(1, round(cfg.campaign_share * len(active))), int(np.isfinite(score).sum()))
    if k == 0:
        return
    pick = np.sort(np.argsort(-score, kind="stable")[:k])
    target = active[pick]
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
    eff_all = offer_effect_matrix(pop, cfg, target, active)
    p0, uplift = true_response(pop, cfg, target, mi, hz[pick], eff_all)
    effect = np.where(contacted, eff_all[np.arange(k), np.clip(arm, 0, None)], 0.0)
    reached = target[contacted]
    pop.treat_until[reached] = mi + cfg.campaign_followup_months - 1
    pop.treat_mult[reached] = 1 - effect[contacted]
    life.retention_cancel(reached, np.maximum(effect[contacted], 0.0))
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
    log.truth = {
        "sub": target,
        "effect": eff_all,
        "p_churn": p0,
        "uplift": uplift,
        "reach": _reach(cfg, allowed, target),
    }


def targeting_truth(
    pop: Population, cfg: SimConfig, world: World, allowed: np.ndarray, mi: int
) -> dict[str, np.ndarray]:
    """True response of every open line to every offer for a campaign in the month after ``mi``
    (the last simulated month), computed from the state at the end of ``mi`` without any offer."""
    active = _active(pop, mi + 1)
    if len(active) == 0:
        return {}
    hz = _untreated_hazard(pop, cfg, world, active, mi)
    eff = offer_effect_matrix(pop, cfg, active, active)
    p0, uplift = true_response(pop, cfg, active, mi + 1, hz, eff, decided=False)
    return {
        "sub": active,
        "effect": eff,
        "p_churn": p0,
        "uplift": uplift,
        "reach": _reach(cfg, allowed, active),
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


def retention_tables(
    logs: list[CampaignLog], cfg: SimConfig, world: World, final: dict[str, np.ndarray], sub_ids
) -> dict[str, list[dict[str, object]]]:
    """Rows of ``campaign``, ``offer``, ``contact``, ``outcome`` and ``retention_truth`` (one batch
    per campaign; the targeting truth last). ``sub_ids`` maps line indexes to subscriber ids."""
    import pyarrow as pa

    from churnradar.simulate.calendar import month_str
    from churnradar.simulate.identifiers import ids
    from churnradar.simulate.writer import date_array, label_array, month_array, ts_array

    last_day = int(month_first_day(world.last_mi)) + int(days_in_month(world.last_mi)) - 1
    out: dict[str, list[dict[str, object]]] = {
        k: [] for k in ("campaign", "offer", "contact", "outcome", "retention_truth")
    }

    def truth_rows(t: dict[str, np.ndarray], mi: int, campaign_id: str | None) -> dict[str, object]:
        m, n_off = len(t["sub"]), len(OFFERS)
        return {
            "subscriber_id": sub_ids(np.repeat(t["sub"], n_off)),
            "month": month_array(np.full(m * n_off, mi)),
            "campaign_id": pa.array([campaign_id] * (m * n_off), type=pa.string()),
            "offer_kind": label_array(OFFER_KINDS, np.tile(np.arange(n_off), m)),
            "effect": np.round(t["effect"].ravel(), 6),
            "p_churn": np.round(np.repeat(t["p_churn"], n_off), 6),
            "uplift": np.round(t["uplift"].ravel(), 6),
            "reach": np.round(t["reach"].ravel(), 6),
        }

    n_contacts = 0
    n_outcomes = 0
    for log in logs:
        if log.campaign_mi < 0:
            continue
        mi, ci = log.campaign_mi, log.index
        cid = f"RC{ci + 1:02d}"
        offer_ids = [f"OF{ci * len(OFFERS) + j + 1:02d}" for j in range(len(OFFERS))]
        end_mi = mi + cfg.campaign_followup_months - 1
        end_day = int(month_first_day(end_mi)) + int(days_in_month(end_mi)) - 1
        out["campaign"].append(
            {
                "campaign_id": [cid],
                "name": [f"{month_str(mi)} 高危用户维系活动（随机对照） / high-risk retention trial"],
                "start_date": date_array(np.array([int(month_first_day(mi))])),
                "end_date": date_array(np.array([end_day])),
                "control_share": [cfg.campaign_control_share],
                "status": ["closed" if end_day <= last_day else "running"],
            }
        )
        out["offer"].append(
            {
                "offer_id": offer_ids,
                "campaign_id": [cid] * len(OFFERS),
                "kind": [o[1] for o in OFFERS],
                "channel": [o[2] for o in OFFERS],
                "cost": [o[3] for o in OFFERS],
                "description": [o[4] for o in OFFERS],
            }
        )
        c = log.contact
        k = len(c["sub"])
        arm = c["arm"]
        out["contact"].append(
            {
                "contact_id": ids("K", np.arange(n_contacts, n_contacts + k), 8),
                "campaign_id": [cid] * k,
                "subscriber_id": sub_ids(c["sub"]),
                "offer_id": label_array(offer_ids, arm),
                "is_control": arm < 0,
                "assigned_date": date_array(c["assigned_day"]),
                "contacted": c["contacted"],
                "contact_time": ts_array(c["contact_time"], null=~c["contacted"]),
            }
        )
        o = log.outcome
        m = len(o["contact_idx"])
        out["outcome"].append(
            {
                "outcome_id": ids("O", np.arange(n_outcomes, n_outcomes + m), 8),
                "contact_id": ids("K", n_contacts + o["contact_idx"], 8),
                "recorded_time": ts_array(o["time"]),
                "accepted": o["accepted"],
                "retained": pa.array(o["retained"], mask=o["retained_null"], type=pa.bool_()),
                "verified": o["verified"],
            }
        )
        out["retention_truth"].append(truth_rows(log.truth, mi, cid))
        n_contacts += k
        n_outcomes += m
    if final:
        out["retention_truth"].append(truth_rows(final, world.last_mi + 1, None))
    return out


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
        for name, mu in NPS_IMPORTANCE_MEANS.items()
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
