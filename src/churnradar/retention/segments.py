"""The ``value_segment`` derived table: value, segment and recommended action per subscriber and month.

Columns: ``as_of``, ``subscriber_id``, ``region``, ``p_churn_1m..3m`` (from the month's ``score``
rows: :func:`churnradar.retention.risk.load_scores`), ``clv``, ``cvf``, ``value_tier``, ``switching_cost``, ``risk_level``, ``segment``, ``action``
(+ ``action_zh``/``action_en``), ``offer_kind``, ``channel``. A month's rows are replaced atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from churnradar.periods import format_month, parse_month
from churnradar.retention.errors import CampaignError


def build_segments(
    store_path: Path | str,
    as_of: str | date,
    value_config: Path | str | None = None,
    policy_path: Path | str | None = None,
    risk: pd.DataFrame | None = None,
    cov: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Value, segment and action of every subscriber open at the end of ``as_of``."""
    from churnradar.retention.covariates import covariates
    from churnradar.retention.policy import Policy, segment_and_act
    from churnradar.retention.risk import load_scores
    from churnradar.retention.value import customer_value, load_config

    month = parse_month(as_of)
    source = "given"
    if risk is None:  # first: a month no model has scored is refused before any work
        risk = load_scores(store_path, month)
        source = risk.attrs.get("source", "score table")
    cov = cov if cov is not None else covariates(store_path, month)
    val = customer_value(cov, risk, load_config(value_config))
    seg = segment_and_act(val, Policy.load(policy_path))
    seg.insert(0, "as_of", month)
    seg.insert(2, "region", cov["region"].to_numpy())
    seg.attrs["risk_source"] = source
    return seg


def write_segments(
    store_path: Path | str,
    as_of: str | date,
    value_config: Path | str | None = None,
    policy_path: Path | str | None = None,
) -> dict[str, Any]:
    """Build and write ``value_segment`` for ``as_of``; return a summary by segment."""
    import pyarrow as pa

    from churnradar.retention.policy import segment_label
    from churnradar.store.derived import replace_rows

    seg = build_segments(store_path, as_of, value_config, policy_path)
    month = parse_month(as_of)
    rows = replace_rows(
        Path(store_path), "value_segment", pa.Table.from_pandas(seg, preserve_index=False), {"as_of": month}
    )
    counts = seg.groupby(["segment", "action"]).size().reset_index(name="n").sort_values("segment")
    return {
        "as_of": format_month(month),
        "rows": rows,
        "risk_source": seg.attrs.get("risk_source"),
        "segments": [
            {"segment": r.segment, "segment_zh": segment_label(r.segment), "action": r.action, "n": int(r.n)}
            for r in counts.itertuples()
        ],
    }


def campaign_candidates(
    store_path: Path | str,
    as_of: str | date,
    segments: Sequence[str] | None = None,
    actions: Sequence[str] | None = None,
    from_target_list: bool = False,
    limit: int | None = None,
) -> pd.DataFrame:
    """Members for a new campaign: ``subscriber_id``, ``segment``, ``region`` (and ``p_churn_3m``).

    From the month's ``target_list`` with ``from_target_list``, else from ``value_segment`` (built
    and written first when missing) filtered by ``segments`` / ``actions``; highest risk first.
    """
    from churnradar.store.backends import open_backend

    month = parse_month(as_of)
    table = "target_list" if from_target_list else "value_segment"
    df = None
    bk = open_backend(store_path)
    try:
        if bk.has_table(table):
            t = bk.table(table)
            df = bk.to_pyarrow(t.filter(t.as_of.cast("date") == month)).to_pandas()
    finally:
        bk.close()
    if from_target_list and (df is None or df.empty):
        raise CampaignError(f"no target_list for {format_month(month)}; run `churnradar target` first")
    if df is None or df.empty:
        write_segments(store_path, month)
        return campaign_candidates(store_path, month, segments, actions, False, limit)
    if segments:
        known = sorted(df["segment"].unique())
        bad = [s for s in segments if s not in known]
        if bad:
            raise CampaignError(
                f"segments {bad} do not occur in {format_month(month)}; expected some of {known}"
            )
        df = df[df["segment"].isin(segments)]
    if actions:
        df = df[df["action"].isin(actions)]
    if "p_churn_3m" in df.columns:
        df = df.sort_values("p_churn_3m", ascending=False, kind="stable")
    if limit is not None:
        df = df.head(limit)
    return df.reset_index(drop=True)
