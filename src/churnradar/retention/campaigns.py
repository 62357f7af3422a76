"""Create a retention campaign: offers, arms and a randomised control group stratified by segment
and region, stored in the operational store.

>>> from churnradar.retention.campaigns import OfferSpec, create_campaign
>>> c = create_campaign(engine, members, [OfferSpec("data_bonus", "sms", 15.0)],  # doctest: +SKIP
...                     name="Sept high-risk", as_of="2024-09", store_path="operator.duckdb")
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from churnradar import opstore as ops
from churnradar.periods import add_months, format_month, month_end, parse_month
from churnradar.retention.contacts import (
    ContactRules,
    check_channel,
    consent_matrix,
    ops_now,
    require_campaign,
    screen,
)
from churnradar.retention.errors import CampaignError
from churnradar.schema import enums as E

OFFER_KINDS = E.codes(E.OFFER_KIND)


@dataclass(frozen=True)
class OfferSpec:
    """One treatment arm: an offer kind sent through a channel at a cost per accepted offer (yuan)."""

    kind: str
    channel: str
    cost: float
    description: str = ""

    def validate(self) -> OfferSpec:
        if self.kind not in OFFER_KINDS:
            raise CampaignError(
                f"offer kind {self.kind!r} is unknown; expected one of {', '.join(OFFER_KINDS)}"
            )
        check_channel(self.channel)
        if not (isinstance(self.cost, int | float) and 0 <= self.cost <= 1_000_000):
            raise CampaignError(f"offer cost {self.cost!r} is out of range; expected 0 to 1,000,000 yuan")
        return self

    @classmethod
    def parse(cls, text: str) -> OfferSpec:
        """``kind:channel:cost`` (the CLI form), e.g. ``data_bonus:sms:15``."""
        parts = text.split(":")
        if len(parts) != 3:
            raise CampaignError(f"offer {text!r} is not kind:channel:cost; e.g. data_bonus:sms:15")
        try:
            cost = float(parts[2])
        except ValueError:
            raise CampaignError(f"offer {text!r}: cost {parts[2]!r} is not a number") from None
        return cls(parts[0], parts[1], cost).validate()


@dataclass
class CampaignResult:
    campaign_id: str
    offers: list[dict[str, Any]]
    members: int
    arms: dict[str, int]
    listable: int
    excluded: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return asdict(self)


def stratified_arms(
    strata: pd.Series, n_offers: int, control_share: float, rng: np.random.Generator
) -> np.ndarray:
    """Arm of each row (−1 control, else offer index), randomised within each stratum.

    In a stratum of n rows, ``control_share × n`` (randomly rounded) go to control and the rest are
    dealt to the offers in turn from a random start, after a random permutation: arms are balanced
    within every stratum, not only overall.
    """
    arms = np.empty(len(strata), dtype=np.int64)
    codes = pd.factorize(strata, sort=True)[0]
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for idx in np.split(order, bounds):
        n = len(idx)
        if n == 0:
            continue
        k = int(np.floor(control_share * n + rng.random()))
        perm = rng.permutation(idx)
        arms[perm[:k]] = -1
        rest = perm[k:]
        arms[rest] = (np.arange(len(rest)) + rng.integers(0, max(n_offers, 1))) % max(n_offers, 1)
    return arms


def create_campaign(
    engine: Engine,
    members: pd.DataFrame,
    offers: Sequence[OfferSpec],
    *,
    name: str,
    as_of: str | date,
    store_path: Path | str | None = None,
    control_share: float = 0.2,
    followup_months: int = 3,
    strata: Sequence[str] = ("segment", "region"),
    rules: ContactRules | None = None,
    seed: int | None = None,
    actor: str = "cli",
    campaign_id: str | None = None,
    planned_offer: str | None = None,
) -> CampaignResult:
    """Randomise ``members`` (``subscriber_id`` plus the ``strata`` columns) into offers and control.

    Subscribers flagged do-not-contact or over the contact-frequency rule on the start date are
    dropped before randomisation; members without consent on their offer's channel stay in their arm
    (intention to treat) but are never listed. Everything is written in one transaction with an
    audit row.

    With ``planned_offer`` (a column of ``members`` naming each member's offer kind, as a target
    list does) a member is randomised between control and their own offer only, within the strata
    and their offer (``control_share`` of each); every planned kind needs one offer of that kind.
    """
    offers = [o.validate() for o in offers]
    if not offers:
        raise CampaignError("a campaign needs at least one offer")
    if not 0 <= control_share < 1:
        raise CampaignError(f"control share {control_share!r} is out of range; expected 0 ≤ x < 1")
    if not 1 <= followup_months <= 12:
        raise CampaignError(f"follow-up {followup_months!r} months is out of range; expected 1 to 12")
    if "subscriber_id" not in members.columns:
        raise CampaignError("members need a subscriber_id column")
    missing = [s for s in strata if s not in members.columns]
    if missing:
        raise CampaignError(f"strata {missing} are not columns of the members; have {list(members.columns)}")
    rules = (rules or ContactRules()).validate()
    month = parse_month(as_of)
    start = add_months(month, 1)
    end = month_end(add_months(start, followup_months - 1))
    seed = int(seed if seed is not None else secrets.randbits(31))
    rng = np.random.default_rng(seed)
    cid = campaign_id or f"CR{start:%Y%m}-{secrets.token_hex(3).upper()}"

    m = members.drop_duplicates("subscriber_id").reset_index(drop=True).copy()
    m["subscriber_id"] = m["subscriber_id"].astype(str)
    for col in ("segment", "region"):
        m[col] = m[col].astype(str) if col in m.columns else ""
    why = screen(engine, store_path, m["subscriber_id"], start, rules).reindex(m["subscriber_id"]).to_numpy()
    excluded = {r: int((why == r).sum()) for r in ("do_not_contact", "frequency")}
    m = m[why == ""].reset_index(drop=True)
    if planned_offer is None:
        key = m[list(strata)].astype(str).agg("|".join, axis=1) if strata else pd.Series("", index=m.index)
        arm = stratified_arms(key, len(offers), control_share, rng)
    else:
        arm = _planned_arms(m, planned_offer, offers, list(strata), control_share, rng)
    offer_ids = [f"{cid}-O{j + 1}" for j in range(len(offers))]
    consent = consent_matrix(store_path, m["subscriber_id"])
    chan = np.array([o.channel for o in offers])
    treated = arm >= 0
    has_consent = np.zeros(len(m), dtype=bool)
    if treated.any():
        rows = consent.reindex(m["subscriber_id"]).to_numpy()
        cols = np.array([list(consent.columns).index(c) for c in chan])[np.clip(arm, 0, None)]
        has_consent = rows[np.arange(len(m)), cols] & treated
    eligible = treated & has_consent
    exclusion = np.where(treated & ~has_consent, "no_consent", "")
    contact_ids = [f"{cid}-{i:07d}" for i in range(len(m))]
    now = ops_now()
    assignments = [
        {
            "contact_id": contact_ids[i],
            "campaign_id": cid,
            "subscriber_id": m.at[i, "subscriber_id"],
            "offer_id": offer_ids[arm[i]] if arm[i] >= 0 else None,
            "is_control": bool(arm[i] < 0),
            "segment": m.at[i, "segment"],
            "region": m.at[i, "region"],
            "assigned_date": start,
            "eligible": bool(eligible[i]),
            "exclusion": str(exclusion[i]),
            "listed_at": None,
        }
        for i in range(len(m))
    ]
    arms = {
        "control": int((arm < 0).sum()),
        **{offer_ids[j]: int((arm == j).sum()) for j in range(len(offers))},
    }
    with engine.begin() as conn:
        if conn.execute(
            sa.select(ops.campaign_header.c.campaign_id).where(ops.campaign_header.c.campaign_id == cid)
        ).first():
            raise CampaignError(f"campaign {cid!r} already exists; choose another id")
        conn.execute(
            ops.campaign_header.insert().values(
                campaign_id=cid,
                name=name,
                as_of=format_month(month),
                start_date=start,
                end_date=end,
                control_share=float(control_share),
                followup_months=int(followup_months),
                strata=",".join(strata),
                seed=seed,
                status="running",
                created_by=actor,
                created_at=now,
            )
        )
        conn.execute(
            ops.campaign_offer.insert(),
            [
                {
                    "offer_id": offer_ids[j],
                    "campaign_id": cid,
                    "kind": o.kind,
                    "channel": o.channel,
                    "cost": float(o.cost),
                    "description": o.description or E.label(E.OFFER_KIND, o.kind, "zh"),
                }
                for j, o in enumerate(offers)
            ],
        )
        for lo in range(0, len(assignments), 5000):
            conn.execute(ops.contact_assignment.insert(), assignments[lo : lo + 5000])
        ops.audit(
            conn,
            actor=actor,
            action="campaign.create",
            target=cid,
            detail={"members": len(m), "arms": arms, "excluded": excluded, "seed": seed, "as_of": str(month)},
        )
    return CampaignResult(
        campaign_id=cid,
        offers=[{"offer_id": offer_ids[j], **asdict(o)} for j, o in enumerate(offers)],
        members=len(m),
        arms=arms,
        listable=int(eligible.sum()),
        excluded={**excluded, "no_consent": int((exclusion == "no_consent").sum())},
    )


def _planned_arms(
    m: pd.DataFrame,
    column: str,
    offers: Sequence[OfferSpec],
    strata: list[str],
    control_share: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Arm of each member (−1 control, else the index of the offer of their planned kind): control
    drawn within every stratum × planned kind, the rest keep their planned offer."""
    if column not in m.columns:
        raise CampaignError(f"planned offer column {column!r} is not a column of the members")
    index = {}
    for j, o in enumerate(offers):
        index.setdefault(o.kind, j)
    kinds = m[column].astype(str)
    unknown = sorted(set(kinds) - set(index))
    if unknown:
        raise CampaignError(
            f"planned offer kinds {unknown} have no offer in the campaign; offers are {sorted(index)}"
        )
    key = m[[*strata, column]].astype(str).agg("|".join, axis=1)
    control = stratified_arms(key, 1, control_share, rng) < 0
    return np.where(control, -1, kinds.map(index).to_numpy(dtype=np.int64))


