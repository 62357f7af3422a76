"""Champion and challenger: a newly trained model scores only if it does better than the champion.

Both models are judged on the newest settled outcome month that neither was trained on. The cycle
trains its challenger as of T with one month held out (``gap_months=1``: it learns outcomes up to
T − 1 only), so the judging month is J = T, settled in the data by the time the cycle trains: the
1-month outcome of every line open at the end of J − 1, against each model's 1-month probability
from the features of J − 1. A champion trained on J's outcomes cannot be judged there (a newer
champion than the challenger): it stays.

The challenger becomes the champion when it is better on both measures: lower log-loss (a proper
score: ranking and calibration together) and a ROC-AUC at least the champion's (the ranking the
target list is cut from). A month with fewer than :data:`MIN_CHURNERS` churners decides nothing:
the champion stays; a champion whose feature set scoring no longer computes (the features changed
since it was trained) gives way without a comparison. Every decision, with both models' figures,
is in the cycle's run record; a new champion is also named in the registry (``model_champion``),
which ``score`` follows by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from churnradar.periods import add_months, format_month, parse_month

#: Fewer churners than this in the judging month: no comparison, the champion stays.
MIN_CHURNERS = 30
#: Months the cycle's challenger holds out of its training (the judging month).
HOLD_OUT_MONTHS = 1


@dataclass
class Challenge:
    challenger: str
    champion: str | None  # the champion before the decision
    winner: str
    reason: str
    judged_month: date | None = None
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)  # model id → measures

    @property
    def promoted(self) -> bool:
        return self.winner == self.challenger and self.champion != self.challenger

    def to_dict(self) -> dict[str, Any]:
        return {
            "challenger": self.challenger,
            "champion_before": self.champion,
            "champion": self.winner,
            "promoted": self.promoted,
            "reason": self.reason,
            "judged_month": None if self.judged_month is None else format_month(self.judged_month),
            "figures": self.figures,
        }


def _outcome_until(model: Any) -> date | None:
    v = (model.meta or {}).get("outcome_until")
    return None if v is None else parse_month(str(v))


def _stale_features(record: Any) -> str | None:
    """Why the model's feature set is not the one scoring computes now (None when it is)."""
    from churnradar.errors import ChurnRadarError
    from churnradar.features import get_feature_set
    from churnradar.models.pipeline import check_feature_set

    try:
        check_feature_set(record, get_feature_set(record.feature_set))
    except ChurnRadarError as exc:
        return str(exc)
    return None


def _one_month_figures(
    store: Path, month: date, definition: str, models: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """ROC-AUC and log-loss of each model's 1-month probability from the features of ``month``
    against the lines' churn in the month after (lines open at the end of ``month``)."""
    from sklearn.metrics import log_loss, roc_auc_score

    from churnradar.features import compute_features, get_feature_set
    from churnradar.labels import label_store
    from churnradar.store.backends import open_backend

    lab = label_store(store, month, definition, write=False).labels
    y_col = "churn_within_1m"
    lab = lab.select(["subscriber_id", y_col]).filter(lab.column(y_col).is_valid())
    features: dict[str, Any] = {}
    out: dict[str, dict[str, Any]] = {}
    bk = open_backend(store, "duckdb")
    try:
        for model_id, model in models.items():
            fs = model.meta["feature_set"]
            if fs not in features:
                features[fs] = bk.to_pyarrow(compute_features(bk, month, get_feature_set(fs)))
            scored = model.score(features[fs], reasons=None).select(["subscriber_id", "p_churn_1m"])
            joined = scored.join(lab, "subscriber_id", join_type="inner")
            y = np.asarray(joined.column(y_col).to_numpy(zero_copy_only=False), dtype=float)
            p = np.asarray(joined.column("p_churn_1m").to_numpy(zero_copy_only=False), dtype=float)
            f: dict[str, Any] = {"rows": len(y), "churners": int(y.sum())}
            if 0 < y.sum() < len(y):
                f["roc_auc"] = round(float(roc_auc_score(y, p)), 4)
                f["log_loss"] = round(float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])), 5)
            out[model_id] = f
    finally:
        bk.close()
    return out


def challenge(store: Path | str, challenger_id: str, definition: str, settled: date) -> Challenge:
    """Judge model ``challenger_id`` against the champion of churn ``definition`` on the newest
    outcome month neither learnt (at or before ``settled``, the newest month whose outcome the data
    hold in full), name the winner in the registry when the champion changes, and say why."""
    from churnradar.models.registry import current_champion, load_model, set_champion

    store = Path(store)
    named = current_champion(store, definition)
    if named is None:
        why = f"no champion of churn definition {definition} yet: the new model is the first"
        set_champion(store, challenger_id, why)
        return Challenge(challenger_id, None, challenger_id, why)
    if named.model_id == challenger_id:
        return Challenge(challenger_id, challenger_id, challenger_id, "the new model is the champion already")
    champion_id = named.model_id
    _, chall = load_model(store, challenger_id)
    champ_record, champ = load_model(store, champion_id)
    stale = _stale_features(champ_record)
    if stale is not None:
        why = f"the new model {challenger_id} replaces champion {champion_id}, which can no longer score: {stale}"
        set_champion(store, challenger_id, why)
        return Challenge(challenger_id, champion_id, challenger_id, why)
    seen = _outcome_until(chall)
    if seen is None:
        why = f"model {challenger_id} does not record the outcomes it learnt; the champion stays"
        return Challenge(challenger_id, champion_id, champion_id, why)
    judged = add_months(seen, 1)
    if judged > settled:
        why = (
            f"model {challenger_id} learnt outcomes up to {format_month(seen)}: no settled month after "
            f"it to judge it on (settled up to {format_month(settled)}); the champion stays"
        )
        return Challenge(challenger_id, champion_id, champion_id, why, judged)
    champ_seen = _outcome_until(champ)
    if champ_seen is None or champ_seen >= judged:
        why = (
            f"champion {champion_id} learnt outcomes up to "
            f"{'an unrecorded month' if champ_seen is None else format_month(champ_seen)}, so "
            f"{format_month(judged)} cannot judge it; the champion stays"
        )
        return Challenge(challenger_id, champion_id, champion_id, why, judged)
    figures = _one_month_figures(
        store, add_months(judged, -1), definition, {champion_id: champ, challenger_id: chall}
    )
    c, n = figures[challenger_id], figures[champion_id]
    res = Challenge(challenger_id, champion_id, champion_id, "", judged, figures)
    where = f"churn in {format_month(judged)} of the lines open at the end of {format_month(add_months(judged, -1))}"
    if c["churners"] < MIN_CHURNERS or "roc_auc" not in c or "roc_auc" not in n:
        res.reason = (
            f"{c['churners']} churners in {format_month(judged)} (fewer than {MIN_CHURNERS}): too few to "
            "compare the models; the champion stays"
        )
        return res
    shown = (
        f"log-loss {c['log_loss']:.4f} vs {n['log_loss']:.4f}, ROC-AUC {c['roc_auc']:.3f} vs "
        f"{n['roc_auc']:.3f} ({where}, {c['churners']} churners)"
    )
    if c["log_loss"] < n["log_loss"] and c["roc_auc"] >= n["roc_auc"]:
        res.winner = challenger_id
        res.reason = f"the new model {challenger_id} beats champion {champion_id}: {shown}"
        set_champion(store, challenger_id, res.reason, res.to_dict())
    else:
        res.reason = (
            f"champion {champion_id} stays; the new model {challenger_id} is not better on both: {shown}"
        )
    return res
