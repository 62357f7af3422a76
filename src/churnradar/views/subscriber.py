"""One subscriber: profile, stored score, usage and billing history, events, contacts, label."""

from __future__ import annotations

from typing import Any

from churnradar.views.regions import subs_cte
from churnradar.views.scope import NotInScope, RegionScope
from churnradar.views.scores import score_row
from churnradar.views.store import ReadStore


def subscriber(store: ReadStore, scope: RegionScope, subscriber_id: str) -> dict[str, Any]:
    """Profile, newest stored score (with value and segment), history, events, interactions,
    contacts and newest churn label of one subscriber in ``scope`` (:class:`NotInScope` otherwise)."""
    cte, params = subs_cte(scope)
    prof = store.rows(
        f"""WITH {cte}
        SELECT subs.*, p.package_name, p.package_name_en, p.monthly_fee
        FROM subs LEFT JOIN package p ON p.package_id = subs.package_id
        WHERE subs.subscriber_id = ?""",
        [*params, subscriber_id],
    )
    if not prof:
        raise NotInScope(f"no subscriber {subscriber_id!r} in your regions")
    out: dict[str, Any] = {"profile": prof[0]}
    last_event = store.value(
        "SELECT event_type FROM status_event WHERE subscriber_id = ? ORDER BY event_time DESC LIMIT 1",
        [subscriber_id],
    )
    out["status"] = last_event or "active"
    out["score"] = score_row(store, subscriber_id)
    out["history"] = store.rows(
        """SELECT u.month, round(u.voice_out_min + u.voice_in_min, 1) AS mou, round(u.data_mb, 1) AS data_mb,
                  u.active_days, round(b.revenue, 2) AS revenue, round(b.arrears, 2) AS arrears,
                  round(b.balance, 2) AS balance, b.recharge_count, b.package_id
           FROM usage_monthly u
           LEFT JOIN billing_monthly b ON b.subscriber_id = u.subscriber_id AND b.month = u.month
           WHERE u.subscriber_id = ? ORDER BY u.month""",
        [subscriber_id],
    )
    out["events"] = store.rows(
        "SELECT event_time, event_type, reason FROM status_event WHERE subscriber_id = ? ORDER BY event_time",
        [subscriber_id],
    )
    out["interactions"] = store.rows(
        "SELECT interaction_time, kind, channel, topic, resolved FROM interaction "
        "WHERE subscriber_id = ? ORDER BY interaction_time DESC LIMIT 50",
        [subscriber_id],
    )
    out["contacts"] = store.rows(
        """SELECT c.contact_id, c.campaign_id, k.name AS campaign_name, c.offer_id, c.is_control,
                  c.assigned_date, c.contacted, c.contact_time
           FROM contact c LEFT JOIN campaign k ON k.campaign_id = c.campaign_id
           WHERE c.subscriber_id = ? ORDER BY c.assigned_date""",
        [subscriber_id],
    )
    out["label"] = None
    if store.has("churn_label"):
        lab = store.rows(
            "SELECT as_of, definition, event_kind, event_month, reason_code, intent FROM churn_label "
            "WHERE subscriber_id = ? ORDER BY as_of DESC LIMIT 1",
            [subscriber_id],
        )
        out["label"] = lab[0] if lab else None
    return out