def assign_agents(
    engine: Engine,
    campaign_id: str,
    agents: Sequence[str],
    *,
    contact_ids: Sequence[str] | None = None,
    actor: str = "cli",
) -> dict[str, int]:
    """Deal the campaign's listable members (treated and eligible; only ``contact_ids`` when given)
    to ``agents`` in turn, ordered by region then contact, replacing earlier assignments of those
    members; audited. Returns the members per agent."""
    from churnradar.opstore.targets import contact_agent

    names = [a.strip() for a in agents]
    bad = [a for a in names if not re.fullmatch(AGENT_NAME, a)]
    if not names or bad:
        raise CampaignError(
            f"agent names {bad or names!r} are not valid; expected 1 to 64 letters, digits, '_', '.', '-' or '@'"
        )
    if len(set(names)) != len(names):
        raise CampaignError(f"agent names {names!r} repeat a name; expected each agent once")
    a = ops.contact_assignment
    q = (
        sa.select(a.c.contact_id)
        .where(a.c.campaign_id == campaign_id, a.c.eligible, sa.not_(a.c.is_control))
        .order_by(a.c.region, a.c.contact_id)
    )
    now = ops_now()
    with engine.begin() as conn:
        require_campaign(conn, campaign_id)
        ids = [r[0] for r in conn.execute(q)]
        if contact_ids is not None:
            keep = set(contact_ids)
            ids = [c for c in ids if c in keep]
        rows = [
            {"contact_id": c, "agent": names[i % len(names)], "assigned_by": actor, "assigned_at": now}
            for i, c in enumerate(ids)
        ]
        for lo in range(0, len(ids), 5000):
            conn.execute(contact_agent.delete().where(contact_agent.c.contact_id.in_(ids[lo : lo + 5000])))
        for lo in range(0, len(rows), 5000):
            conn.execute(contact_agent.insert(), rows[lo : lo + 5000])
        counts = {n: sum(1 for r in rows if r["agent"] == n) for n in names}
        ops.audit(conn, actor=actor, action="campaign.assign", target=campaign_id, detail={"agents": counts})
    return counts


