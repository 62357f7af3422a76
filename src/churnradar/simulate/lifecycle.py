"""Lifecycle rules of one month: decisions to leave, departures, the arrears pipeline, reactivation,
re-selection, brand downgrade, value decline and silence.

Departure routes (what the BSS records):

- arrears: the customer stops paying and using; one-way suspension in the month they left, two-way
  suspension the month after, pre-deregistration, and deregistration ``dereg_lag_months`` after
  leaving, all with reason ``arrears``;
- user request: deregistration in the month they left, reason ``user_request``;
- port-out: ``port_out`` event with the destination competitor in the month they left;
- fraud block: two-way suspension (``fraud_block``) when they leave, then the same lag.
"""

from __future__ import annotations

import numpy as np

from churnradar.simulate.calendar import days_in_month, month_first_day
from churnradar.simulate.config import SimConfig
from churnradar.simulate.hazard import draw_causes, hazard_matrix
from churnradar.simulate.mechanisms import (
    BASELINE_REASONS,
    DECLINE_REASONS,
    DOWNGRADE_REASONS,
    HAZARD_MECHS,
    MECH_INDEX,
    MECHANISMS,
    SILENT_REASONS,
)
from churnradar.simulate.population import (
    ACTIVE,
    DEREG,
    MIGRANT,
    NO_CONTACT,
    ONEWAY,
    PORTED,
    PREDEREG,
    ROUTE_ARREARS,
    ROUTE_FRAUD,
    ROUTE_PORT,
    ROUTE_RESELECT,
    ROUTE_USER,
    TWOWAY,
    Population,
    _choose,
    draw_customers,
)
from churnradar.simulate.records import CHURN_KINDS, DRIVERS, INTENTS, REASON_CODES, EventBuffer, TruthBuffer
from churnradar.simulate.world import PACKAGES, PROMO_PACKAGE, World

DAY = 86_400
_FEES = np.array([p[5] for p in PACKAGES])
_M_SPECIAL_KIND = np.array(
    [
        CHURN_KINDS.index(m.kind) if m.kind in ("number_reselection", "tariff_reselection") else -1
        for m in MECHANISMS
    ]
)
_M_REASON = np.array([REASON_CODES.index(m.reason) for m in MECHANISMS])
_M_INTENT = np.array([INTENTS.index(m.intent) for m in MECHANISMS])
_M_DRIVER = np.array([DRIVERS.index(m.driver) for m in MECHANISMS])
_M_BOUND = np.array([m.competitor_bound for m in MECHANISMS])
_B_REASON = np.array([REASON_CODES.index(r[0]) for r in BASELINE_REASONS])
_B_INTENT = np.array([INTENTS.index(r[1]) for r in BASELINE_REASONS])
_B_DRIVER = np.array([DRIVERS.index(r[2]) for r in BASELINE_REASONS])


def event_time(rng: np.random.Generator, mi: int, day: np.ndarray, batch: bool = False) -> np.ndarray:
    """Epoch seconds on ``day`` of month ``mi``: night batch (00:30–03:00) or office hours (08–21)."""
    day = np.asarray(day, dtype=np.int64)
    base = (int(month_first_day(mi)) + day - 1) * DAY
    if batch:
        return base + 1800 + rng.integers(0, 9000, len(day))
    return base + 8 * 3600 + rng.integers(0, 13 * 3600, len(day))


def _truth_codes(kind: str, reason: str, intent: str, driver: str) -> tuple[int, int, int, int]:
    return (CHURN_KINDS.index(kind), REASON_CODES.index(reason), INTENTS.index(intent), DRIVERS.index(driver))


def _draw_reason(rng, table, n):
    w = np.array([r[3] for r in table])
    return _choose(rng, w, n)


