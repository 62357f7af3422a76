"""Who is a line of ours at month T, and when a line ends: the one definition every module imports.

- A line's *lifespan* runs from its ``activation_date`` to its first deregistration (销户) or
  port-out (携出) (``schema.enums.END_EVENTS``), if any.
- A line is *in network* (在网) at the end of month T when it was activated on or before T's last
  day and had no deregistration or port-out recorded before the first instant of T+1.
- The population at T (labels, features, retention) is the set of lines in network at the end of T;
  月初在网数 of T is the count at the end of T−1 (上月末在网数), 月末在网数 the count at the end of T.
- Off-net exits are dated two ways: by the recorded event (``recorded``, the BSS 销户 month) or by
  the last month of billable activity (``left``); on the arrears path the recorded month lags the
  left month by about ``DEREGISTRATION_LAG_MONTHS``.

Everything here is an Ibis expression over the canonical tables, so it runs on DuckDB and Spark.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from churnradar.periods import add_months, month_end, month_end_exclusive
from churnradar.schema.enums import END_EVENTS, SUSPEND_EVENTS

if TYPE_CHECKING:
    from churnradar.store.backends import Backend

#: Months from the last billable activity to the recorded deregistration on the arrears path
#: (suspension, pre-deregistration, then 销户 about 90 days later).
DEREGISTRATION_LAG_MONTHS = 3


def has_end_events(bk: Backend) -> bool:
    """Whether the store records any deregistration or port-out at all (an operator's export may
    carry no lifecycle events: then no line can be seen to end)."""
    e = bk.table("status_event")
    return bool(
        bk.to_pyarrow(e.filter(e.event_type.isin(END_EVENTS)).select("subscriber_id").limit(1)).num_rows
    )


def line_ends(
    status_event: ir.Table, before: datetime | None = None, details: dict[str, str] | None = None
) -> ir.Table:
    """First deregistration or port-out of each line: ``subscriber_id``, ``end_time``, ``end_type``.

    With ``before`` (an instant), only the lines that had ended before it, and only events before
    it are read: the first end of a line is before ``before`` exactly when it has an end event
    before ``before`` (a point-in-time view that reads no later event). ``details`` adds columns
    of that first end event: ``{output name: status_event column}`` (e.g. its reason).
    """
    ends = status_event.filter(status_event.event_type.isin(END_EVENTS))
    if before is not None:
        ends = ends.filter(ends.event_time < ibis.timestamp(before))
    extra = {name: ends[col].argmin(ends.event_time) for name, col in (details or {}).items()}
    return ends.group_by("subscriber_id").agg(
        end_time=ends.event_time.min(), end_type=ends.event_type.argmin(ends.event_time), **extra
    )


#: Events that set a line's service state (a package change does not)
STATE_EVENTS: tuple[str, ...] = ("activate", "reactivate", *SUSPEND_EVENTS)
#: States of a line on its way out or gone: ended, or pre-deregistered (预销户, 销户 follows)
LEAVING_STATES: tuple[str, ...] = (*END_EVENTS, "pre_deregister")


def line_states(status_event: ir.Table, before: datetime) -> ir.Table:
    """Each line's state just before ``before`` that is not plain in service: ``subscriber_id`` and
    ``state``, the code of its first deregistration or port-out (:func:`line_ends`) when it has
    ended, else of its latest suspension (单停, 双停, 预销户) when no activation or reactivation
    followed it. Lines in service have no row."""
    ends = line_ends(status_event, before).select("subscriber_id", state=ibis._.end_type)
    ev = status_event.filter(
        status_event.event_type.isin(STATE_EVENTS) & (status_event.event_time < ibis.timestamp(before))
    )
    latest = ev.group_by("subscriber_id").agg(state=ev.event_type.argmax(ev.event_time))
    suspended = latest.filter(latest.state.isin(SUSPEND_EVENTS)).anti_join(ends, "subscriber_id")
    schema = {"subscriber_id": "string", "state": "string"}  # one nullability for the union
    return ends.cast(schema).union(suspended.cast(schema))


def lifespans(subscription: ir.Table, status_event: ir.Table) -> ir.Table:
    """One row per line: ``subscriber_id``, ``grid_id``, ``activation_date``, ``end_time`` (null
    while open) and ``end_type`` (``deregister`` or ``port_out``)."""
    s = subscription.select("subscriber_id", "grid_id", "activation_date")
    return s.left_join(line_ends(status_event), "subscriber_id").select(
        "subscriber_id", "grid_id", "activation_date", "end_time", "end_type"
    )


def open_at(
    t: ir.Table, last_day: date | ir.Value, next_start: date | ir.Value | None = None
) -> ir.BooleanValue:
    """Whether each line of a :func:`lifespans` table is in network at the end of a month.

    ``last_day`` is the month's last day and ``next_start`` the first instant of the next month
    (both literals, or columns when many months are counted at once); with a month's first day as
    ``last_day`` and no ``next_start`` both are derived from it.
    """
    if next_start is None:
        assert isinstance(last_day, date)
        last_day, next_start = month_end(last_day), month_end_exclusive(last_day)
    last = ibis.literal(last_day) if isinstance(last_day, date) else last_day
    nxt = ibis.literal(next_start) if isinstance(next_start, date) else next_start
    return (t.activation_date <= last) & (t.end_time.isnull() | (t.end_time >= nxt))


def known_at(subscription: ir.Table, as_of: date) -> ir.Table:
    """The rows of ``subscription`` activated on or before the last day of month ``as_of`` (later
    lines do not exist yet then)."""
    return subscription.filter(subscription.activation_date < ibis.date(add_months(as_of, 1)))


def in_network(known: ir.Table, ended: ir.Table) -> ir.Table:
    """The lines in network at the end of a month: those of ``known`` (:func:`known_at` the
    month) that are not among ``ended`` (:func:`ended_by` the month). The same lines as
    :func:`open_at` on :func:`lifespans`, computed from events up to the month's end only."""
    return known.anti_join(ended, "subscriber_id").select(*known.columns)


def ended_by(status_event: ir.Table, as_of: date) -> ir.Table:
    """:func:`line_ends` of the lines that ended on or before the last instant of month ``as_of``."""
    return line_ends(status_event, before=month_end_exclusive(as_of))


def population(bk: Backend, as_of: date) -> ir.Table:
    """Lines in network at the end of ``as_of`` (``subscriber_id``): activated by then, no
    deregistration or port-out recorded by then. Uses only data up to the end of ``as_of``."""
    known = known_at(bk.table("subscription"), as_of)
    return in_network(known, ended_by(bk.table("status_event"), as_of)).select("subscriber_id")
