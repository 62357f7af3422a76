"""Target lists and the campaigns made from them, for the dashboard and the REST API.

The workflow: choose a scored month, segments and a budget → :func:`run_plan` runs the optimiser
(:func:`churnradar.retention.targeting.plan_targets`, candidates limited to the caller's regions
and the segments) and keeps the list in the operational store (``target_plan``) → :func:`plan`
reads it back for review with its expected cost and value → :func:`create_campaign_from_plan`
randomises a control group (:func:`churnradar.retention.campaigns.create_campaign`, each member
keeping the offer the optimiser chose) → :func:`assign_agents` deals the listable members to agents
→ :func:`export_list` writes the list for the call/SMS system (CSV or XLSX, column names in the
reader's language) → the campaign's evaluation is the campaigns view's
(:func:`churnradar.views.campaigns.evaluation`).

A plan is the caller's: it holds only subscribers of their regions, and a reader whose regions do
not hold every member cannot read it or make a campaign of it (:class:`NotInScope`).
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from churnradar import opstore as ops
from churnradar.opstore.targets import target_plan, target_plan_member
from churnradar.periods import format_month, parse_month
from churnradar.retention.errors import CampaignError, TargetingError
from churnradar.views._json import jsonable
from churnradar.views.regions import in_scope_ids, subs_cte
from churnradar.views.risk import MAX_PAGE_SIZE
from churnradar.views.scope import NotInScope, RegionScope
from churnradar.views.scores import score_months
from churnradar.views.store import ReadStore

#: The largest budget a plan accepts (yuan).
MAX_BUDGET = 1_000_000_000.0
#: Members of the plan copied to a campaign's strata: the control group is drawn within each
#: planned offer (and these), so every offer's members and their controls are alike.
PLAN_STRATA: tuple[str, ...] = ()
#: Fewest logged treated members (with consent) an offer needs for its uplift to be learned.
DEFAULT_MIN_ARM_ROWS = 300

MEMBER_COLUMNS = (
    "rank",
    "subscriber_id",
    "region",
    "segment",
    "offer_kind",
    "channel",
    "offer_cost",
    "cost",
    "uplift",
    "clv",
    "p_churn_3m",
    "expected_value",
    "net_value",
)


def check_budget(budget: Any) -> float:
    """The budget as a number of yuan, or :class:`TargetingError` naming the bad value."""
    try:
        b = float(budget)
    except (TypeError, ValueError):
        raise TargetingError(f"budget {budget!r} is not a number; expected yuan, e.g. 50000") from None
    if not math.isfinite(b) or not 0 < b <= MAX_BUDGET:
        raise TargetingError(
            f"budget {budget!r} is out of range; expected more than 0 and at most {MAX_BUDGET:,.0f} yuan"
        )
    return b


def plan_months(store: ReadStore) -> list[str]:
    """The scored months a plan can be made for (``YYYY-MM``), newest first."""
    return [format_month(m) for m in reversed(score_months(store))]


def segment_choices(lang: str = "zh") -> list[tuple[str, str]]:
    """(code, label) of every value × risk segment of the retention policy, highest value first."""
    from churnradar.retention.policy import Policy, segment_label

    risks = list(reversed(Policy.load().risk_names))
    return [(f"{v}×{r}", segment_label(f"{v}×{r}", lang)) for v in ("high", "mid", "low") for r in risks]


def _scope_ids(store: ReadStore, scope: RegionScope) -> list[str] | None:
    """Subscribers of ``scope`` (None: every region)."""
    if scope.everything:
        return None
    cte, params = subs_cte(scope)
    return [r["subscriber_id"] for r in store.rows(f"WITH {cte} SELECT subscriber_id FROM subs", params)]


def _regions_text(scope: RegionScope) -> str:
    return "" if scope.everything else ",".join(sorted(scope.grids or ()))


def run_plan(
    store: ReadStore,
    scope: RegionScope,
    engine: Any,
    *,
    as_of: str | date,
    budget: float,
    segments: Sequence[str] = (),
    actor: str,
    min_arm_rows: int = DEFAULT_MIN_ARM_ROWS,
    method: str = "auto",
) -> dict[str, Any]:
    """Run the optimiser for ``as_of`` on the subscribers of ``scope`` (and ``segments``, when given)
    under ``budget``; keep the list in the operational store and return the plan's header."""
    from churnradar.retention.targeting import plan_targets

    b = check_budget(budget)
    if store.path is None:
        raise TargetingError("the store has no file to plan on")
    month = format_month(parse_month(as_of))
    months = plan_months(store)
    if month not in months:
        raise TargetingError(
            f"month {month} has no churn scores to plan on; expected one of {', '.join(months) or 'none (run churnradar score)'}"
        )
    known = [c for c, _ in segment_choices()]
    bad = [s for s in segments if s not in known]
    if bad:
        raise TargetingError(f"segments {bad} are unknown; expected some of {known}")
    if not 1 <= int(min_arm_rows) <= 1_000_000:
        raise TargetingError(f"min_arm_rows {min_arm_rows!r} is out of range; expected 1 to 1,000,000")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = plan_targets(
            store.path,
            b,
            as_of=month,
            method=method,
            engine=engine,
            write=False,
            min_arm_rows=int(min_arm_rows),
            candidates=_scope_ids(store, scope),
            segments=list(segments) or None,
        )
    offer_cost = {o["kind"]: float(o["cost"]) for o in res.summary["offers"]}
    t = res.table
    summary = {k: v for k, v in res.summary.items() if k != "uplift_metrics"}
    # lines the optimiser could list: in the caller's regions and segments, with consent and room
    summary["n_eligible"] = int(res.inputs.feasible.any(axis=1).sum()) if res.inputs is not None else None
    plan_id = f"TP{parse_month(month):%Y%m}-{secrets.token_hex(4).upper()}"
    members = [
        {
            "plan_id": plan_id,
            "subscriber_id": str(r.subscriber_id),
            "rank": int(r.rank),
            "region": str(r.region or ""),
            "segment": str(r.segment or ""),
            "offer_kind": str(r.offer_kind),
            "channel": str(r.channel),
            "offer_cost": offer_cost.get(str(r.offer_kind), float("nan")),
            "cost": float(r.cost),
            "uplift": float(r.uplift),
            "clv": float(r.clv),
            "p_churn_3m": float(r.p_churn_3m),
            "expected_value": float(r.expected_value),
            "net_value": float(r.net_value),
        }
        for r in t.itertuples()
    ]
    header = {
        "plan_id": plan_id,
        "as_of": month,
        "budget": b,
        "segments": ",".join(segments),
        "regions": _regions_text(scope),
        "summary": json.dumps(jsonable(summary), ensure_ascii=False),
        "created_by": actor,
        "created_at": ops.now(),
        "campaign_id": None,
    }
    with engine.begin() as conn:
        conn.execute(target_plan.insert().values(**header))
        for lo in range(0, len(members), 5000):
            conn.execute(target_plan_member.insert(), members[lo : lo + 5000])
        ops.audit(
            conn,
            actor=actor,
            action="target.plan",
            target=plan_id,
            detail={"as_of": month, "budget": b, "segments": list(segments), "n_targeted": len(members)},
        )
    return _header(header)


