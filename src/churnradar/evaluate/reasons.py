"""Check reasons against the simulator's ground truth (``_truth/churn_truth.parquet``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from churnradar.periods import add_months
from churnradar.schema.enums import OFFNET_KINDS


def reason_agreement(
    scores: pd.DataFrame,
    truth: Path | str | pd.DataFrame,
    as_of: date,
    horizon: int = 3,
    top_share: float = 0.1,
) -> dict[str, Any]:
    """Among true off-net churners (left in the ``horizon`` months after ``as_of``) in the riskiest
    ``top_share`` of ``scores``, the share whose ``reason_1`` equals the true reason code.

    Also the breakdown by true reason and by mechanism, and the share of those churners whose true
    mechanism leaves evidence in the data (every mechanism but ``baseline``, whose reason is drawn
    at random from a mix with no observable trace beyond the common decline).
    """
    t = pd.read_parquet(truth) if not isinstance(truth, pd.DataFrame) else truth
    end = add_months(as_of, horizon)
    left = pd.to_datetime(t["left_month"]).dt.date
    t = t[t["kind"].isin(OFFNET_KINDS) & (left > as_of) & (left <= end)]
    n = len(scores)
    top = scores[scores["risk_rank"] <= max(1, round(n * top_share))]
    m = top.merge(t[["subscriber_id", "reason_code", "mechanism"]], on="subscriber_id")
    m = m.assign(agree=m["reason_1"] == m["reason_code"])
    by_reason = m.groupby("reason_code")["agree"].agg(["size", "mean"]).round(3)
    by_mech = m.groupby("mechanism")["agree"].agg(["size", "mean"]).round(3)
    evidence = m[m["mechanism"] != "baseline"]
    return {
        "churners_in_top": len(m),
        "agreement": float(m["agree"].mean()) if len(m) else float("nan"),
        "agreement_with_evidence": float(evidence["agree"].mean()) if len(evidence) else float("nan"),
        "share_with_evidence": float(len(evidence) / len(m)) if len(m) else float("nan"),
        "by_true_reason": {
            k: {"n": int(r["size"]), "agree": float(r["mean"])} for k, r in by_reason.iterrows()
        },
        "by_mechanism": {k: {"n": int(r["size"]), "agree": float(r["mean"])} for k, r in by_mech.iterrows()},
        "predicted": m["reason_1"].value_counts().to_dict(),
    }