#: An agent's name: a login name or staff number.
AGENT_NAME = r"[A-Za-z0-9_.@\-]{1,64}"


def list_campaigns(engine: Engine) -> list[dict[str, Any]]:
    """Campaigns of the operational store with member, listed and outcome counts, newest first."""
    h, a, o = ops.campaign_header, ops.contact_assignment, ops.outcome_record
    members = (
        sa.select(
            a.c.campaign_id,
            sa.func.count().label("members"),
            sa.func.sum(sa.case((a.c.is_control, 1), else_=0)).label("control"),
            sa.func.sum(sa.case((a.c.listed_at.is_not(None), 1), else_=0)).label("listed"),
        )
        .group_by(a.c.campaign_id)
        .subquery()
    )
    outcomes = (
        sa.select(a.c.campaign_id, sa.func.count().label("outcomes"))
        .join(o, o.c.contact_id == a.c.contact_id)
        .group_by(a.c.campaign_id)
        .subquery()
    )
    q = (
        sa.select(h, members.c.members, members.c.control, members.c.listed, outcomes.c.outcomes)
        .outerjoin(members, members.c.campaign_id == h.c.campaign_id)
        .outerjoin(outcomes, outcomes.c.campaign_id == h.c.campaign_id)
        .order_by(h.c.created_at.desc())
    )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    for r in rows:
        for k in ("members", "control", "listed", "outcomes"):
            r[k] = int(r[k] or 0)
    return rows


