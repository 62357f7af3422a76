"""Fast random data in the canonical shape, for feature tests and benchmarks.

This is *not* the operator simulator (``churnradar.simulate``): nothing here is causal. It fills
every table the features read with plausible, seeded values, vectorised with numpy so that
10 million subscribers × 12 months can be written as Parquet in minutes, month by month, without
holding a whole table in memory. Identifiers are 64-hex-digit strings like the store's HMAC
digests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from churnradar.periods import add_months
from churnradar.schema import TABLES
from churnradar.schema.model import Table

_ARROW = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "month": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

PACKAGES = [
    # id, name, brand, payment, fee, data_gb, voice, 5g, promotion
    ("P01", "全球通 88", "premium", "postpaid", 88.0, 20.0, 500, False, False),
    ("P02", "全球通 5G 128", "premium", "postpaid", 128.0, 40.0, 800, True, False),
    ("P03", "动感地带 39", "youth", "prepaid", 39.0, 15.0, 100, False, False),
    ("P04", "动感地带 5G 59", "youth", "prepaid", 59.0, 30.0, 200, True, False),
    ("P05", "神州行 18", "budget", "prepaid", 18.0, 2.0, 100, False, False),
    ("P06", "神州行 8", "budget", "prepaid", 8.0, 1.0, 50, False, False),
    ("P07", "入网特惠 5", "budget", "prepaid", 5.0, 5.0, 50, False, True),
    ("P08", "校园 5G 29", "youth", "prepaid", 29.0, 20.0, 100, True, True),
]
CHANNELS = ["own_store", "franchise", "social", "online", "direct_sales"]
COMPETITORS = ["cu", "ct"]


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a canonical table."""
    return pa.schema([pa.field(c.name, _ARROW[c.dtype], nullable=c.nullable) for c in table.columns])


def _hashes(rng: np.random.Generator, n: int) -> pa.Array:
    raw = rng.integers(0, 16, size=(n, 64), dtype=np.uint8)
    return pa.array(_HEX[raw].view("S64").ravel()).cast(pa.string())


def _ids(prefix: str, idx: np.ndarray, width: int = 8) -> pa.Array:
    return pa.array(np.char.add(prefix, np.char.zfill(idx.astype(str), width)))


def _month(start: date, k: int) -> date:
    return add_months(start, k)


