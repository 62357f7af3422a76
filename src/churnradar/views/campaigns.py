"""Campaigns in a scope: listing, one campaign with its evaluation, contact lists.

Two sources: campaigns ingested into the analytical store (history from the BSS) and campaigns
created by ``churnradar campaign`` in the operational store (retention; pass its ``engine``). A
campaign is visible in a scope when at least one of its contacts lives there (every campaign for
the whole operator); its counts and contact lists count only those.

The evaluation is :func:`churnradar.retention.evaluate.evaluate_campaign`, the one definition of a
campaign's effect (``churnradar campaign evaluate`` prints the same). It measures whole campaigns:
a reader whose regions hold only part of a campaign's members gets no evaluation, with a note
saying why, rather than figures that include other regions' members.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from churnradar.errors import ConfigError
from churnradar.views._json import jsonable
from churnradar.views.regions import in_scope_ids, subs_cte
from churnradar.views.risk import MAX_PAGE_SIZE
from churnradar.views.scope import NotInScope, RegionScope
from churnradar.views.store import ReadStore


def _check_page(page: int, page_size: int) -> None:
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ConfigError(f"page must be ≥ 1 and page_size 1..{MAX_PAGE_SIZE}, got {page} and {page_size}")


def _records(df: Any) -> list[dict[str, Any]]:
    if df is None or not len(df):
        return []
    return jsonable(df.astype(object).where(df.notna(), None).to_dict(orient="records"))


# -- the operational store (retention) ----------------------------------------------------------------
def ops_frames(engine: Any, campaign_id: str) -> Any:
    """(header, offers, members) of an operational campaign, or None when it is not one."""
    if engine is None:
        return None
    from churnradar.retention.campaigns import campaign_frames
    from churnradar.retention.errors import CampaignError

    try:
        return campaign_frames(engine, campaign_id)
    except CampaignError:
        return None


def ops_members(store: ReadStore, scope: RegionScope, engine: Any, campaign_id: str) -> Any:
    """The members in ``scope`` of an operational campaign (a frame), or None when it is not one."""
    got = ops_frames(engine, campaign_id)
    if got is None:
        return None
    members = got[2]
    if not len(members) or scope.everything:
        return members
    keep = in_scope_ids(store, scope, members["subscriber_id"].tolist())
    return members[members["subscriber_id"].isin(keep)]


def ops_contacts_of(engine: Any, subscriber_id: str) -> list[dict[str, Any]]:
    """A subscriber's contacts in operational campaigns, each with its recorded outcomes (none
    without the operational store)."""
    if engine is None:
        return []
    import sqlalchemy as sa

    from churnradar import opstore as ops

    a, o, h = ops.contact_assignment, ops.outcome_record, ops.campaign_header
    q = (
        sa.select(
            a.c.contact_id,
            a.c.campaign_id,
            h.c.name.label("campaign_name"),
            a.c.offer_id,
            a.c.is_control,
            a.c.assigned_date,
            o.c.accepted,
            o.c.retained,
            o.c.recorded_time,
            o.c.recorded_by,
        )
        .join(h, h.c.campaign_id == a.c.campaign_id)
        .outerjoin(o, o.c.contact_id == a.c.contact_id)
        .where(a.c.subscriber_id == subscriber_id)
        .order_by(a.c.assigned_date, o.c.recorded_time)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def _ops_campaigns(store: ReadStore, scope: RegionScope, engine: Any) -> list[dict[str, Any]]:
    if engine is None:
        return []
    from churnradar.retention.campaigns import list_campaigns

    out = []
    for c in list_campaigns(engine):
        if not scope.everything:
            members = ops_members(store, scope, engine, c["campaign_id"])
            if members is None or not len(members):
                continue
            c = {**c, "members": len(members), "control": int(members["is_control"].sum())}
        out.append(
            {
                "campaign_id": c["campaign_id"],
                "name": c["name"],
                "start_date": c["start_date"],
                "end_date": c["end_date"],
                "control_share": c["control_share"],
                "status": c["status"],
                "contacts": c["members"],
                "control": c["control"],
                "source": "operational",
            }
        )
    return out


# -- the analytical store (history) -------------------------------------------------------------------
def history_campaigns(store: ReadStore, scope: RegionScope) -> list[dict[str, Any]]:
    """Ingested campaigns with at least one contact in scope (every campaign for the whole operator)."""
    if not store.has("campaign"):
        return []
    cte, params = subs_cte(scope)
    join = "LEFT JOIN" if scope.everything else "JOIN"
    return store.rows(
        f"""WITH {cte},
        c AS (SELECT contact.* FROM contact JOIN subs USING (subscriber_id))
        SELECT k.campaign_id, k.name, k.start_date, k.end_date, k.control_share, k.status,
               count(c.contact_id) AS contacts, count(c.contact_id) FILTER (WHERE c.is_control) AS control,
               count(c.contact_id) FILTER (WHERE c.contacted) AS contacted
        FROM campaign k {join} c ON c.campaign_id = k.campaign_id
        GROUP BY ALL ORDER BY k.start_date DESC, k.campaign_id""",
        params,
    )


def _history_campaign(store: ReadStore, scope: RegionScope, campaign_id: str) -> dict[str, Any]:
    found = [c for c in history_campaigns(store, scope) if c["campaign_id"] == campaign_id]
    if not found:
        raise NotInScope(f"no campaign {campaign_id!r} in your regions")
    return {**found[0], "source": "history"}


def contact(store: ReadStore, scope: RegionScope, campaign_id: str, contact_id: str) -> dict[str, Any]:
    """One contact of an ingested campaign in scope (:class:`NotInScope` otherwise)."""
    cte, params = subs_cte(scope)
    rows = store.rows(
        f"""WITH {cte} SELECT c.contact_id, c.campaign_id, c.subscriber_id, c.is_control, c.offer_id
        FROM contact c JOIN subs USING (subscriber_id) WHERE c.campaign_id = ? AND c.contact_id = ?""",
        [*params, campaign_id, contact_id],
    )
    if not rows:
        raise NotInScope(f"no contact {contact_id!r} of campaign {campaign_id!r} in your regions")
    return rows[0]


# -- both ----------------------------------------------------------------------------------------------
def campaigns(store: ReadStore, scope: RegionScope, engine: Any = None) -> list[dict[str, Any]]:
    """Operational campaigns, then ingested ones, with contacts in ``scope`` (counts within it)."""
    hist = [{**c, "source": "history"} for c in history_campaigns(store, scope)]
    return jsonable(_ops_campaigns(store, scope, engine) + hist)


def campaign(store: ReadStore, scope: RegionScope, campaign_id: str, engine: Any = None) -> dict[str, Any]:
    """One campaign in ``scope``: header, offers and its evaluation per arm against control
    (:func:`evaluation`)."""
    frames = ops_frames(engine, campaign_id)
    if frames is None:
        head = _history_campaign(store, scope, campaign_id)
        offers = store.rows(
            "SELECT offer_id, kind, channel, cost, description FROM offer WHERE campaign_id = ? ORDER BY offer_id",
            [campaign_id],
        )
    else:
        header, offer_frame, _ = frames
        members = ops_members(store, scope, engine, campaign_id)
        if not scope.everything and not len(members):
            raise NotInScope(f"no campaign {campaign_id!r} in your regions")
        head = {**header, "source": "operational", "contacts": len(members)}
        offers = _records(offer_frame)
    arms, notes = evaluation(store, scope, campaign_id, engine)
    return jsonable({"campaign": head, "offers": offers, "evaluation": arms, "evaluation_notes": notes})


def evaluation(
    store: ReadStore, scope: RegionScope, campaign_id: str, engine: Any = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The campaign's evaluation per arm, from :func:`~churnradar.retention.evaluate.evaluate_campaign`.

    Arms: ``control`` (its size and retention) and one per offer: size, retention rate with its 95%
    interval, uplift against control with its interval, incremental retained and revenue, cost and
    ROI; every arm also counts its members contacted and accepting (of the campaign's member list,
    :func:`~churnradar.retention.evaluate.campaign_members`). Notes: ``observed`` (the follow-up window is fully recorded),
    ``window_end``, ``warnings``, and ``unavailable`` (why there is no evaluation, when there is none).
    """
    from churnradar.retention.errors import CampaignError
    from churnradar.retention.evaluate import campaign_members, evaluate_campaign
    from churnradar.retention.risk import RiskWarning

    if store.path is None:
        return [], {"unavailable": "the store has no file to evaluate campaigns on"}
    try:
        members = campaign_members(store.path, campaign_id, engine)[4]
        if not scope.everything:
            ids = members["subscriber_id"].astype(str).tolist()
            if len(in_scope_ids(store, scope, ids)) < len(set(ids)):
                return [], {
                    "unavailable": "the evaluation covers whole campaigns and this campaign has members "
                    "outside your regions"
                }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RiskWarning)  # the note is in ev.warnings
            ev = evaluate_campaign(store.path, campaign_id, engine=engine, with_segments=False)
    except CampaignError as exc:
        return [], {"unavailable": str(exc)}
    ov = ev.overall
    counts = _arm_counts(members)
    arms = [
        {
            "arm": "control",
            "n": ov["n_control"],
            **counts.get("control", {"contacted": 0, "accepted": 0}),
            "retention_rate": _num(ov["control_retention"]),
            "uplift_vs_control": None,
        }
    ]
    for r in ev.by_offer.to_dict("records") if len(ev.by_offer) else []:
        arms.append(
            {
                "arm": r["arm"],
                "kind": r.get("kind"),
                "channel": r.get("channel"),
                "n": int(r["n"]),
                **counts.get(r["arm"], {"contacted": 0, "accepted": 0}),
                "retention_rate": _num(r["retention"]),
                "retention_ci": [_num(x) for x in r["retention_ci"]],
                "uplift_vs_control": _num(r["uplift"]),
                "uplift_ci": [_num(x) for x in r["uplift_ci"]],
                "incremental_retained": _num(r["incremental_retained"]),
                "incremental_revenue": _num(r["incremental_revenue"]),
                "cost": _num(r["cost"]),
                "roi": _num(r["roi"]),
            }
        )
    notes = {"observed": ev.observed, "window_end": ev.window_end, "warnings": list(ev.warnings)}
    return jsonable(arms), jsonable(notes)