def _header(row: Any) -> dict[str, Any]:
    h = dict(row)
    s = json.loads(h.pop("summary") or "{}")
    h["segments"] = [x for x in (h.get("segments") or "").split(",") if x]
    h.pop("regions", None)
    for k in (
        "n_eligible",
        "n_targeted",
        "cost",
        "expected_retained_value",
        "expected_net_value",
        "method",
        "learner",
        "gap_to_bound",
        "seconds",
        "offers",
        "offers_not_targeted",
        "by_offer",
    ):
        h[k] = s.get(k)
    return jsonable(h)


def _plan_row(engine: Any, plan_id: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(sa.select(target_plan).where(target_plan.c.plan_id == plan_id)).mappings().first()
    return row


def _members(engine: Any, plan_id: str) -> pd.DataFrame:
    m = target_plan_member
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(*(m.c[c] for c in MEMBER_COLUMNS)).where(m.c.plan_id == plan_id).order_by(m.c.rank)
        ).all()
    return pd.DataFrame(rows, columns=list(MEMBER_COLUMNS))


def _readable(store: ReadStore, scope: RegionScope, engine: Any, plan_id: str) -> tuple[Any, pd.DataFrame]:
    """(header row, members) of a plan the caller may read: every member in their regions."""
    row = _plan_row(engine, plan_id) if engine is not None else None
    if row is None:
        raise NotInScope(f"no target plan {plan_id!r} in your regions")
    members = _members(engine, plan_id)
    if not scope.everything:
        ids = members["subscriber_id"].tolist()
        # made for regions within the caller's (so an empty plan of another county stays hidden),
        # and every member in them
        if not _made_within(row, scope) or len(in_scope_ids(store, scope, ids)) < len(set(ids)):
            raise NotInScope(f"no target plan {plan_id!r} in your regions")
    return row, members