class Lifecycle:
    """Applies the month's lifecycle rules to the population, writing events and truth rows."""

    def __init__(
        self,
        pop: Population,
        cfg: SimConfig,
        world: World,
        rngs: dict[str, np.random.Generator],
        events: EventBuffer,
        truth: TruthBuffer,
    ):
        self.pop, self.cfg, self.world, self.rngs = pop, cfg, world, rngs
        self.events, self.truth = events, truth
        self.lag_p = np.array(cfg.warning_lag_probs)
        self.comp_share = np.array(cfg.competitor_market_share)
        self.hazard_cause_mech = np.array([MECH_INDEX[m] for m in HAZARD_MECHS])

    # -- eligibility -------------------------------------------------------------------------------
    def eligible(self, mi: int) -> np.ndarray:
        p = self.pop
        n = p.n
        return np.flatnonzero(
            (p.status[:n] == ACTIVE)
            & (p.pend_leave[:n] < 0)
            & (~p.silent[:n])
            & (p.left_mi[:n] < 0)
            & (p.act_mi[:n] < mi)
        )

    # -- other churn kinds and noise events ------------------------------------------------------
    def other_events(self, mi: int, elig: np.ndarray) -> np.ndarray:
        """Re-selection, downgrade/upgrade, value decline, silence, arrears onset; returns the lines
        that had one (they skip the off-net draw this month)."""
        p, cfg, w, rng = self.pop, self.cfg, self.world, self.rngs["events"]
        m = len(elig)
        brand = w.pkg_brand[p.pkg[elig]]
        post = p.postpaid[elig]
        promo_on = mi >= w.promo_launch_mi
        rates = np.zeros((m, 8))
        rates[:, 0] = cfg.number_reselection_rate
        rates[:, 1] = cfg.tariff_reselection_rate + np.where(
            promo_on & ~post & ~p.promo_cohort[elig], cfg.tariff_reselection_promo_rate, 0.0
        )
        rates[:, 2] = np.where((brand == 0) & ~p.downgraded[elig], cfg.brand_downgrade_rate, 0.0)
        rates[:, 3] = np.where((brand != 0) & post, cfg.upgrade_rate, 0.0)
        rates[:, 4] = np.where(p.decline_start[elig] < 0, cfg.value_decline_rate, 0.0)
        rates[:, 5] = cfg.silent_rate
        rates[:, 6] = np.where(post, cfg.arrears_onset_postpaid, cfg.arrears_onset_prepaid)
        cum = np.cumsum(rates, axis=1)
        u = rng.random(m)
        which = (cum < u[:, None]).sum(axis=1)  # 7 = nothing
        self.number_reselection(mi, elig[which == 0])
        self.tariff_reselection(mi, elig[which == 1])
        self.brand_downgrade(mi, elig[which == 2])
        self.upgrade(mi, elig[which == 3])
        self.value_decline(mi, elig[which == 4])
        self.silence(mi, elig[which == 5])
        self.arrears_onset(mi, elig[which == 6])
        return elig[which < 7]

    def _reselect(self, mi: int, old: np.ndarray, tariff: bool) -> None:
        p, cfg, w, rng = self.pop, self.cfg, self.world, self.rngs["events"]
        m = len(old)
        if m == 0:
            return
        dim = int(days_in_month(mi))
        d_old = 1 + rng.integers(0, max(dim - cfg.reselection_max_days, 1), m)
        new = p.add_subs(m)
        for name in (
            "grid",
            "county",
            "community",
            "mou",
            "dou",
            "sms",
            "dc",
            "out_share",
            "comp_share",
            "days_p",
            "frailty",
            "dual_comp",
        ):
            getattr(p, name)[new] = getattr(p, name)[old]
        p.contacts[new] = p.contacts[old]
        p.act_mi[new] = mi
        p.act_day[new] = d_old + rng.integers(0, cfg.reselection_max_days + 1, m)
        chan_of = {t: np.flatnonzero(w.channel_type == t) for t in range(5)}
        if tariff:
            # a relative's certificate (a new customer in the same county), same handset
            cust = draw_customers(p, rng, cfg, w, p.county[old])
            old_c = p.customer[old]
            p.c_group[cust] = p.c_group[old_c]
            p.customer[new] = cust
            p.handset[new] = p.handset[old]
            promo_on = mi >= w.promo_launch_mi
            pkg = np.full(m, PROMO_PACKAGE if promo_on else 10, dtype=np.int8)
            p.pkg0[new] = pkg
            p.pkg[new] = pkg
            p.postpaid[new] = False
            p.promo_cohort[new] = promo_on
            p.arpu[new] = np.maximum(_FEES[pkg] * 1.5, p.arpu[old] * rng.uniform(0.3, 0.6, m))
            social = chan_of[2]
            p.channel[new] = social[rng.integers(0, len(social), m)] if promo_on else chan_of[3][0]
            p.family[new] = -1
            p.recharge_target[new] = p.arpu[new] * rng.uniform(0.2, 1.0, m)
            mech = "tariff_reselection"
            route = np.where(rng.random(m) < 0.5, ROUTE_USER, ROUTE_ARREARS)
        else:
            p.customer[new] = p.customer[old]
            same_handset = rng.random(m) < 0.5
            p.handset[new] = np.where(same_handset, p.handset[old], p.new_handsets(m))
            p.pkg0[new] = p.pkg[old]
            p.pkg[new] = p.pkg[old]
            p.postpaid[new] = p.postpaid[old]
            p.arpu[new] = p.arpu[old]
            own = chan_of[0]
            p.channel[new] = own[np.minimum(p.county[old], len(own) - 1)]
            p.family[new] = p.family[old]
            p.recharge_target[new] = p.recharge_target[old]
            p.contract_end[new] = p.contract_end[old]
            mech = "number_reselection"
            route = np.full(m, ROUTE_USER)
        p.balance[new] = p.recharge_target[new]
        p.successor[old] = new
        # the new line inherits the old one's place in the family circle
        fam_peer = p.contacts[old, 0]
        ok = fam_peer >= 0
        p.contacts[new[ok], 0] = fam_peer[ok]
        self.depart(mi, old, route, MECH_INDEX[mech], left_day=d_old, new=new)
        t = event_time(rng, mi, p.act_day[new])
        self.events.add(new, t, "activate", "new_subscription")

    def number_reselection(self, mi: int, old: np.ndarray) -> None:
        self._reselect(mi, old, tariff=False)

    def tariff_reselection(self, mi: int, old: np.ndarray) -> None:
        self._reselect(mi, old, tariff=True)

    def _package_change(self, mi, subs, targets, reason):
        p, rng = self.pop, self.rngs["events"]
        old_fee = _FEES[p.pkg[subs]]
        new_fee = _FEES[targets]
        p.arpu[subs] *= np.clip(new_fee / old_fee, 0.2, 3.0) ** 0.8
        p.pkg[subs] = targets
        day = 1 + rng.integers(0, int(days_in_month(mi)), len(subs))
        self.events.add(subs, event_time(rng, mi, day), "package_change", reason, pkg=targets)

    def brand_downgrade(self, mi: int, subs: np.ndarray) -> None:
        if len(subs) == 0:
            return
        p, rng = self.pop, self.rngs["events"]
        # budget packages of the same payment type: postpaid PK15/PK09, prepaid PK11/PK10
        post = p.postpaid[subs]
        pick = rng.random(len(subs)) < 0.6
        targets = np.where(post, np.where(pick, 14, 8), np.where(pick, 10, 9)).astype(np.int8)
        self._package_change(mi, subs, targets, "downgrade")
        p.downgraded[subs] = True
        r = _draw_reason(rng, DOWNGRADE_REASONS, len(subs))
        self._truth_table(
            subs, "brand_downgrade", DOWNGRADE_REASONS, r, MECH_INDEX["brand_downgrade"], mi, ROUTE_USER
        )

    def upgrade(self, mi: int, subs: np.ndarray) -> None:
        if len(subs) == 0:
            return
        rng = self.rngs["events"]
        targets = np.where(rng.random(len(subs)) < 0.6, 1, 2).astype(np.int8)
        self._package_change(mi, subs, targets, "upgrade")

    def value_decline(self, mi: int, subs: np.ndarray) -> None:
        if len(subs) == 0:
            return
        p, cfg, rng = self.pop, self.cfg, self.rngs["events"]
        p.decline_start[subs] = mi
        p.decline_target[subs] = rng.uniform(*cfg.value_decline_factor, len(subs))
        r = _draw_reason(rng, DECLINE_REASONS, len(subs))
        to_comp = (r == 0) & (p.dual_comp[subs] < 0)
        p.dual_comp[subs[to_comp]] = _choose(rng, self.comp_share, int(to_comp.sum())).astype(np.int8)
        self._truth_table(subs, "value_decline", DECLINE_REASONS, r, MECH_INDEX["value_decline"], mi, -1)

    def silence(self, mi: int, subs: np.ndarray) -> None:
        if len(subs) == 0:
            return
        p, rng = self.pop, self.rngs["events"]
        p.silent[subs] = True
        r = _draw_reason(rng, SILENT_REASONS, len(subs))
        self._truth_table(subs, "silent", SILENT_REASONS, r, MECH_INDEX["silent_dormant"], mi, -1)

    def arrears_onset(self, mi: int, subs: np.ndarray) -> None:
        """Lines fall into arrears: one-way suspension; some pay (复机), the rest are deregistered."""
        if len(subs) == 0:
            return
        p, cfg, rng = self.pop, self.cfg, self.rngs["events"]
        m = len(subs)
        pays = rng.random(m) < cfg.arrears_pay_prob
        payers, churners = subs[pays], subs[~pays]
        dim = int(days_in_month(mi))
        day = 1 + rng.integers(0, dim - 6, len(payers))
        p.status[payers] = ONEWAY
        p.pipe_start[payers] = mi
        p.pipe_churn[payers] = False
        same_month = rng.random(len(payers)) < 0.4
        p.pipe_pay[payers] = np.where(same_month, mi, mi + 1)
        self.events.add(payers, event_time(rng, mi, day, batch=True), "suspend_oneway", "arrears")
        now = payers[same_month]
        self.events.add(
            now, event_time(rng, mi, day[same_month] + rng.integers(1, 6, len(now))), "reactivate", "payment"
        )
        if len(churners):
            self.depart(mi, churners, np.full(len(churners), ROUTE_ARREARS), MECH_INDEX["arrears_nonpayment"])

    # -- the off-net hazard ------------------------------------------------------------------------
    def decide(self, mi: int, subs: np.ndarray) -> None:
        """Draw this month's decisions to leave (now or after a warning period of 1–3 months)."""
        p, cfg, w, rng = self.pop, self.cfg, self.world, self.rngs["hazard"]
        hz = hazard_matrix(p, cfg, w, subs, mi)
        rows, cause = draw_causes(rng, hz)
        who = subs[rows]
        m = len(who)
        if m == 0:
            return
        mech = self.hazard_cause_mech[cause]
        names = np.array(HAZARD_MECHS)[cause]
        lag = _choose(rng, self.lag_p, m)
        lag = np.where(names == "spring_festival_migrant", 0, lag)
        lag = np.where(names == "promotion_commission_fraud", 0, lag)
        lag = np.where(names == "promotion_burn", rng.integers(0, 2, m), lag)
        # reasons of baseline churn
        reason = np.full(m, -1, dtype=np.int8)
        base = names == "baseline"
        reason[base] = _choose(rng, np.array(cfg.baseline_reason_mix), int(base.sum()))
        bound = _M_BOUND[mech].copy()
        bound |= base & (reason == 0)
        # where they go
        dest = np.where(p.dual_comp[who] >= 0, p.dual_comp[who], _choose(rng, self.comp_share, m))
        pushing = w.pushing(mi)
        launching = w.launching(mi)
        if launching:  # a launch county's leavers for a push go to the launching competitor
            pushing = {**pushing, **launching}
        is_push = names == "competitor_push"
        if is_push.any():
            dest[is_push] = np.array([pushing.get(int(c), 0) for c in p.county[who[is_push]]])
        # route
        u = rng.random(m)
        p_port = np.where(bound, cfg.port_out_prob_competitor, cfg.port_out_prob_other)
        if launching:  # the launch offer pays for the port-in
            to_launch = bound & np.array(
                [launching.get(int(c), -1) == d for c, d in zip(p.county[who], dest, strict=True)], dtype=bool
            )
            p_port = np.where(to_launch, cfg.launch_port_out_prob, p_port)
        p_user = np.where(p.postpaid[who], cfg.user_request_prob_postpaid, cfg.user_request_prob_prepaid)
        route = np.where(u < p_port, ROUTE_PORT, np.where(u < p_port + p_user, ROUTE_USER, ROUTE_ARREARS))
        fraud = (names == "promotion_commission_fraud") | (base & (reason == 5))
        route = np.where(fraud, ROUTE_FRAUD, route)
        route = np.where(names == "promotion_burn", ROUTE_ARREARS, route)
        decay = np.where(rng.random(m) < cfg.no_signal_share, 1.0, rng.uniform(*cfg.signal_decay, m))
        p.pend_leave[who] = mi + lag
        p.pend_start[who] = mi
        p.pend_cause[who] = mech
        p.pend_reason[who] = reason
        p.pend_route[who] = route
        p.pend_decay[who] = decay
        p.pend_dest[who] = dest
        # a competitor's SIM often appears in the handset before a move to that competitor
        new_dual = bound & (lag > 0) & (p.dual_comp[who] < 0) & (rng.random(m) < 0.35)
        p.dual_comp[who[new_dual]] = dest[new_dual]

    def retention_cancel(self, subs: np.ndarray, prob: np.ndarray) -> None:
        """A retention offer talks some pending leavers out of leaving."""
        rng = self.rngs["hazard"]
        p = self.pop
        pending = p.pend_leave[subs] >= 0
        cancel = pending & (rng.random(len(subs)) < prob)
        s = subs[cancel]
        p.pend_leave[s] = -1
        p.pend_start[s] = -1
        p.pend_cause[s] = -1

    def leave_due(self, mi: int) -> None:
        """Lines whose decision matures this month leave."""
        p = self.pop
        n = p.n
        due = np.flatnonzero((p.pend_leave[:n] == mi) & (p.status[:n] == ACTIVE) & (p.left_mi[:n] < 0))
        if len(due) == 0:
            return
        p.dest[due] = p.pend_dest[due]
        self.depart(
            mi,
            due,
            p.pend_route[due].astype(np.int64),
            p.pend_cause[due].astype(np.int64),
            reason=p.pend_reason[due].astype(np.int64),
        )

    # -- departures ----------------------------------------------------------------------------
    def depart(
        self, mi: int, subs: np.ndarray, route: np.ndarray, mech, reason=None, left_day=None, new=None
    ) -> None:
        p, rng = self.pop, self.rngs["events"]
        m = len(subs)
        route = np.broadcast_to(np.asarray(route), (m,)).astype(np.int64)
        mech = np.broadcast_to(np.asarray(mech), (m,)).astype(np.int64)
        dim = int(days_in_month(mi))
        if left_day is None:
            lo = np.where(p.act_mi[subs] == mi, p.act_day[subs], 1).astype(np.int64)
            left_day = lo + (rng.random(m) * (dim - lo + 1)).astype(np.int64)
        left_day = np.minimum(left_day, dim)
        p.left_mi[subs] = mi
        p.left_day[subs] = left_day
        p.route[subs] = np.where(route == ROUTE_RESELECT, ROUTE_USER, route)
        no_dest = p.dest[subs] < 0
        p.dest[subs[no_dest]] = np.where(
            p.dual_comp[subs[no_dest]] >= 0,
            p.dual_comp[subs[no_dest]],
            _choose(rng, self.comp_share, int(no_dest.sum())),
        )
        port = route == ROUTE_PORT
        user = route == ROUTE_USER
        arrears = route == ROUTE_ARREARS
        fraud = route == ROUTE_FRAUD
        s = subs[port]
        p.status[s] = PORTED
        p.closed_mi[s] = mi
        self.events.add(s, event_time(rng, mi, left_day[port]), "port_out", "port_out", dest=p.dest[s])
        s = subs[user]
        p.status[s] = DEREG
        p.closed_mi[s] = mi
        self.events.add(s, event_time(rng, mi, left_day[user]), "deregister", "user_request")
        s = subs[arrears]
        p.status[s] = ONEWAY
        p.pipe_start[s] = mi
        p.pipe_churn[s] = True
        p.pipe_pay[s] = -1
        d = np.minimum(left_day[arrears] + rng.integers(1, 6, len(s)), dim)
        self.events.add(s, event_time(rng, mi, d, batch=True), "suspend_oneway", "arrears")
        s = subs[fraud]
        p.status[s] = TWOWAY
        p.pipe_start[s] = mi
        p.pipe_churn[s] = True
        p.pipe_pay[s] = -1
        self.events.add(s, event_time(rng, mi, left_day[fraud], batch=True), "suspend_twoway", "fraud_block")
        # ground truth
        kind = np.where(port, CHURN_KINDS.index("port_out"), CHURN_KINDS.index("offnet"))
        special = _M_SPECIAL_KIND[mech]
        kind = np.where(special >= 0, special, kind)
        rs, it, dr = _M_REASON[mech], _M_INTENT[mech], _M_DRIVER[mech]
        if reason is not None:
            reason = np.asarray(reason)
            b = reason >= 0
            br = np.clip(reason, 0, None)
            rs = np.where(b, _B_REASON[br], rs)
            it = np.where(b, _B_INTENT[br], it)
            dr = np.where(b, _B_DRIVER[br], dr)
        self.truth.add(subs, kind, rs, it, dr, mech, mi, p.route[subs], new)

    def _truth_table(self, subs, kind, table, r, mech, mi, route) -> None:
        rs = np.array([REASON_CODES.index(table[k][0]) for k in r])
        it = np.array([INTENTS.index(table[k][1]) for k in r])
        dr = np.array([DRIVERS.index(table[k][2]) for k in r])
        self.truth.add(subs, CHURN_KINDS.index(kind), rs, it, dr, mech, mi, route)

    # -- the suspension pipeline -------------------------------------------------------------------
    def advance_pipeline(self, mi: int) -> None:
        p, cfg, rng = self.pop, self.cfg, self.rngs["events"]
        n = p.n
        inp = np.flatnonzero(
            (p.pipe_start[:n] >= 0)
            & (p.pipe_start[:n] < mi)
            & np.isin(p.status[:n], (ONEWAY, TWOWAY, PREDEREG))
        )
        if len(inp) == 0:
            return
        k = mi - p.pipe_start[inp]
        lag = cfg.dereg_lag_months
        dim = int(days_in_month(mi))
        payer = ~p.pipe_churn[inp]
        # payers: two-way at the start of the month, reactivated when they pay
        pay_now = payer & (p.pipe_pay[inp] == mi)
        s = inp[pay_now & (p.status[inp] == ONEWAY)]
        d_susp = 1 + rng.integers(0, 5, len(s))
        self.events.add(s, event_time(rng, mi, d_susp, batch=True), "suspend_twoway", "arrears")
        s = inp[pay_now]
        d_pay = 6 + rng.integers(0, dim - 6, len(s))
        self.events.add(s, event_time(rng, mi, d_pay), "reactivate", "payment")
        p.status[s] = ACTIVE
        p.pipe_start[s] = -1
        p.pipe_pay[s] = -1
        # churners: two-way, pre-deregistration, deregistration
        ch = ~payer
        steps = []
        if lag >= 3:
            steps.append((1, "suspend_twoway", TWOWAY))
        if lag >= 2:
            steps.append((lag - 1, "pre_deregister", PREDEREG))
        steps.append((lag, "deregister", DEREG))
        for kk, etype, status in steps:
            sel = ch & (k == kk)
            if etype == "suspend_twoway":
                sel &= p.status[inp] == ONEWAY
            s = inp[sel]
            if len(s) == 0:
                continue
            reason = np.where(p.route[s] == ROUTE_FRAUD, "fraud_block", "arrears")
            d = 1 + rng.integers(0, 10, len(s))
            t = event_time(rng, mi, d, batch=True)
            for rname in ("arrears", "fraud_block"):
                rs = reason == rname
                self.events.add(s[rs], t[rs], etype, rname)
            p.status[s] = status
            if status == DEREG:
                p.closed_mi[s] = mi


__all__ = ["MIGRANT", "NO_CONTACT", "PORTED", "ROUTE_RESELECT", "Lifecycle", "event_time"]