def _num(v: Any) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def _arm_counts(members: Any) -> dict[str, dict[str, int]]:
    """Members contacted and accepting per arm (an offer id, or ``control``)."""
    m = members.copy()
    control = m["is_control"].fillna(False).astype(bool)
    m["arm"] = m["offer_id"].where(~control, "control").fillna("control")
    for col in ("contacted", "accepted"):
        m[col] = m[col].astype("boolean").fillna(False).astype(bool) if col in m else False
    return {
        str(arm): {"contacted": int(g["contacted"].sum()), "accepted": int(g["accepted"].sum())}
        for arm, g in m.groupby("arm")
    }


def contacts(
    store: ReadStore,
    scope: RegionScope,
    campaign_id: str,
    engine: Any = None,
    page: int = 1,
    page_size: int = 50,
    agent: str | None = None,
) -> dict[str, Any]:
    """The campaign's contacts in ``scope`` with their outcomes, by contact id, paged; an operational
    campaign's contacts carry their ``agent`` ('' when none), ``agents`` lists the agents of the
    contacts in scope and ``agent`` keeps one agent's contacts."""
    _check_page(page, page_size)
    members = ops_members(store, scope, engine, campaign_id)
    if members is not None:
        if not scope.everything and not len(members):
            raise NotInScope(f"no campaign {campaign_id!r} in your regions")
        agents = sorted({a for a in members.get("agent", []) if a}) if len(members) else []
        if agent and len(members):
            members = members[members["agent"] == agent]
        rows = _records(members.sort_values("contact_id")) if len(members) else []
        start = (page - 1) * page_size
        return {
            "total": len(rows),
            "page": page,
            "page_size": page_size,
            "source": "operational",
            "agents": agents,
            "items": rows[start : start + page_size],
        }
    if agent:
        _history_campaign(store, scope, campaign_id)
        raise ConfigError(f"campaign {campaign_id!r} is ingested history; its contacts have no agents")
    _history_campaign(store, scope, campaign_id)
    cte, params = subs_cte(scope)
    sql = f"""WITH {cte}
        SELECT c.contact_id, c.subscriber_id, subs.county_id, subs.grid_id, c.offer_id, c.is_control,
               c.assigned_date, c.contacted, c.contact_time,
               (SELECT bool_or(accepted) FROM outcome o WHERE o.contact_id = c.contact_id) AS accepted
        FROM contact c JOIN subs USING (subscriber_id) WHERE c.campaign_id = ?"""
    total = store.value(f"SELECT count(*) FROM ({sql})", [*params, campaign_id])
    items = store.rows(
        f"{sql} ORDER BY c.contact_id LIMIT ? OFFSET ?",
        [*params, campaign_id, page_size, (page - 1) * page_size],
    )
    return jsonable(
        {"total": total, "page": page, "page_size": page_size, "source": "history", "items": items}
    )