def _made_within(row: Any, scope: RegionScope) -> bool:
    """Whether the plan was made for regions within ``scope``'s (a plan of every region is not)."""
    grids = {g for g in (row["regions"] or "").split(",") if g}
    return bool(grids) and all(scope.allows_grid(g) for g in grids)


def plans(store: ReadStore, scope: RegionScope, engine: Any, limit: int = 20) -> list[dict[str, Any]]:
    """The newest plans the caller may read (every plan for all-region roles; else those made for
    regions within theirs)."""
    if engine is None:
        return []
    with engine.connect() as conn:
        rows = (
            conn.execute(sa.select(target_plan).order_by(target_plan.c.created_at.desc()).limit(200))
            .mappings()
            .all()
        )
    out = []
    for r in rows:
        if not scope.everything and not _made_within(r, scope):
            continue
        out.append(_header(r))
        if len(out) >= limit:
            break
    return out


def plan(
    store: ReadStore, scope: RegionScope, engine: Any, plan_id: str, page: int = 1, page_size: int = 50
) -> dict[str, Any]:
    """A plan for review: header (budget, expected cost and value, offers), totals by offer and
    by segment, and its lines by rank, paged."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise TargetingError(f"page must be ≥ 1 and page_size 1..{MAX_PAGE_SIZE}, got {page} and {page_size}")
    row, m = _readable(store, scope, engine, plan_id)

    def totals(by: str) -> list[dict[str, Any]]:
        if not len(m):
            return []
        g = m.groupby(by, sort=True).agg(
            n=("subscriber_id", "size"),
            cost=("cost", "sum"),
            expected_value=("expected_value", "sum"),
            net_value=("net_value", "sum"),
        )
        return g.reset_index().to_dict("records")

    start = (page - 1) * page_size
    items = m.iloc[start : start + page_size]
    return jsonable(
        {
            "plan": _header(row),
            "totals": {
                "n": len(m),
                "cost": float(m["cost"].sum()),
                "expected_value": float(m["expected_value"].sum()),
                "net_value": float(m["net_value"].sum()),
            },
            "by_offer": totals("offer_kind"),
            "by_segment": totals("segment"),
            "total": len(m),
            "page": page,
            "page_size": page_size,
            "items": items.to_dict("records"),
        }
    )


def create_campaign_from_plan(
    store: ReadStore,
    scope: RegionScope,
    engine: Any,
    plan_id: str,
    *,
    name: str,
    control_share: float = 0.2,
    followup_months: int = 3,
    actor: str,
) -> dict[str, Any]:
    """A campaign of the plan's members, each randomised between control (``control_share`` within
    every planned offer) and the offer the optimiser chose for them; the plan keeps its id."""
    from churnradar.retention.campaigns import OfferSpec, create_campaign

    row, m = _readable(store, scope, engine, plan_id)
    if row["campaign_id"]:
        raise CampaignError(f"target plan {plan_id!r} already made campaign {row['campaign_id']!r}")
    if not len(m):
        raise CampaignError(
            f"target plan {plan_id!r} lists no subscriber; raise the budget or widen the segments"
        )
    name = (name or "").strip()
    if not 1 <= len(name) <= 255:
        raise CampaignError(f"campaign name {name!r} is empty or too long; expected 1 to 255 characters")
    offers = (
        m.groupby("offer_kind", sort=True)
        .agg(channel=("channel", "first"), cost=("offer_cost", "first"))
        .reset_index()
    )
    specs = [OfferSpec(r.offer_kind, r.channel, float(r.cost)) for r in offers.itertuples()]
    res = create_campaign(
        engine,
        m[["subscriber_id", "segment", "region", "offer_kind"]],
        specs,
        name=name,
        as_of=row["as_of"],
        store_path=store.path,
        control_share=control_share,
        followup_months=followup_months,
        strata=PLAN_STRATA,
        actor=actor,
        planned_offer="offer_kind",
    )
    with engine.begin() as conn:
        conn.execute(
            target_plan.update().where(target_plan.c.plan_id == plan_id).values(campaign_id=res.campaign_id)
        )
    return jsonable({**res.summary(), "plan_id": plan_id})


def _campaign_members(store: ReadStore, scope: RegionScope, engine: Any, campaign_id: str) -> pd.DataFrame:
    """The members in ``scope`` of an operational campaign (:class:`NotInScope` when none)."""
    from churnradar.views.campaigns import ops_members

    members = ops_members(store, scope, engine, campaign_id)
    if members is None or (not scope.everything and not len(members)):
        raise NotInScope(
            f"no campaign {campaign_id!r} in your regions with contacts to work (not an operational campaign)"
        )
    return members


def assign_agents(
    store: ReadStore, scope: RegionScope, engine: Any, campaign_id: str, agents: Sequence[str], *, actor: str
) -> dict[str, int]:
    """Deal the campaign's listable members in ``scope`` to ``agents`` in turn (by region)."""
    from churnradar.retention.campaigns import assign_agents as deal

    members = _campaign_members(store, scope, engine, campaign_id)
    ids = None if scope.everything else members["contact_id"].tolist()
    return deal(engine, campaign_id, agents, contact_ids=ids, actor=actor)


