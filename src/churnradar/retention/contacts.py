"""Who may be put on a contact list: consent per channel, do-not-contact flags and a frequency rule.

Rules are checked before anyone is listed: at campaign creation (do-not-contact and frequency drop a
subscriber before randomisation; missing consent on the arm's channel keeps the randomised member
but marks them not listable) and again at export (a do-not-contact flag or a consent withdrawal set
after creation removes the line from the list, and the removal is audited).

Consent is opt-in: a subscriber without a ``consent`` row allowing a channel is not contacted on it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from churnradar import opstore as ops
from churnradar.reports.safe_cells import csv_frame, write_xlsx_table
from churnradar.retention.errors import CampaignError
from churnradar.schema import enums as E

CHANNELS = E.codes(E.CONTACT_CHANNEL)


@dataclass(frozen=True)
class ContactRules:
    """At most ``max_contacts`` retention contacts per subscriber in any ``per_days`` days."""

    max_contacts: int = 2
    per_days: int = 30

    def validate(self) -> ContactRules:
        if self.max_contacts < 0 or self.per_days < 1:
            raise CampaignError(
                f"contact rule {self.max_contacts} per {self.per_days} days is invalid; "
                "expected max_contacts ≥ 0 and per_days ≥ 1"
            )
        return self


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise CampaignError(
            f"channel {channel!r} is not a contact channel; expected one of {', '.join(CHANNELS)}"
        )
    return channel


def consent_matrix(store_path: Path | str | None, subscriber_ids: pd.Series | list[str]) -> pd.DataFrame:
    """Boolean frame (index subscriber_id, one column per channel): may we contact them there.

    Reads the analytical store's ``consent`` table; missing rows mean no consent.
    """
    ids = pd.Index(pd.unique(pd.Series(subscriber_ids, dtype="string")), name="subscriber_id")
    out = pd.DataFrame(False, index=ids, columns=list(CHANNELS))
    if store_path is None or len(ids) == 0:
        return out
    from churnradar.store import connect

    con = connect(store_path, read_only=True)
    try:
        con.register("_ids", pd.DataFrame({"subscriber_id": ids.astype(str)}))
        rows = con.sql(
            "SELECT c.subscriber_id, c.channel, bool_or(c.allowed) AS allowed FROM consent c "
            "JOIN _ids USING (subscriber_id) GROUP BY ALL"
        ).df()
    finally:
        con.close()
    if len(rows):
        wide = rows.pivot(index="subscriber_id", columns="channel", values="allowed")
        wide = wide.reindex(columns=list(CHANNELS)).astype("boolean").fillna(False).astype(bool)
        out.loc[wide.index.intersection(out.index)] = wide.loc[wide.index.intersection(out.index)]
    return out


def do_not_contact(engine: Engine) -> set[str]:
    """Subscribers flagged do-not-contact in the operational store."""
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.select(ops.contact_dnc.c.subscriber_id))}


def recent_contacts(
    engine: Engine,
    store_path: Path | str | None,
    subscriber_ids: pd.Series | list[str],
    on: date,
    per_days: int,
    exclude_campaign: str | None = None,
) -> pd.Series:
    """Retention contacts per subscriber in the ``per_days`` days up to ``on``.

    Counts members put on a list in the operational store (dated by their campaign's assignment
    date) and ``retention_contact`` interactions in the analytical store.
    """
    ids = pd.Index(pd.unique(pd.Series(subscriber_ids, dtype="string")), name="subscriber_id")
    counts = pd.Series(0, index=ids, dtype="int64")
    since = datetime.combine(on - timedelta(days=per_days), datetime.min.time(), tzinfo=UTC)
    until = datetime.combine(on + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    a = ops.contact_assignment
    # a listed member counts as contacted on the campaign's assignment date (its contact period)
    q = sa.select(a.c.subscriber_id, sa.func.count()).where(
        a.c.listed_at.is_not(None), a.c.assigned_date >= since.date(), a.c.assigned_date <= on
    )
    if exclude_campaign:
        q = q.where(a.c.campaign_id != exclude_campaign)
    with engine.connect() as conn:
        listed = dict(conn.execute(q.group_by(a.c.subscriber_id)).all())
    counts = counts.add(pd.Series(listed, dtype="int64"), fill_value=0).reindex(ids).fillna(0)
    if store_path is not None and len(ids):
        from churnradar.store import connect

        con = connect(store_path, read_only=True)
        try:
            con.register("_ids", pd.DataFrame({"subscriber_id": ids.astype(str)}))
            hist = con.execute(
                "SELECT i.subscriber_id, count(*) AS n FROM interaction i JOIN _ids USING (subscriber_id) "
                "WHERE i.kind = 'retention_contact' AND i.interaction_time >= ? AND i.interaction_time < ? "
                "GROUP BY ALL",
                [since.replace(tzinfo=None), until.replace(tzinfo=None)],
            ).df()
        finally:
            con.close()
        if len(hist):
            counts = counts.add(hist.set_index("subscriber_id")["n"], fill_value=0).reindex(ids).fillna(0)
    return counts.astype("int64")


def screen(
    engine: Engine,
    store_path: Path | str | None,
    subscriber_ids: pd.Series | list[str],
    on: date,
    rules: ContactRules,
    exclude_campaign: str | None = None,
) -> pd.Series:
    """Why each subscriber may not be contacted at all on ``on`` ('' when they may):
    ``do_not_contact`` or ``frequency`` (already ``max_contacts`` contacts in ``per_days`` days)."""
    rules.validate()
    ids = pd.Index(pd.unique(pd.Series(subscriber_ids, dtype="string")), name="subscriber_id")
    reason = pd.Series("", index=ids, dtype="object")
    dnc = do_not_contact(engine)
    n = recent_contacts(engine, store_path, ids, on, rules.per_days, exclude_campaign)
    reason[n.reindex(ids).to_numpy() >= rules.max_contacts] = "frequency"
    reason[ids.isin(list(dnc))] = "do_not_contact"
    return reason


LIST_COLUMNS = (
    "contact_id",
    "subscriber_id",
    "region",
    "segment",
    "channel",
    "offer_id",
    "offer_kind",
    "offer_zh",
    "offer_en",
    "cost",
    "agent",
)


def current_list(
    engine: Engine, store_path: Path | str | None, campaign_id: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(listed, dropped) of a campaign now: its eligible treated members (:data:`LIST_COLUMNS`, the
    agent each is assigned to or ''), consent on the offer's channel and the do-not-contact flags
    re-checked; ``dropped`` are the members those checks remove, with their ``reason``."""
    from churnradar.opstore.targets import contact_agent

    a, o, g = ops.contact_assignment, ops.campaign_offer, contact_agent
    with engine.connect() as conn:
        require_campaign(conn, campaign_id)
        rows = pd.DataFrame(
            conn.execute(
                sa.select(
                    a.c.contact_id,
                    a.c.subscriber_id,
                    a.c.region,
                    a.c.segment,
                    o.c.channel,
                    a.c.offer_id,
                    o.c.kind.label("offer_kind"),
                    o.c.cost,
                    sa.func.coalesce(g.c.agent, "").label("agent"),
                )
                .join(o, o.c.offer_id == a.c.offer_id)
                .outerjoin(g, g.c.contact_id == a.c.contact_id)
                .where(a.c.campaign_id == campaign_id, a.c.eligible, sa.not_(a.c.is_control))
                .order_by(a.c.region, o.c.channel, a.c.contact_id)
            )
            .mappings()
            .all()
        )
    if rows.empty:
        rows = pd.DataFrame(columns=[c for c in LIST_COLUMNS if c not in ("offer_zh", "offer_en")])
    consent = consent_matrix(store_path, rows["subscriber_id"])
    dnc = do_not_contact(engine)
    ok_consent = [bool(consent.at[s, c]) for s, c in zip(rows["subscriber_id"], rows["channel"], strict=True)]
    reason = pd.Series("", index=rows.index, dtype="object")
    reason[~pd.Series(ok_consent, index=rows.index, dtype=bool)] = "no_consent"
    reason[rows["subscriber_id"].isin(list(dnc))] = "do_not_contact"
    dropped = rows[reason != ""].assign(reason=reason[reason != ""])
    listed = rows[reason == ""].copy()
    listed["offer_zh"] = [E.label(E.OFFER_KIND, k, "zh") for k in listed["offer_kind"]]
    listed["offer_en"] = [E.label(E.OFFER_KIND, k, "en") for k in listed["offer_kind"]]
    return listed[list(LIST_COLUMNS)].reset_index(drop=True), dropped


