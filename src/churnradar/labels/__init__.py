"""Churn labels of every kind, keyed by an ``as_of`` month.

>>> from churnradar.labels import label_store
>>> result = label_store("operator.duckdb", as_of="2024-09")  # doctest: +SKIP
>>> result.summary["by_kind"]  # doctest: +SKIP
{'offnet': 412, 'port_out': 21, 'number_reselection': 35, ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from churnradar.labels.definitions import (
    DEFINITIONS,
    TARGETS,
    USAGE_BASED_DEFAULT,
    ChurnDefinition,
    get_definition,
)
from churnradar.labels.events import (
    brand_downgrades,
    exits_and_reselections,
    silent_spells,
    value_declines,
)
from churnradar.labels.reasons import change_reasons, exit_reasons
from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS, has_end_events, population
from churnradar.periods import add_months, format_month, parse_month
from churnradar.schema.enums import CHURN_KIND, OFFNET_KINDS, codes
from churnradar.store.backends import Backend, open_backend

__all__ = [
    "DEFINITIONS",
    "DEREGISTRATION_LAG_MONTHS",
    "TARGETS",
    "ChurnDefinition",
    "LabelResult",
    "build_labels",
    "churn_events",
    "get_definition",
    "label_store",
    "population",
]

EVENT_COLUMNS = {
    "subscriber_id": "string",
    "kind": "string",
    "event_month": "date",
    "recorded_month": "date",
    "reason_code": "string",
    "intent": "string",
    "voluntary": "boolean",
    "new_subscriber_id": "string",
}


def _conform(t: ir.Table) -> ir.Table:
    return t.select(**{name: t[name].cast(dtype) for name, dtype in EVENT_COLUMNS.items()})


def churn_events(bk: Backend, d: ChurnDefinition) -> ir.Table:
    """Every churn event of every kind, with reason code, intent and voluntary flag.

    Off-net exits matched as in-network re-selection appear only as re-selection, never as off-net.
    """
    # exits, re-selections and in-network changes each feed several branches: computed once each
    # (left in the query, the engine recomputes them per branch: ≈2× the work at 1M × 24)
    offnet, rs = exits_and_reselections(bk, d, cache=True)
    offnet = offnet.join(exit_reasons(bk, offnet), "subscriber_id")
    offnet = offnet.mutate(new_subscriber_id=ibis.null("string"))

    rs = rs.mutate(
        reason_code=rs.kind,
        intent=ibis.cases((rs.kind == "tariff_reselection", "induced"), else_="voluntary"),
        voluntary=ibis.literal(True),
    )

    cols = {"subscriber_id": "string", "kind": "string", "event_month": "date"}
    parts = [brand_downgrades(bk), value_declines(bk, d), silent_spells(bk, d)]
    parts = [p.select(**{c: p[c].cast(t) for c, t in cols.items()}) for p in parts]
    changes = parts[0].union(parts[1]).union(parts[2]).cache()
    changes = change_reasons(bk, changes).mutate(
        recorded_month=ibis.null("date"), new_subscriber_id=ibis.null("string")
    )
    return _conform(offnet).union(_conform(rs)).union(_conform(changes))


def _target_kinds(d: ChurnDefinition) -> tuple[str, ...]:
    return OFFNET_KINDS if d.target == "offnet" else (d.target,)


def build_labels(bk: Backend, as_of: date, d: ChurnDefinition, events: ir.Table | None = None) -> ir.Table:
    """``churn_label`` rows for ``as_of``: one per subscriber of the population.

    ``churn_within_<h>m`` is true when a target event falls in the ``h`` months after ``as_of``;
    ``already_churned`` marks subscribers whose (last-activity dated) churn came on or before
    ``as_of`` although their line was still open (they are usually left out of training).
    """
    events = events if events is not None else churn_events(bk, d)
    pop = population(bk, as_of)
    target = events.filter(events.kind.isin(_target_kinds(d)))
    first = target.group_by("subscriber_id").agg(first_month=target.event_month.min())
    first = first.join(
        target, (first.subscriber_id == target.subscriber_id) & (first.first_month == target.event_month)
    )
    first = first.select(
        first.subscriber_id,
        event_kind=target.kind,
        event_month=target.event_month,
        reason_code=target.reason_code,
        intent=target.intent,
        voluntary=target.voluntary,
    ).distinct(on="subscriber_id", keep="first")
    j = pop.left_join(first, "subscriber_id")
    t = ibis.literal(as_of)
    future = j.event_month > t
    cols: dict[str, Any] = {
        "as_of": t,
        "definition": ibis.literal(d.name),
        "definition_version": ibis.literal(d.version),
        "subscriber_id": j.subscriber_id,
        "already_churned": (j.event_month <= t).fill_null(False),
    }
    for h in d.horizons:
        cols[f"churn_within_{h}m"] = (
            future & (j.event_month <= ibis.literal(add_months(as_of, h)))
        ).fill_null(False)
    horizon_end = ibis.literal(add_months(as_of, max(d.horizons)))
    in_window = future & (j.event_month <= horizon_end)
    for name in ("event_kind", "event_month", "reason_code", "intent", "voluntary"):
        cols[name] = ibis.cases((in_window, j[name]), else_=ibis.null(j[name].type()))
    return j.select(**cols).order_by("subscriber_id")


@dataclass
class LabelResult:
    """Labels for one as-of month and their summary counts."""

    as_of: date
    definition: ChurnDefinition
    labels: Any  # pyarrow.Table
    summary: dict[str, Any]


def _summary(bk: Backend, as_of: date, d: ChurnDefinition, events: ir.Table, labels: Any) -> dict[str, Any]:
    pop = population(bk, as_of)
    horizon_end = add_months(as_of, max(d.horizons))
    ev = events.filter(
        (events.event_month > ibis.literal(as_of)) & (events.event_month <= ibis.literal(horizon_end))
    ).semi_join(pop, "subscriber_id")
    by_kind = {
        r["kind"]: int(r["n"]) for r in bk.to_pyarrow(ev.group_by("kind").agg(n=ev.count())).to_pylist()
    }
    target = ev.filter(ev.kind.isin(_target_kinds(d)))
    by_reason = {
        r["reason_code"]: int(r["n"])
        for r in bk.to_pyarrow(target.group_by("reason_code").agg(n=target.count())).to_pylist()
    }
    by_month = {
        format_month(r["event_month"]): int(r["n"])
        for r in bk.to_pyarrow(
            target.group_by("event_month").agg(n=target.count()).order_by("event_month")
        ).to_pylist()
    }
    voluntary = {
        ("voluntary" if r["voluntary"] else "involuntary"): int(r["n"])
        for r in bk.to_pyarrow(target.group_by("voluntary").agg(n=target.count())).to_pylist()
    }
    cols = labels.column_names
    u = bk.table("usage_monthly")
    last = bk.to_pyarrow(u.select(last=u.month.max())).column("last")[0].as_py()
    lag = d.lag_months
    needed = add_months(as_of, max(d.horizons) + lag)
    complete = last is not None and needed <= last
    return {
        "complete": complete,
        "warning": None
        if complete
        else (
            f"the data end in {format_month(last) if last else '?'}; labels for {format_month(as_of)} need data "
            f"up to {format_month(needed)} (horizon {max(d.horizons)} months"
            + (f" + {lag} months of arrears → deregistration lag" if lag else "")
            + "), so later churn is not yet visible and positives are undercounted"
        ),
        "as_of": format_month(as_of),
        "definition": d.name,
        "definition_version": d.version,
        "dating": d.dating,
        "population": labels.num_rows,
        "already_churned": int(sum(labels.column("already_churned").to_pylist())),
        "positives": {
            c: int(sum(labels.column(c).to_pylist())) for c in cols if c.startswith("churn_within_")
        },
        "by_kind": {k: by_kind.get(k, 0) for k in codes(CHURN_KIND)},
        "by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
        "by_month": by_month,
        "by_voluntary": voluntary,
    }


def default_definition(bk: Backend) -> tuple[str, str | None]:
    """The definition to use when none is asked for: ``offnet`` when the store records
    deregistrations or port-outs, otherwise the usage-based ``silent:30``, with a note saying so."""
    if has_end_events(bk):
        return "offnet", None
    return USAGE_BASED_DEFAULT, (
        f"the store has no deregistration or port-out events, so off-net churn cannot be dated; using "
        f"{USAGE_BASED_DEFAULT} ({get_definition(USAGE_BASED_DEFAULT).description.rstrip('.')})"
    )


def label_store(
    store: Path | str,
    as_of: str | date,
    definition: str | ChurnDefinition | None = "offnet",
    backend: str = "duckdb",
    write: bool = True,
) -> LabelResult:
    """Label churn for ``as_of`` on ``store`` and (by default) write ``churn_label`` into it.

    ``definition=None`` chooses :func:`default_definition` (off-net churn when the store has
    lifecycle events, else 30-day silence) and says which in ``summary["note"]``.

    The churn events of every kind behind the labels are kept in the store too (``churn_event``, see
    :mod:`churnradar.labels.stored`) and reused, by this and by reports, until new data arrives.
    """
    from churnradar.labels.stored import events_for, write_events

    month = parse_month(as_of)
    bk = open_backend(store, backend)
    try:
        note = None
        if definition is None:
            definition, note = default_definition(bk)
        d = definition if isinstance(definition, ChurnDefinition) else get_definition(definition)
        events, fresh = events_for(bk, d)
        labels = bk.to_pyarrow(build_labels(bk, month, d, events))
        summary = _summary(bk, month, d, events, labels)
        summary["note"] = note
    finally:
        bk.close()
    if write:
        from churnradar.store.derived import replace_rows

        replace_rows(Path(store), "churn_label", labels, {"as_of": month, "definition": d.name})
        if fresh is not None:
            write_events(store, fresh)
    return LabelResult(month, d, labels, summary)