def campaign_frames(engine: Engine, campaign_id: str) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """(header, offers, assignments with their agent ('' when none), latest contact and outcome) of
    an operational campaign."""
    from churnradar.opstore.targets import contact_agent

    h, a, off = ops.campaign_header, ops.contact_assignment, ops.campaign_offer
    with engine.connect() as conn:
        head = conn.execute(sa.select(h).where(h.c.campaign_id == campaign_id)).mappings().first()
        if head is None:
            raise CampaignError(f"campaign {campaign_id!r} does not exist in the operational store")
        offers = pd.DataFrame(
            conn.execute(sa.select(off).where(off.c.campaign_id == campaign_id)).mappings().all()
        )
        g = contact_agent
        members = pd.DataFrame(
            conn.execute(
                sa.select(a, sa.func.coalesce(g.c.agent, "").label("agent"))
                .outerjoin(g, g.c.contact_id == a.c.contact_id)
                .where(a.c.campaign_id == campaign_id)
            )
            .mappings()
            .all()
        )

        def of_members(table: sa.Table) -> pd.DataFrame:
            """Rows of ``table`` (keyed by contact) for this campaign's members."""
            q = sa.select(table).join(a, a.c.contact_id == table.c.contact_id)
            return pd.DataFrame(conn.execute(q.where(a.c.campaign_id == campaign_id)).mappings().all())

        ev = of_members(ops.contact_event)
        oc = of_members(ops.outcome_record)
    if len(ev):
        made = ev.groupby("contact_id")["contacted"].any()
        members["contacted"] = members["contact_id"].map(made).fillna(False).astype(bool)
    else:
        members["contacted"] = False
    if len(oc):
        last = oc.sort_values("recorded_time").groupby("contact_id").last()
        for col in ("accepted", "retained", "churned", "verified"):
            members[col] = members["contact_id"].map(last[col])
        members["contacted"] = members["contacted"] | members["contact_id"].isin(last.index)
    else:
        for col in ("accepted", "retained", "churned", "verified"):
            members[col] = None
    return dict(head), offers, members
