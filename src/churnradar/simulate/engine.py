"""The month loop: build the world and the base, run every rule month by month, stream the tables.

Determinism: one :class:`numpy.random.SeedSequence` of the seed is spawned into one PCG64 stream per
concern (:data:`STREAMS`), the loop order is fixed, and the writers add nothing variable (no
timestamps), so the same arguments give byte-identical files.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from churnradar.errors import ConfigError
from churnradar.schema import TABLES, TRUTH_TABLES
from churnradar.schema import enums as E
from churnradar.simulate.activity import Keys, month_activity
from churnradar.simulate.calendar import days_in_month, month_first_day, month_str, parse_month
from churnradar.simulate.config import SimConfig
from churnradar.simulate.identifiers import (
    CERT_SPACE,
    IMEI_SPACE,
    MSISDN_SPACE,
    certificate_numbers,
    coprime_multiplier,
    digits_str,
    ids,
    own_msisdn,
)
from churnradar.simulate.lifecycle import DAY, Lifecycle, event_time
from churnradar.simulate.mechanisms import MECHANISMS
from churnradar.simulate.population import (
    ROUTE_ARREARS,
    ROUTE_FRAUD,
    ROUTE_PORT,
    ROUTE_USER,
    Population,
    acquire,
    init_base,
)
from churnradar.simulate.records import (
    CHURN_KINDS,
    DRIVERS,
    EVENT_REASONS,
    EVENT_TYPES,
    INTENTS,
    INTERACTION_CHANNELS,
    INTERACTION_KINDS,
    INTERACTION_TOPICS,
    REASON_CODES,
    EventBuffer,
    InteractionBuffer,
    TruthBuffer,
)
from churnradar.simulate.retention import (
    CONTACT_CHANNELS,
    CampaignLog,
    allowed_lookup,
    campaign_outcomes,
    consent_arrays,
    retention_tables,
    run_campaign,
    survey_arrays,
    targeting_truth,
)
from churnradar.simulate.world import (
    BRANDS,
    COMPETITORS,
    PACKAGES,
    build_world,
    channel_rows,
    competitor_rows,
    network_quality_arrays,
    package_rows,
    promotion_rows,
    region_rows,
)
from churnradar.simulate.writer import TableWriter, date_array, label_array, month_array, ts_array

STREAMS = (
    "world",
    "keys",
    "population",
    "acquisition",
    "events",
    "hazard",
    "activity",
    "retention",
    "survey",
    "consent",
    "network",
    "recharge",  # appended last: the streams before it stay as they were
)
FORMATS = ("parquet", "csv")
MAX_SUBSCRIBERS = 20_000_000
MAX_MONTHS = 120
COMP_IDS = [c[0] for c in COMPETITORS]
PKG_IDS = [p[0] for p in PACKAGES]
OPERATORS = ["own", *COMP_IDS]
RECHARGE_CHANNELS = ("online", "card", "store", "agent", "bank")

Progress = Callable[[str, float, float | None], None]


@dataclass
class SimResult:
    """What :func:`simulate` wrote: one path and row count per table (truth included)."""

    out: Path
    fmt: str
    first_month: str
    last_month: str
    paths: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {
            "out": str(self.out),
            "format": self.fmt,
            "first_month": self.first_month,
            "last_month": self.last_month,
            "rows": dict(self.rows),
            "paths": {k: str(v) for k, v in self.paths.items()},
        }


def _check_args(subscribers, months, seed, fmt) -> None:
    if (
        isinstance(subscribers, bool)
        or not isinstance(subscribers, numbers.Integral)
        or not (100 <= subscribers <= MAX_SUBSCRIBERS)
    ):
        raise ConfigError(
            f"subscribers {subscribers!r} is out of range; expected an integer from 100 to {MAX_SUBSCRIBERS:,}"
        )
    if isinstance(months, bool) or not isinstance(months, numbers.Integral) or not 1 <= months <= MAX_MONTHS:
        raise ConfigError(f"months {months!r} is out of range; expected an integer from 1 to {MAX_MONTHS}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"seed {seed!r} is not valid; expected a non-negative integer")
    if fmt not in FORMATS:
        raise ConfigError(f"format {fmt!r} is not supported; expected one of {', '.join(FORMATS)}")


def simulate(
    subscribers: int,
    months: int,
    seed: int,
    out: Path | str,
    fmt: str = "parquet",
    start: str = "2024-01",
    config: SimConfig | None = None,
    progress: Progress | None = None,
) -> SimResult:
    """Simulate a fictional operator and write every canonical table plus the ground truth.

    ``subscribers`` is the size of the active base when the simulation starts (new lines are added
    every month); ``months`` written months begin at ``start`` (``YYYY-MM``). Tables go to
    ``out/<table>.<fmt>``, the ground truth to ``out/_truth/churn_truth.<fmt>``.
    Raises :class:`ConfigError` for arguments out of range.
    """
    _check_args(subscribers, months, seed, fmt)
    start_mi = parse_month(start)
    cfg = (config or SimConfig()).validate()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output {str(out)!r} exists and is not a folder; expected a folder path")
    return _Run(int(subscribers), int(months), int(seed), out, fmt, start_mi, cfg, progress).run()


class _Run:
    def __init__(self, subscribers, months, seed, out, fmt, start_mi, cfg, progress):
        self.n0, self.months, self.out, self.fmt, self.cfg = subscribers, months, out, fmt, cfg
        self.progress = progress or (lambda *_a, **_k: None)
        children = np.random.SeedSequence(seed).spawn(len(STREAMS))
        self.rng = {
            name: np.random.Generator(np.random.PCG64(c)) for name, c in zip(STREAMS, children, strict=True)
        }
        self.world = build_world(cfg, self.rng["world"], start_mi, months)
        kr = self.rng["keys"]
        self.keys = Keys(
            msisdn_mult=coprime_multiplier(kr, MSISDN_SPACE),
            msisdn_off=int(kr.integers(0, MSISDN_SPACE)),
            comp_mult=coprime_multiplier(kr, MSISDN_SPACE),
            comp_off=int(kr.integers(0, MSISDN_SPACE)),
            imei_mult=coprime_multiplier(kr, IMEI_SPACE),
            imei_off=int(kr.integers(0, IMEI_SPACE)),
            cert_mult=coprime_multiplier(kr, CERT_SPACE),
            cert_off=int(kr.integers(0, CERT_SPACE)),
        )
        n_months = months + cfg.burn_in_months
        cap = int(subscribers * (1 + (cfg.acquisition_rate * 1.4 + 0.006) * n_months)) + 64
        self.pop = Population(cap, cfg.contacts_per_subscriber)
        self.writers: dict[str, TableWriter] = {}
        self.n_interactions = 0
        self.result = SimResult(
            out=out, fmt=fmt, first_month=month_str(start_mi), last_month=month_str(self.world.last_mi)
        )

    # -- writers ---------------------------------------------------------------------------------
    def _writer(self, name: str) -> TableWriter:
        if name not in self.writers:
            table = TABLES.get(name) or TRUTH_TABLES[name]
            folder = self.out / "_truth" if name in TRUTH_TABLES else self.out
            path = folder / f"{name}.{self.fmt}"
            self.writers[name] = TableWriter(table, path, self.fmt)
            self.result.paths[name] = path
        return self.writers[name]

    def _close_all(self) -> None:
        for name, w in self.writers.items():
            self.result.rows[name] = w.close()

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> SimResult:
        pop = self.pop
        self.out.mkdir(parents=True, exist_ok=True)
        for name in [*TABLES, *TRUTH_TABLES]:  # open all: every table exists even when empty
            self._writer(name)
        try:
            self._loop()
        finally:
            self._close_all()
        del pop
        return self.result

    def _loop(self) -> None:
        cfg, world, pop, rng = self.cfg, self.world, self.pop, self.rng
        init_base(pop, rng["population"], cfg, world, self.n0)
        events = EventBuffer()
        truth = TruthBuffer()
        inter = InteractionBuffer()
        life = Lifecycle(pop, cfg, world, {"events": rng["events"], "hazard": rng["hazard"]}, events, truth)
        base = np.arange(pop.n, dtype=np.int64)
        t0 = (
            (month_first_day(pop.act_mi[base]) + pop.act_day[base] - 1) * DAY
            + 8 * 3600
            + rng["events"].integers(0, 13 * 3600, len(base))
        )
        events.add(base, t0, "activate", "new_subscription")
        self._write_events(events)
        offsets = [o for o in cfg.campaign_offsets if o < self.months] or [
            min(cfg.campaign_offsets[0] if cfg.campaign_offsets else 0, self.months - 1)
        ]
        campaign_mis = [world.start_mi + o for o in offsets]
        survey_mi = world.start_mi + min(cfg.survey_offset, self.months - 1)
        logs = [CampaignLog(index=i) for i in range(len(campaign_mis))]
        survey = None
        consent_parts: list[dict[str, np.ndarray]] = []
        consent_done = 0
        total = world.last_mi - world.first_mi + 1
        for step, mi in enumerate(range(world.first_mi, world.last_mi + 1)):
            write = mi >= world.start_mi
            promo_on = mi >= world.promo_launch_mi
            n_new = round(
                self.n0 * cfg.acquisition_rate * (1 + (cfg.promo_acquisition_boost if promo_on else 0))
            )
            new = acquire(pop, rng["acquisition"], cfg, world, mi, n_new)
            events.add(new, event_time(rng["events"], mi, pop.act_day[new]), "activate", "new_subscription")
            elig = life.eligible(mi)
            had = life.other_events(mi, elig)
            life.decide(mi, np.setdiff1d(elig, had, assume_unique=True))
            life.leave_due(mi)
            life.advance_pipeline(mi)
            if mi in campaign_mis:
                consent_parts.append(consent_arrays(pop, rng["consent"], world.last_mi, consent_done, pop.n))
                consent_done = pop.n
                allowed = allowed_lookup(consent_parts, pop.n)
                log = logs[campaign_mis.index(mi)]
                # members of a campaign whose follow-up window is still running are not selected again
                running = [
                    g.contact["sub"]
                    for g in logs
                    if g.campaign_mi >= 0 and g.campaign_mi + cfg.campaign_followup_months - 1 >= mi
                ]
                excl = np.concatenate(running) if running else None
                run_campaign(pop, cfg, world, rng["retention"], life, mi, allowed, inter, log, exclude=excl)
            if mi == survey_mi:
                survey = survey_arrays(pop, cfg, world, rng["survey"], mi)
            act = month_activity(pop, cfg, world, rng["activity"], self.keys, mi, inter, write)
            if write:
                self._write_month(mi, act)
                self._write_interactions(inter)
            inter.clear()
            self._write_events(events)
            self.progress("simulate", step + 1, total)
        consent_parts.append(consent_arrays(pop, rng["consent"], world.last_mi, consent_done, pop.n))
        for log in logs:
            campaign_outcomes(pop, cfg, world, rng["retention"], log)
        final = targeting_truth(pop, cfg, world, allowed_lookup(consent_parts, pop.n), world.last_mi)
        self._write_static()
        self._write_retention(logs, final)
        self._write_survey(survey)
        self._write_consent(consent_parts)
        self._write_truth(truth)

    # -- monthly tables --------------------------------------------------------------------------
    def _sub_ids(self, subs: np.ndarray):
        return ids("U", subs, 9)

    def _write_recharges(self, mi: int, subs: np.ndarray, b: dict) -> None:
        """The month's recharges (bill payments for postpaid) as one row per line and day: a line's
        ``recharge_count`` recharges fall on distinct days, one in each equal part of the month, and
        its ``recharge_amount`` is split between them to the cent."""
        rc = np.asarray(b["recharge_count"], dtype=np.int64)
        amount = np.asarray(b["recharge_amount"], dtype=np.float64)
        has = np.nonzero(rc > 0)[0]
        if not len(has):
            return
        n = rc[has]
        first = np.cumsum(n) - n
        row = np.repeat(has, n)
        j = np.arange(len(row)) - np.repeat(first, n)  # the recharge's position within the month
        k = np.repeat(n, n)
        rng = self.rng["recharge"]
        dim = int(days_in_month(mi))
        lo, hi = j * dim // k, (j + 1) * dim // k  # the recharge's part of the month: [lo, hi)
        day = lo + np.floor(rng.uniform(0, 1, len(row)) * (hi - lo)).astype(np.int64)
        w = rng.uniform(0.5, 1.5, len(row))
        part = np.round(amount[row] * w / np.repeat(np.add.reduceat(w, first), n), 2)
        last = j == k - 1
        before = np.repeat(np.add.reduceat(np.where(last, 0.0, part), first), n)
        part = np.maximum(np.where(last, np.round(amount[row] - before, 2), part), 0.0)
        post = self.pop.postpaid[subs[row]]
        channel = np.where(
            post,
            rng.choice(len(RECHARGE_CHANNELS), len(row), p=(0.40, 0.0, 0.10, 0.05, 0.45)),
            rng.choice(len(RECHARGE_CHANNELS), len(row), p=(0.45, 0.20, 0.15, 0.15, 0.05)),
        )
        self._writer("recharge").write(
            {
                "subscriber_id": self._sub_ids(subs[row]),
                "recharge_date": date_array(month_first_day(mi) + day),
                "amount": part,
                "channel": label_array(RECHARGE_CHANNELS, channel),
            }
        )

    def _write_events(self, events: EventBuffer) -> None:
        e = events.arrays()
        events.clear()
        if len(e["sub"]) == 0:
            return
        self._writer("status_event").write(
            {
                "subscriber_id": self._sub_ids(e["sub"]),
                "event_time": ts_array(e["time"]),
                "event_type": label_array(EVENT_TYPES, e["type"]),
                "reason": label_array(EVENT_REASONS, e["reason"]),
                "destination_operator": label_array(COMP_IDS, e["dest"]),
                "package_id": label_array(PKG_IDS, e["pkg"]),
            }
        )

    def _write_interactions(self, inter: InteractionBuffer) -> None:
        x = inter.arrays()
        n = len(x["sub"])
        if n == 0:
            return
        order = np.lexsort((x["sub"], x["time"]))
        start = self.n_interactions
        self.n_interactions += n
        self._writer("interaction").write(
            {
                "interaction_id": ids("I", np.arange(start, start + n), 10),
                "subscriber_id": self._sub_ids(x["sub"][order]),
                "interaction_time": ts_array(x["time"][order]),
                "kind": label_array(INTERACTION_KINDS, x["kind"][order]),
                "channel": label_array(INTERACTION_CHANNELS, x["channel"][order]),
                "topic": label_array(INTERACTION_TOPICS, x["topic"][order]),
                "resolved": x["resolved"][order],
            }
        )

    def _write_month(self, mi: int, act) -> None:
        subs = act.subs
        n = len(subs)
        sid = self._sub_ids(subs)
        month = month_array(mi, n)
        u, b = act.usage, act.billing
        imei = digits_str(u["imei"], 15)
        imei = pc.if_else(pa.array(u["imei_null"]), pa.scalar(None, pa.string()), imei)
        self._writer("usage_monthly").write(
            {
                "subscriber_id": sid,
                "month": month,
                "voice_out_min": u["voice_out_min"],
                "voice_in_min": u["voice_in_min"],
                "onnet_min": u["onnet_min"],
                "offnet_min": u["offnet_min"],
                "competitor_min": u["competitor_min"],
                "sms_count": u["sms_count"],
                "data_mb": u["data_mb"],
                "active_days": u["active_days"],
                "distinct_contacts": u["distinct_contacts"],
                "imei": imei,
                "second_sim_operator": label_array(COMP_IDS, u["second_sim"]),
            }
        )
        self._writer("billing_monthly").write(
            {
                "subscriber_id": sid,
                "month": month,
                "package_id": label_array(PKG_IDS, b["package"]),
                "revenue": b["revenue"],
                "arrears": b["arrears"],
                "balance": b["balance"],
                "recharge_count": b["recharge_count"],
                "recharge_amount": b["recharge_amount"],
                "overage": b["overage"],
            }
        )
        self._write_recharges(mi, subs, b)
        e = act.edges
        m = len(e["sub"])
        self._writer("call_edge").write(
            {
                "month": month_array(mi, m),
                "subscriber_id": self._sub_ids(e["sub"]),
                "peer_msisdn": digits_str(e["peer_msisdn"], 11),
                "peer_operator": label_array(OPERATORS, e["peer_operator"]),
                "calls": e["calls"],
                "minutes": e["minutes"],
            }
        )
        q = network_quality_arrays(self.world, mi, self.rng["network"])
        g = self.world.n_grids
        self._writer("network_quality").write(
            {
                "month": month_array(mi, g),
                "grid_id": self.world.grid_ids,
                **q,
            }
        )

    # -- tables written once ---------------------------------------------------------------------
    def _write_static(self) -> None:
        world, pop, cfg, keys = self.world, self.pop, self.cfg, self.keys
        self._writer("region").write(region_rows(world))
        self._writer("package").write(package_rows(world))
        self._writer("channel").write(channel_rows())
        self._writer("competitor").write(competitor_rows())
        pr = promotion_rows(world, cfg)
        pr["start_month"] = month_array(np.array(pr["start_month"]))
        pr["end_month"] = month_array(np.array(pr["end_month"]))
        self._writer("promotion").write(pr)
        nc = pop.nc
        c = np.arange(nc, dtype=np.int64)
        self._writer("customer").write(
            {
                "customer_id": ids("C", c, 9),
                "certificate_no": certificate_numbers(c, keys.cert_mult, keys.cert_off),
                "customer_group": label_array(E.codes(E.CUSTOMER_GROUP), pop.c_group[:nc]),
                "customer_type": label_array(E.codes(E.CUSTOMER_TYPE), pop.c_ctype[:nc]),
                "is_local": pop.c_is_local[:nc],
                "has_contact_info": pop.c_has_contact[:nc],
                "birth_year": _nullable_int(pop.c_birth_year[:nc], pop.c_birth_year[:nc] <= 0),
                "gender": label_array(("F", "M"), pop.c_gender[:nc]),
            }
        )
        n = pop.n
        s = np.arange(n, dtype=np.int64)
        act_day = month_first_day(pop.act_mi[:n]) + pop.act_day[:n] - 1
        chan_ids = channel_rows()["channel_id"]
        self._writer("subscription").write(
            {
                "subscriber_id": self._sub_ids(s),
                "customer_id": ids("C", pop.customer[:n], 9),
                "msisdn": digits_str(own_msisdn(s, keys.msisdn_mult, keys.msisdn_off), 11),
                "brand": label_array(BRANDS, world.pkg_brand[pop.pkg0[:n]]),
                "package_id": label_array(PKG_IDS, pop.pkg0[:n]),
                "payment_type": label_array(
                    ("prepaid", "postpaid"), world.pkg_postpaid[pop.pkg0[:n]].astype(np.int64)
                ),
                "activation_date": date_array(act_day),
                "channel_id": label_array(chan_ids, pop.channel[:n]),
                "contract_end": date_array(pop.contract_end[:n]),
                "subsidy_end": date_array(pop.subsidy_end[:n]),
                "family_group_id": _prefixed_or_null("F", pop.family[:n], 8),
                "grid_id": label_array(world.grid_ids, pop.grid[:n]),
            }
        )

    def _write_retention(self, logs: list[CampaignLog], final: dict[str, np.ndarray]) -> None:
        """Campaigns, offers, contacts, outcomes and the retention truth (see ``retention.py``)."""
        for name, batches in retention_tables(logs, self.cfg, self.world, final, self._sub_ids).items():
            for batch in batches:
                self._writer(name).write(batch)

    def _write_survey(self, s) -> None:
        if s is None or len(s["sub"]) == 0:
            return
        m = len(s["sub"])
        self._writer("survey_response").write(
            {
                "response_id": ids("R", np.arange(m), 8),
                "subscriber_id": self._sub_ids(s["sub"]),
                "response_date": date_array(s["day"]),
                "nps": s["nps"],
                "rating_data": s["data"],
                "rating_call": s["call"],
                "rating_price": s["price"],
                "rating_plan": s["plan"],
                "rating_service": s["service"],
                "importance_data": s["imp_data"],
                "importance_call": s["imp_call"],
                "importance_price": s["imp_price"],
                "importance_plan": s["imp_plan"],
                "importance_service": s["imp_service"],
                "has_alternative": s["has_alt"],
                "alternative_operator": label_array(COMP_IDS, s["alt"]),
            }
        )

    def _write_consent(self, parts: list[dict[str, np.ndarray]]) -> None:
        for c in parts:
            if len(c["sub"]) == 0:
                continue
            self._writer("consent").write(
                {
                    "subscriber_id": self._sub_ids(c["sub"]),
                    "channel": label_array(CONTACT_CHANNELS, c["channel"]),
                    "allowed": c["allowed"],
                    "updated_at": ts_array(c["time"]),
                }
            )

    def _write_truth(self, truth: TruthBuffer) -> None:
        t = truth.arrays()
        lag = self.cfg.dereg_lag_months
        left, route = t["left"].astype(np.int64), t["route"]
        recorded = np.where(
            np.isin(route, (ROUTE_ARREARS, ROUTE_FRAUD)),
            left + lag,
            np.where(np.isin(route, (ROUTE_USER, ROUTE_PORT)), left, -1),
        )
        recorded = np.where(recorded > self.world.last_mi, -1, recorded)
        new = t["new"]
        self._writer("churn_truth").write(
            {
                "subscriber_id": self._sub_ids(t["sub"]),
                "kind": label_array(CHURN_KINDS, t["kind"]),
                "reason_code": label_array(REASON_CODES, t["reason"]),
                "intent": label_array(INTENTS, t["intent"]),
                "driver": label_array(DRIVERS, t["driver"]),
                "mechanism": label_array([m.name for m in MECHANISMS], t["mech"]),
                "left_month": month_array(left),
                "recorded_month": month_array(recorded),
                "new_subscriber_id": _prefixed_or_null("U", new, 9),
            }
        )


def _nullable_int(values: np.ndarray, null: np.ndarray):
    return pa.array(values.astype(np.int64), mask=null, type=pa.int64())


def _prefixed_or_null(prefix: str, values: np.ndarray, width: int):
    v = np.asarray(values, dtype=np.int64)
    s = ids(prefix, np.maximum(v, 0), width)
    return pc.if_else(pa.array(v < 0), pa.scalar(None, pa.string()), s)
