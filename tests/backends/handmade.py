"""A hand-made operator whose feature values at T = 2024-06 are worked out by hand.

Subscribers (T = 2024-06; end of T = 2024-07-01 00:00):

* A: active, premium postpaid, tenure 10 months, family F1, grid G1; revenue 10, 20, 30 in
  T-2..T (and 1000 in the future month T+1); calls B, D and a competitor number in T-1, C and D
  in T; shares its handset with D in T; a competitor second SIM in T.
* B: family F1, deregistered in T-1 (a churned neighbour of A; not in the population).
* C: ported out *after* T (still in the population; not yet a churned neighbour).
* D: active, family F1, flat revenue 40; suspended in T; silent since an unresolved complaint in T-3.
* E: activated after T (not in the population). F: deregistered in T-4 (not in the population).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from churnradar.features.synthetic import arrow_schema
from churnradar.schema import TABLES

AS_OF = "2024-06"

_DEFAULTS = {
    "string": "x",
    "int": 0,
    "float": 0.0,
    "bool": False,
    "date": date(2020, 1, 1),
    "month": date(2020, 1, 1),
    "timestamp": datetime(2020, 1, 1),
}


def _h(name: str) -> str:
    """A stand-in 64-hex digest for a number or handset."""
    return (name.encode().hex() * 64)[:64]


def _sub(sid: str, activated: date, **kw: Any) -> dict:
    row = {
        "subscriber_id": sid,
        "customer_id": f"K{sid}",
        "msisdn_hash": _h("m" + sid),
        "brand": "budget",
        "package_id": "P05",
        "payment_type": "prepaid",
        "activation_date": activated,
        "channel_id": "CH0",
        "grid_id": "G2",
    }
    row.update(kw)
    return row


def _usage(sid: str, month: date, out: float, inn: float, days: int, **kw: Any) -> dict:
    row = {
        "subscriber_id": sid,
        "month": month,
        "voice_out_min": out,
        "voice_in_min": inn,
        "active_days": days,
    }
    row.update(kw)
    return row


def _bill(sid: str, month: date, revenue: float, **kw: Any) -> dict:
    row = {"subscriber_id": sid, "month": month, "package_id": "P05", "revenue": revenue}
    row.update(kw)
    return row


def _edge(sid: str, month: date, peer: str, op: str = "own") -> dict:
    return {"month": month, "subscriber_id": sid, "peer_hash": peer, "peer_operator": op, "calls": 1}


def _event(sid: str, t: datetime, kind: str, reason: str | None = None) -> dict:
    return {"subscriber_id": sid, "event_time": t, "event_type": kind, "reason": reason}


def _interaction(iid: str, sid: str, t: datetime, kind: str, resolved: bool, topic: str = "network") -> dict:
    return {
        "interaction_id": iid,
        "subscriber_id": sid,
        "interaction_time": t,
        "kind": kind,
        "channel": "hotline",
        "topic": topic,
        "resolved": resolved,
    }


M = {k: date(2024, k, 1) for k in range(1, 13)}


def rows() -> dict[str, list[dict]]:
    return {
        "region": [
            {"grid_id": "G1", "county_id": "C1", "area_type": "urban"},
            {"grid_id": "G2", "county_id": "C1", "area_type": "urban"},
        ],
        "package": [
            {"package_id": "P01", "brand": "premium", "payment_type": "postpaid", "monthly_fee": 88.0},
            {"package_id": "P05", "brand": "budget", "payment_type": "prepaid", "monthly_fee": 18.0},
        ],
        "channel": [{"channel_id": "CH0", "channel_type": "own_store"}],
        "customer": [
            {"customer_id": f"K{s}", "customer_group": "mass", "customer_type": "individual"}
            for s in "ABCDEF"
        ],
        "subscription": [
            _sub(
                "A",
                date(2023, 8, 15),
                brand="premium",
                package_id="P01",
                payment_type="postpaid",
                family_group_id="F1",
                grid_id="G1",
                contract_end=date(2024, 8, 31),
            ),
            _sub("B", date(2022, 1, 1), family_group_id="F1"),
            _sub("C", date(2022, 1, 1)),
            _sub("D", date(2022, 1, 1), family_group_id="F1"),
            _sub("E", date(2024, 7, 2)),
            _sub("F", date(2021, 1, 1)),
        ],
        "status_event": [
            _event("A", datetime(2023, 8, 15, 10), "activate", "new_subscription"),
            _event("A", datetime(2024, 3, 5, 8), "suspend_oneway", "arrears"),
            _event("A", datetime(2024, 3, 8, 8), "reactivate", "payment"),
            _event("B", datetime(2024, 5, 10, 12), "deregister", "arrears"),
            _event("C", datetime(2024, 7, 3, 12), "port_out", "port_out"),
            _event("D", datetime(2024, 6, 20, 0), "suspend_twoway", "arrears"),
            _event("F", datetime(2024, 2, 1, 0), "deregister", "user_request"),
            _event("A", datetime(2024, 7, 1, 0), "suspend_oneway", "arrears"),  # after T: invisible
        ],
        "usage_monthly": [
            _usage(
                "A",
                M[5],
                30.0,
                70.0,
                20,
                onnet_min=60.0,
                offnet_min=20.0,
                competitor_min=20.0,
                second_sim_operator="own",
                imei_hash=_h("I0"),
            ),
            _usage(
                "A",
                M[6],
                20.0,
                30.0,
                0,
                onnet_min=30.0,
                offnet_min=10.0,
                competitor_min=10.0,
                second_sim_operator="cu",
                imei_hash=_h("I1"),
            ),
            _usage("A", M[7], 999.0, 999.0, 31, imei_hash=_h("I9")),  # after T
            _usage("D", M[6], 10.0, 10.0, 5, imei_hash=_h("I1")),
        ],
        "billing_monthly": [
            _bill("A", M[4], 10.0, package_id="P01"),
            _bill("A", M[5], 20.0, package_id="P01"),
            _bill("A", M[6], 30.0, package_id="P01", balance=15.0, arrears=3.0),
            _bill("A", M[7], 1000.0, package_id="P01"),  # after T
            *[_bill("D", M[k], 40.0) for k in (3, 4, 5, 6)],
        ],
        "interaction": [
            _interaction("i1", "A", datetime(2024, 4, 10, 9), "complaint", False),
            _interaction("i2", "A", datetime(2024, 6, 5, 9), "inquiry", True),
            _interaction("i3", "A", datetime(2024, 7, 1, 0), "complaint", False),  # after T
            _interaction("i4", "D", datetime(2024, 3, 1, 9), "complaint", False),
        ],
        "call_edge": [
            _edge("A", M[5], _h("mB")),
            _edge("A", M[5], _h("mD")),
            _edge("A", M[5], _h("X"), "cu"),
            _edge("A", M[6], _h("mC")),
            _edge("A", M[6], _h("mD")),
            _edge("A", M[7], _h("mE")),  # after T
        ],
        "network_quality": [
            {"month": M[4], "grid_id": "G1", "drop_rate": 0.01},
            {"month": M[5], "grid_id": "G1", "drop_rate": 0.02},
            {"month": M[6], "grid_id": "G1", "drop_rate": 0.03},
            *[{"month": M[k], "grid_id": "G2", "drop_rate": 0.04} for k in (4, 5, 6)],
            {"month": M[7], "grid_id": "G1", "drop_rate": 0.9},  # after T
        ],
        "contact": [
            {
                "contact_id": "c1",
                "campaign_id": "CP1",
                "subscriber_id": "A",
                "offer_id": "O1",
                "assigned_date": date(2024, 5, 2),
                "contacted": True,
                "contact_time": datetime(2024, 5, 3, 10),
            },
            {
                "contact_id": "c2",
                "campaign_id": "CP2",
                "subscriber_id": "A",
                "offer_id": "O2",
                "assigned_date": date(2024, 7, 1),
                "contacted": True,
                "contact_time": datetime(2024, 7, 2),
            },
        ],
        "outcome": [
            {"outcome_id": "o1", "contact_id": "c1", "recorded_time": datetime(2024, 5, 5), "accepted": True},
            {"outcome_id": "o2", "contact_id": "c2", "recorded_time": datetime(2024, 7, 3), "accepted": True},
        ],
    }


def _table(name: str, data: list[dict]) -> pa.Table:
    table = TABLES[name]
    cols = {}
    for c in table.columns:
        default = None if c.nullable else _DEFAULTS[c.dtype]
        cols[c.name] = [r.get(c.name, default) for r in data]
    return pa.table(cols, schema=arrow_schema(table))


def build_handmade_store(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        for table in TABLES.values():
            con.execute(table.create_sql())
        for name, data in rows().items():
            arrow = _table(name, data)  # noqa: F841 - read by DuckDB's replacement scan
            con.execute(f'INSERT INTO "{name}" SELECT * FROM arrow')
    finally:
        con.close()
    return path