@dataclass
class SyntheticOperator:
    """Parameters of a synthetic operator; :meth:`tables` yields (table, Arrow batch) pairs."""

    subscribers: int = 3_000
    months: int = 12
    seed: int = 0
    start: date = date(2024, 1, 1)
    peers_per_month: float = 4.0  # call-graph edges per subscriber and month (mean)

    def month(self, k: int) -> date:
        return _month(self.start, k)

    # -- static tables ----------------------------------------------------------------------
    def _static(self, rng: np.random.Generator) -> dict:
        n = self.subscribers
        n_grids = max(20, n // 2_000)
        grid = rng.integers(0, n_grids, n)
        n_cust = max(1, int(n * 0.8))
        # activation: 85 % before the data window (up to 6 years), 15 % during it
        before = rng.random(n) < 0.85
        start_ord = self.start.toordinal()
        span = self.months * 30
        act = np.where(before, start_ord - rng.integers(1, 6 * 365, n), start_ord + rng.integers(0, span, n))
        # churn month (index into the window) or -1
        churn_k = np.where(rng.random(n) < 0.012 * self.months, rng.integers(0, self.months, n), -1)
        act_dates = np.array(act, dtype="datetime64[D]") - np.timedelta64(719163, "D")  # ordinal → epoch
        act_m = act_dates.astype("datetime64[M]")
        start_m = np.datetime64(self.start, "M")
        act_k = (act_m - start_m).astype(int)
        churn_k = np.where((churn_k >= 0) & (churn_k < np.maximum(act_k, 0) + 1), -1, churn_k)
        return {
            "n_grids": n_grids,
            "grid": grid,
            "n_cust": n_cust,
            "act_dates": act_dates,
            "act_k": act_k,
            "churn_k": churn_k,
            "package": rng.integers(0, len(PACKAGES), n),
            "msisdn": _hashes(rng, n),
            "imei": _hashes(rng, n),
        }

    def tables(self) -> Iterator[tuple[str, pa.Table]]:
        """Every canonical table, the large ones in monthly batches."""
        rng = np.random.default_rng(self.seed)
        n = self.subscribers
        s = self._static(rng)
        idx = np.arange(n)
        s["sid"] = sid = _ids("S", idx)

        # dimensions
        grids = np.arange(s["n_grids"])
        yield (
            "region",
            pa.table(
                {
                    "grid_id": _ids("G", grids, 5),
                    "grid_name": _ids("grid ", grids, 5),
                    "county_id": _ids("C", grids // 10, 3),
                    "county_name": _ids("县", grids // 10, 3),
                    "county_name_en": _ids("county ", grids // 10, 3),
                    "city": pa.array(["city"] * len(grids)),
                    "area_type": pa.array(
                        np.array(["urban", "county_town", "rural", "industrial"])[grids % 4]
                    ),
                },
                schema=arrow_schema(TABLES["region"]),
            ),
        )
        yield (
            "package",
            pa.table(
                {
                    "package_id": [p[0] for p in PACKAGES],
                    "package_name": [p[1] for p in PACKAGES],
                    "package_name_en": [p[1] for p in PACKAGES],
                    "brand": [p[2] for p in PACKAGES],
                    "payment_type": [p[3] for p in PACKAGES],
                    "monthly_fee": [p[4] for p in PACKAGES],
                    "data_gb": [p[5] for p in PACKAGES],
                    "voice_min": [p[6] for p in PACKAGES],
                    "is_5g": [p[7] for p in PACKAGES],
                    "is_promotion": [p[8] for p in PACKAGES],
                },
                schema=arrow_schema(TABLES["package"]),
            ),
        )
        yield (
            "channel",
            pa.table(
                {
                    "channel_id": [f"CH{i}" for i in range(len(CHANNELS))],
                    "channel_name": CHANNELS,
                    "channel_name_en": CHANNELS,
                    "channel_type": CHANNELS,
                    "county_id": [None] * len(CHANNELS),
                },
                schema=arrow_schema(TABLES["channel"]),
            ),
        )
        yield (
            "competitor",
            pa.table(
                {
                    "competitor_id": COMPETITORS,
                    "competitor_name": COMPETITORS,
                    "competitor_name_en": COMPETITORS,
                },
                schema=arrow_schema(TABLES["competitor"]),
            ),
        )
        cust = np.arange(s["n_cust"])
        groups = np.array(list(["key_account", "business", "mass", "migrant"]))
        yield (
            "customer",
            pa.table(
                {
                    "customer_id": _ids("K", cust),
                    "certificate_hash": _hashes(rng, len(cust)),
                    "customer_group": pa.array(groups[rng.choice(4, len(cust), p=[0.02, 0.08, 0.75, 0.15])]),
                    "customer_type": pa.array(np.where(rng.random(len(cust)) < 0.1, "group", "individual")),
                    "is_local": pa.array(rng.random(len(cust)) < 0.8),
                    "has_contact_info": pa.array(rng.random(len(cust)) < 0.9),
                    "birth_year": pa.array(rng.integers(1950, 2008, len(cust))),
                    "gender": pa.array(np.where(rng.random(len(cust)) < 0.5, "F", "M")),
                },
                schema=arrow_schema(TABLES["customer"]),
            ),
        )

        # subscriptions
        pkg = s["package"]
        pkg_ids = np.array([p[0] for p in PACKAGES])
        brands = np.array([p[2] for p in PACKAGES])
        payment = np.array([p[3] for p in PACKAGES])
        has_contract = rng.random(n) < 0.4
        contract_end = np.array(
            self.start.toordinal() + rng.integers(-365, self.months * 30 + 365, n) - 719163,
            dtype="datetime64[D]",
        )
        has_subsidy = rng.random(n) < 0.2
        subsidy_end = contract_end + rng.integers(-90, 90, n).astype("timedelta64[D]")
        in_family = rng.random(n) < 0.3
        family = np.where(in_family, idx // 3, -1)
        yield (
            "subscription",
            pa.table(
                {
                    "subscriber_id": _ids("S", idx),
                    "customer_id": _ids("K", idx % s["n_cust"]),
                    "msisdn_hash": s["msisdn"],
                    "brand": pa.array(brands[pkg]),
                    "package_id": pa.array(pkg_ids[pkg]),
                    "payment_type": pa.array(payment[pkg]),
                    "activation_date": pa.array(s["act_dates"]),
                    "channel_id": pa.array(np.char.add("CH", rng.integers(0, len(CHANNELS), n).astype(str))),
                    "contract_end": pa.array(contract_end, mask=~has_contract),
                    "subsidy_end": pa.array(subsidy_end, mask=~has_subsidy),
                    "family_group_id": pa.array(np.char.add("F", family.astype(str)), mask=~in_family),
                    "grid_id": _ids("G", s["grid"], 5),
                },
                schema=arrow_schema(TABLES["subscription"]),
            ),
        )

        # status events
        yield "status_event", self._status_events(rng, s)

        # monthly tables
        fee = np.array([p[4] for p in PACKAGES])[pkg]
        base_mou = rng.gamma(2.0, 150.0, n)
        base_data = rng.gamma(1.5, 3000.0, n)
        second_sim = np.where(rng.random(n) < 0.1, rng.choice(["own", "cu", "ct"], n), None)
        comp_sims = ~np.equal(second_sim, None)
        n_own_peers = 3
        own_offsets = rng.integers(1, n, n_own_peers) if n > 1 else np.zeros(n_own_peers, int)
        own_offsets[0] = 1  # family groups are runs of 3 subscribers: they call each other
        comp_hashes = _hashes(rng, max(1, n // 2))
        for k in range(self.months):
            m = self.month(k)
            alive = (s["act_k"] <= k) & ((s["churn_k"] < 0) | (s["churn_k"] >= k))
            ids = idx[alive]
            cnt = len(ids)
            trend = 1.0 + 0.03 * (k - self.months / 2) * np.where(s["churn_k"][ids] >= 0, -3, 1)
            mou = np.maximum(0.0, base_mou[ids] * trend * rng.lognormal(0, 0.3, cnt)).round(1)
            share = rng.dirichlet([6.0, 2.0, 2.0], cnt)
            out = (mou * rng.uniform(0.3, 0.7, cnt)).round(1)
            days = np.where(rng.random(cnt) < 0.05, 0, rng.integers(1, 32, cnt))
            mou = np.where(days == 0, 0.0, mou)
            out = np.where(days == 0, 0.0, out)
            imei_idx = np.where(rng.random(cnt) < 0.03, (ids + 1) % n, ids)  # handset changes/sharing
            month_col = pa.array(np.full(cnt, np.datetime64(m, "D")))
            sims = second_sim[ids]
            yield (
                "usage_monthly",
                pa.table(
                    {
                        "subscriber_id": sid.take(pa.array(ids)),
                        "month": month_col,
                        "voice_out_min": out,
                        "voice_in_min": (mou - out).round(1),
                        "onnet_min": (mou * share[:, 0]).round(1),
                        "offnet_min": (mou * share[:, 1]).round(1),
                        "competitor_min": (mou * share[:, 2]).round(1),
                        "sms_count": rng.poisson(20, cnt),
                        "data_mb": (base_data[ids] * trend * rng.lognormal(0, 0.4, cnt)).round(1),
                        "active_days": days,
                        "distinct_contacts": rng.poisson(15, cnt),
                        "imei_hash": s["imei"].take(pa.array(imei_idx)),
                        "second_sim_operator": pa.array(sims.astype(object), mask=~comp_sims[ids]),
                    },
                    schema=arrow_schema(TABLES["usage_monthly"]),
                ),
            )
            revenue = (fee[ids] * trend + rng.exponential(5.0, cnt)).round(2)
            arrears = np.where(rng.random(cnt) < 0.05, rng.exponential(30.0, cnt).round(2), 0.0)
            rc_count = np.where(payment[pkg[ids]] == "prepaid", rng.poisson(1.5, cnt), 0)
            cur_pkg = np.where(rng.random(cnt) < 0.02, rng.integers(0, len(PACKAGES), cnt), pkg[ids])
            yield (
                "billing_monthly",
                pa.table(
                    {
                        "subscriber_id": sid.take(pa.array(ids)),
                        "month": month_col,
                        "package_id": pa.array(pkg_ids[cur_pkg]),
                        "revenue": revenue,
                        "arrears": arrears,
                        "balance": rng.exponential(40.0, cnt).round(2),
                        "recharge_count": rc_count,
                        "recharge_amount": (rc_count * rng.choice([10.0, 30.0, 50.0, 100.0], cnt)).round(2),
                        "overage": np.where(rng.random(cnt) < 0.2, rng.exponential(10.0, cnt), 0.0).round(2),
                    },
                    schema=arrow_schema(TABLES["billing_monthly"]),
                ),
            )
            yield "recharge", self._recharges(k, m, ids, rc_count, sid)
            yield "interaction", self._interactions(rng, ids, m, k, sid)
            yield "call_edge", self._call_edges(rng, ids, m, s, own_offsets, comp_hashes)
            q = len(grids)
            yield (
                "network_quality",
                pa.table(
                    {
                        "month": pa.array(np.full(q, np.datetime64(m, "D"))),
                        "grid_id": _ids("G", grids, 5),
                        "drop_rate": rng.beta(2, 200, q).round(5),
                        "throughput_mbps": rng.gamma(5, 10, q).round(2),
                        "coverage_score": rng.uniform(50, 100, q).round(1),
                    },
                    schema=arrow_schema(TABLES["network_quality"]),
                ),
            )
        yield from self._campaigns(rng, idx, s)

    def _recharges(self, k: int, m: date, ids: np.ndarray, rc_count: np.ndarray, sid: pa.Array) -> pa.Table:
        """The month's recharges, one row per line and day: ``rc_count`` days, one in each equal part
        of the month (a stream of its own, so the other tables stay as they were)."""
        rng = np.random.default_rng([self.seed, k, 7])
        has = np.nonzero(rc_count > 0)[0]
        n = rc_count[has]
        row = np.repeat(has, n)
        j = np.arange(len(row)) - np.repeat(np.cumsum(n) - n, n)
        per = np.repeat(n, n)
        dim = (_month(self.start, k + 1) - m).days
        lo, hi = j * dim // per, (j + 1) * dim // per
        day = lo + np.floor(rng.uniform(0, 1, len(row)) * (hi - lo)).astype(np.int64)
        return pa.table(
            {
                "subscriber_id": sid.take(pa.array(ids[row])),
                "recharge_date": pa.array(np.datetime64(m, "D") + day),
                "amount": rng.choice([10.0, 30.0, 50.0, 100.0], len(row)),
                "channel": pa.array(rng.choice(["online", "card", "store", "agent"], len(row))),
            },
            schema=arrow_schema(TABLES["recharge"]),
        )

    def _status_events(self, rng: np.random.Generator, s: dict) -> pa.Table:
        n = self.subscribers
        idx = np.arange(n)
        act_ts = s["act_dates"].astype("datetime64[us]") + np.timedelta64(9, "h")
        parts = [(idx, act_ts, "activate", "new_subscription", None)]
        churners = idx[s["churn_k"] >= 0]
        ck = s["churn_k"][churners]
        base = np.array([np.datetime64(self.month(int(k)), "us") for k in range(self.months + 1)])
        t_churn = base[ck] + rng.integers(0, 27 * 24 * 3600, len(churners)) * np.timedelta64(1, "s")
        ported = rng.random(len(churners)) < 0.4
        parts.append((churners[ported], t_churn[ported], "port_out", "port_out", "cu"))
        parts.append((churners[~ported], t_churn[~ported], "deregister", "arrears", None))
        # suspensions (some followed by a reactivation 3 days later) and package changes
        sus = rng.random(n) < 0.1
        sk = rng.integers(0, self.months, sus.sum())
        t_sus = base[sk] + rng.integers(0, 20 * 24 * 3600, len(sk)) * np.timedelta64(1, "s")
        parts.append((idx[sus], t_sus, "suspend_oneway", "arrears", None))
        react = rng.random(len(sk)) < 0.6
        parts.append((idx[sus][react], t_sus[react] + np.timedelta64(3, "D"), "reactivate", "payment", None))
        chg = rng.random(n) < 0.05
        t_chg = base[rng.integers(0, self.months, chg.sum())] + np.timedelta64(5, "D")
        reason = np.where(rng.random(chg.sum()) < 0.5, "downgrade", "upgrade")
        parts.append((idx[chg], t_chg, "package_change", reason, None))
        sub, ts, typ, rsn, dest = [], [], [], [], []
        for ids, t, et, r, d in parts:
            sub.append(ids)
            ts.append(t)
            typ.append(np.full(len(ids), et))
            rsn.append(np.broadcast_to(np.asarray(r), (len(ids),)))
            dest.append(np.full(len(ids), d, dtype=object))
        dest_all = np.concatenate(dest)
        return pa.table(
            {
                "subscriber_id": _ids("S", np.concatenate(sub)),
                "event_time": pa.array(np.concatenate(ts)),
                "event_type": pa.array(np.concatenate(typ)),
                "reason": pa.array(np.concatenate(rsn)),
                "destination_operator": pa.array(dest_all, type=pa.string()),
                "package_id": pa.array(np.full(len(dest_all), None, dtype=object), type=pa.string()),
            },
            schema=arrow_schema(TABLES["status_event"]),
        )

    def _interactions(
        self, rng: np.random.Generator, ids: np.ndarray, m: date, k: int, sid: pa.Array
    ) -> pa.Table:
        who = ids[rng.random(len(ids)) < 0.08]
        c = len(who)
        t = np.datetime64(m, "us") + rng.integers(0, 28 * 24 * 3600, c) * np.timedelta64(1, "s")
        kinds = np.array(["complaint", "inquiry", "retention_contact"])
        topics = np.array(["billing", "network", "price", "service", "handset", "package", "other"])
        chans = np.array(["hotline", "store", "online", "regulator"])
        return pa.table(
            {
                "interaction_id": pa.array(np.char.add(f"I{k:03d}-", who.astype(str))),
                "subscriber_id": sid.take(pa.array(who)),
                "interaction_time": pa.array(t),
                "kind": pa.array(kinds[rng.choice(3, c, p=[0.4, 0.5, 0.1])]),
                "channel": pa.array(chans[rng.choice(4, c, p=[0.6, 0.2, 0.17, 0.03])]),
                "topic": pa.array(topics[rng.integers(0, len(topics), c)]),
                "resolved": pa.array(rng.random(c) < 0.7),
            },
            schema=arrow_schema(TABLES["interaction"]),
        )

    def _call_edges(
        self,
        rng: np.random.Generator,
        ids: np.ndarray,
        m: date,
        s: dict,
        own_offsets: np.ndarray,
        comp_hashes: pa.Array,
    ) -> pa.Table:
        n = self.subscribers
        sid = s["sid"]
        p_each = min(1.0, self.peers_per_month / (len(own_offsets) + 2))
        subs, peers, ops_ = [], [], []
        for off in own_offsets:  # a stable circle of our own subscribers
            keep = ids[rng.random(len(ids)) < p_each]
            subs.append(keep)
            peers.append(s["msisdn"].take(pa.array((keep + off) % n)))
            ops_.append(np.full(len(keep), "own"))
        for j in range(2):  # competitor numbers
            keep = ids[rng.random(len(ids)) < p_each]
            subs.append(keep)
            peers.append(comp_hashes.take(pa.array((keep * 7 + j) % len(comp_hashes))))
            ops_.append(np.array(COMPETITORS)[np.full(len(keep), j)])
        sub = np.concatenate(subs)
        c = len(sub)
        table = pa.table(
            {
                "month": pa.array(np.full(c, np.datetime64(m, "D"))),
                "subscriber_id": sid.take(pa.array(sub)),
                "peer_hash": pa.chunked_array(
                    [ch for p in peers for ch in (p.chunks if isinstance(p, pa.ChunkedArray) else [p])],
                    type=pa.string(),
                ),
                "peer_operator": pa.array(np.concatenate(ops_)),
                "calls": rng.integers(1, 30, c),
                "minutes": rng.gamma(2.0, 10.0, c).round(1),
            },
            schema=arrow_schema(TABLES["call_edge"]),
        )
        return table

    def _campaigns(
        self, rng: np.random.Generator, idx: np.ndarray, s: dict
    ) -> Iterator[tuple[str, pa.Table]]:
        n_camp = max(1, self.months // 3)
        camp_ids = [f"CP{i:02d}" for i in range(n_camp)]
        starts = [self.month(i * 3) for i in range(n_camp)]
        yield (
            "campaign",
            pa.table(
                {
                    "campaign_id": camp_ids,
                    "name": camp_ids,
                    "start_date": starts,
                    "end_date": [d + timedelta(days=60) for d in starts],
                    "control_share": [0.2] * n_camp,
                    "status": ["closed"] * n_camp,
                },
                schema=arrow_schema(TABLES["campaign"]),
            ),
        )
        yield (
            "offer",
            pa.table(
                {
                    "offer_id": [f"{c}-O1" for c in camp_ids],
                    "campaign_id": camp_ids,
                    "kind": ["tariff_discount"] * n_camp,
                    "channel": ["outbound_call"] * n_camp,
                    "cost": [20.0] * n_camp,
                    "description": ["discount"] * n_camp,
                },
                schema=arrow_schema(TABLES["offer"]),
            ),
        )
        sub, camp, day = [], [], []
        for i, st in enumerate(starts):
            who = idx[rng.random(len(idx)) < 0.05]
            sub.append(who)
            camp.append(np.full(len(who), i))
            day.append(np.datetime64(st, "D") + rng.integers(0, 20, len(who)).astype("timedelta64[D]"))
        sub_a, camp_a, day_a = np.concatenate(sub), np.concatenate(camp), np.concatenate(day)
        c = len(sub_a)
        control = rng.random(c) < 0.2
        contacted = ~control & (rng.random(c) < 0.7)
        ctime = day_a.astype("datetime64[us]") + rng.integers(1, 10 * 24 * 3600, c) * np.timedelta64(1, "s")
        contact_ids = np.char.add("CT", np.arange(c).astype(str))
        camp_names = np.array(camp_ids)[camp_a]
        yield (
            "contact",
            pa.table(
                {
                    "contact_id": pa.array(contact_ids),
                    "campaign_id": pa.array(camp_names),
                    "subscriber_id": _ids("S", sub_a),
                    "offer_id": pa.array(np.char.add(camp_names, "-O1"), mask=control),
                    "is_control": pa.array(control),
                    "assigned_date": pa.array(day_a),
                    "contacted": pa.array(contacted),
                    "contact_time": pa.array(ctime, mask=~contacted),
                },
                schema=arrow_schema(TABLES["contact"]),
            ),
        )
        rec = contacted
        yield (
            "outcome",
            pa.table(
                {
                    "outcome_id": pa.array(np.char.add("OC", np.arange(rec.sum()).astype(str))),
                    "contact_id": pa.array(contact_ids[rec]),
                    "recorded_time": pa.array(ctime[rec] + np.timedelta64(2, "D")),
                    "accepted": pa.array(rng.random(rec.sum()) < 0.3),
                    "retained": pa.array(np.full(rec.sum(), None, dtype=object), type=pa.bool_()),
                    "verified": pa.array(rng.random(rec.sum()) < 0.5),
                },
                schema=arrow_schema(TABLES["outcome"]),
            ),
        )


def write_parquet(op: SyntheticOperator, out_dir: str | Path) -> Path:
    """Write every canonical table as ``out_dir/<table>.parquet`` (streamed, month by month)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for name, batch in op.tables():
            if name not in writers:
                writers[name] = pq.ParquetWriter(out / f"{name}.parquet", batch.schema, compression="zstd")
            writers[name].write_table(batch)
        for name, table in TABLES.items():
            if name not in writers:  # tables the features do not read: empty, with their schema
                pq.write_table(arrow_schema(table).empty_table(), out / f"{name}.parquet")
    finally:
        for w in writers.values():
            w.close()
    return out


def write_store(
    op: SyntheticOperator | None, path: str | Path, parquet_dir: str | Path | None = None
) -> Path:
    """Create a DuckDB store with every canonical table and load ``op`` (or a Parquet folder) into it."""
    from churnradar.store.connection import connect

    path = Path(path)
    con = connect(path)
    try:
        for table in TABLES.values():
            con.execute(table.create_sql())
        if parquet_dir is not None:
            for name in TABLES:
                f = Path(parquet_dir) / f"{name}.parquet"
                if f.exists():
                    con.execute(f"INSERT INTO \"{name}\" SELECT * FROM read_parquet('{f}')")
        if op is not None:
            for name, batch in op.tables():
                con.register("_batch", batch)
                con.execute(f'INSERT INTO "{name}" SELECT * FROM _batch')
                con.unregister("_batch")
    finally:
        con.close()
    return path


__all__ = ["SyntheticOperator", "arrow_schema", "write_parquet", "write_store"]