def mark_listed(
    engine: Engine,
    campaign_id: str,
    listed: pd.DataFrame,
    dropped: pd.DataFrame,
    actor: str,
    files: list[str] | None = None,
) -> None:
    """Record an export: ``listed_at`` on the listed members (the frequency rule counts them), the
    dropped ones made ineligible with their reason, and one audit row."""
    now = ops_now()
    with engine.begin() as conn:
        if len(listed):
            conn.execute(
                ops.contact_assignment.update()
                .where(ops.contact_assignment.c.contact_id.in_(listed["contact_id"].tolist()))
                .values(listed_at=now)
            )
        for reason_code, part in dropped.groupby("reason") if len(dropped) else []:
            conn.execute(
                ops.contact_assignment.update()
                .where(ops.contact_assignment.c.contact_id.in_(part["contact_id"].tolist()))
                .values(eligible=False, exclusion=str(reason_code))
            )
        ops.audit(
            conn,
            actor=actor,
            action="campaign.export",
            target=campaign_id,
            detail={"listed": len(listed), "excluded_at_export": len(dropped), "files": files or []},
        )


def export_lists(
    engine: Engine,
    store_path: Path | str | None,
    campaign_id: str,
    out_dir: Path | str,
    formats: tuple[str, ...] = ("csv", "xlsx"),
    actor: str = "cli",
) -> dict[str, Any]:
    """Write one contact list per region and channel (``<campaign>_<region>_<channel>.csv|xlsx``).

    Only treated members who are eligible *now* are listed: consent on the offer's channel and no
    do-not-contact flag are re-checked at export (:func:`current_list`); listed members get
    ``listed_at`` (which the frequency rule counts), and newly excluded ones are audited. Text cells
    are written as text (see :mod:`churnradar.reports.safe_cells`): a region or segment name is
    never a formula.
    """
    for f in formats:
        if f not in ("csv", "xlsx"):
            raise CampaignError(f"list format {f!r} is not supported; expected csv or xlsx")
    listed, dropped = current_list(engine, store_path, campaign_id)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    for (region, channel), part in listed.groupby(["region", "channel"], sort=True):
        stem = _file_stem(campaign_id, region or "all", channel)
        if "csv" in formats:
            path = out / f"{stem}.csv"
            csv_frame(part).to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL, encoding="utf-8-sig")
            files.append(str(path))
        if "xlsx" in formats:
            path = out / f"{stem}.xlsx"
            write_xlsx_table(path, part, "contacts")
            files.append(str(path))
    mark_listed(engine, campaign_id, listed, dropped, actor, files)
    return {"campaign_id": campaign_id, "listed": len(listed), "excluded": len(dropped), "files": files}


def _file_stem(*parts: str) -> str:
    """A file name from ids of the data: anything but letters, digits, '.', '-' becomes '_' (a
    region id can never name a path outside the output folder)."""
    return "_".join(re.sub(r"[^A-Za-z0-9.\-]", "_", str(p)).lstrip(".") or "_" for p in parts)


def ops_now() -> datetime:
    return datetime.now(UTC)


def require_campaign(conn: Any, campaign_id: str) -> None:
    """CampaignError unless the operational store holds ``campaign_id``."""
    header = ops.campaign_header
    if (
        conn.execute(sa.select(header.c.campaign_id).where(header.c.campaign_id == campaign_id)).first()
        is None
    ):
        raise CampaignError(f"campaign {campaign_id!r} does not exist in the operational store")