def agents_of(members: pd.DataFrame) -> list[str]:
    """The agents a campaign's members are assigned to, sorted."""
    if "agent" not in members.columns:
        return []
    return sorted({a for a in members["agent"].fillna("") if a})


#: The exported list's columns and their headers (zh, en).
EXPORT_HEADERS: dict[str, tuple[str, str]] = {
    "contact_id": ("联系编号", "Contact ID"),
    "subscriber_id": ("用户编号", "Subscriber ID"),
    "region": ("区县", "County"),
    "segment": ("客户分群", "Segment"),
    "channel": ("渠道", "Channel"),
    "offer_id": ("方案编号", "Offer ID"),
    "offer": ("维系方案", "Offer"),
    "cost": ("方案成本（元）", "Offer cost (yuan)"),
    "agent": ("维系专员", "Agent"),
}


def export_list(
    store: ReadStore,
    scope: RegionScope,
    engine: Any,
    campaign_id: str,
    fmt: str,
    *,
    agent: str | None = None,
    lang: str = "zh",
    actor: str,
) -> tuple[bytes, str]:
    """(file bytes, file name) of the campaign's contact list in ``scope`` (one ``agent``'s when
    given) as ``csv`` or ``xlsx``, names and codes in ``lang``; consent and do-not-contact are
    re-checked and the export recorded (:func:`churnradar.retention.contacts.mark_listed`)."""
    import csv
    import io
    import tempfile
    from pathlib import Path

    from churnradar.i18n import enum_label
    from churnradar.reports.safe_cells import csv_frame, write_xlsx_table
    from churnradar.retention.contacts import current_list, mark_listed
    from churnradar.retention.policy import segment_label
    from churnradar.schema import enums as E

    if fmt not in ("csv", "xlsx"):
        raise CampaignError(f"list format {fmt!r} is not supported; expected csv or xlsx")
    members = _campaign_members(store, scope, engine, campaign_id)
    listed, dropped = current_list(engine, store.path, campaign_id)
    keep = set(members["contact_id"])
    listed = listed[listed["contact_id"].isin(keep)]
    dropped = dropped[dropped["contact_id"].isin(keep)]
    if agent:
        listed = listed[listed["agent"] == agent]
        dropped = dropped[dropped["agent"] == agent]
    i = 0 if lang == "zh" else 1
    out = pd.DataFrame(
        {
            "contact_id": listed["contact_id"],
            "subscriber_id": listed["subscriber_id"],
            "region": listed["region"],
            "segment": [segment_label(s, lang) if s else "" for s in listed["segment"]],
            "channel": [enum_label(E.CONTACT_CHANNEL, c, lang) for c in listed["channel"]],
            "offer_id": listed["offer_id"],
            "offer": listed["offer_zh" if lang == "zh" else "offer_en"],
            "cost": listed["cost"].astype(float),
            "agent": listed["agent"],
        }
    ).rename(columns={k: v[i] for k, v in EXPORT_HEADERS.items()})
    stem = f"{campaign_id}" + (f"_{agent}" if agent else "")
    if fmt == "csv":
        buf = io.StringIO()
        csv_frame(out).to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
        data = ("\ufeff" + buf.getvalue()).encode("utf-8")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "list.xlsx"
            write_xlsx_table(path, out, "contacts", lang=lang)
            data = path.read_bytes()
    mark_listed(engine, campaign_id, listed, dropped, actor, [f"{stem}.{fmt}"])
    return data, f"{stem}.{fmt}"
