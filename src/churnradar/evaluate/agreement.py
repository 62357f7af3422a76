"""Agreement of churn events with a known truth (the simulator's ``churn_truth``): an evaluation of
the labels against what the simulator knows, so it lives with the other evaluations, not in labels.

Only truth the data can show is compared: events whose month lies inside the data window, at least
``margin`` months from either end (a churn recorded after the data ends is invisible).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from churnradar.periods import add_months
from churnradar.schema.enums import CHURN_KIND, codes
from churnradar.store.connection import connect

KINDS = codes(CHURN_KIND)


def agreement(
    events: Any, truth: Any, first_month: date, last_month: date, margin: int = 3
) -> dict[str, Any]:
    """Precision and recall per kind of ``events`` against ``truth`` (both Arrow tables).

    A predicted event of kind k in the window is correct when the truth has that subscriber and kind
    (precision); a true event in the window is found when the events have that subscriber and kind
    (recall). The window is [first_month + margin, last_month - margin], on ``event_month`` for
    events and ``left_month`` for the truth.
    """
    lo, hi = add_months(first_month, margin), add_months(last_month, -margin)
    con = connect()
    try:
        con.register("ev", events)
        con.register("truth", truth)
        out: dict[str, Any] = {"window": [lo.isoformat(), hi.isoformat()], "kinds": {}}
        for kind in KINDS:
            predicted, actual, p_hit, t_hit = con.execute(
                """
                WITH p AS (SELECT DISTINCT subscriber_id FROM ev
                           WHERE kind = $k AND event_month BETWEEN $lo AND $hi),
                     t AS (SELECT DISTINCT subscriber_id FROM truth
                           WHERE kind = $k AND left_month BETWEEN $lo AND $hi),
                     pa AS (SELECT DISTINCT subscriber_id FROM ev WHERE kind = $k),
                     ta AS (SELECT DISTINCT subscriber_id FROM truth WHERE kind = $k)
                SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM t),
                       (SELECT count(*) FROM p SEMI JOIN ta USING (subscriber_id)),
                       (SELECT count(*) FROM t SEMI JOIN pa USING (subscriber_id))
                """,
                {"k": kind, "lo": lo, "hi": hi},
            ).fetchone()
            out["kinds"][kind] = {
                "predicted": predicted,
                "true": actual,
                "precision": round(p_hit / predicted, 4) if predicted else None,
                "recall": round(t_hit / actual, 4) if actual else None,
            }
        return out
    finally:
        con.close()
