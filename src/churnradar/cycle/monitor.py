"""Model monitoring: how far this month's features and scores have moved from the model's training
month (population stability index, PSI), and how the scores of one to three months ago did against
what happened since (ROC-AUC, top-decile lift, calibration of the 1-month probability).

PSI compares the shares of two samples over ten bins cut at the reference's deciles (categories
for text columns, a bin of its own for missing values):

    PSI = sum over bins of (cur - ref) * ln(cur / ref)      (shares floored at 0.0001)

Rules of thumb used by credit and churn modellers: below 0.10 stable, 0.10-0.25 a shift worth a
look, above 0.25 a shift that calls for retraining. :data:`ALERT_PSI` (feature and score) and an
outcome ROC-AUC more than :data:`ALERT_AUC_DROP` below the model's own validation (over at least
:data:`MIN_OUTCOME_CHURNERS` churners) raise the alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from churnradar.periods import add_months, format_month

#: A feature or score PSI above this raises the alert (and asks for retraining).
ALERT_PSI = 0.25
#: An outcome ROC-AUC this far below the model's validation ROC-AUC raises the alert.
ALERT_AUC_DROP = 0.05
#: Fewer churners than this in an earlier month's outcome: its ROC-AUC is shown, never alerted on.
MIN_OUTCOME_CHURNERS = 30
MONITOR_TABLE = "model_monitor"
_FLOOR = 1e-4


def psi(reference: Any, current: Any, bins: int = 10) -> float | None:
    """Population stability index of ``current`` against ``reference`` (arrays or Arrow columns):
    deciles of the reference for numbers, categories for text; missing values are a bin of their
    own. None when the reference has no values."""
    ref = _as_array(reference)
    cur = _as_array(current)
    if len(ref) == 0 or len(cur) == 0:
        return None
    if ref.dtype.kind in "fiub":
        r = ref.astype(np.float64)
        c = cur.astype(np.float64)
        present = r[~np.isnan(r)]
        if present.size == 0:
            return None
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
        rb = np.where(np.isnan(r), -1, np.searchsorted(edges, r, side="right"))
        cb = np.where(np.isnan(c), -1, np.searchsorted(edges, c, side="right"))
        keys = np.arange(-1, len(edges) + 1)
        rs = np.array([(rb == k).mean() for k in keys])
        cs = np.array([(cb == k).mean() for k in keys])
    else:
        r = np.where(ref == None, "\0", ref).astype(str)  # noqa: E711 (element-wise)
        c = np.where(cur == None, "\0", cur).astype(str)  # noqa: E711
        keys = np.union1d(np.unique(r), np.unique(c))
        rs = np.array([(r == k).mean() for k in keys])
        cs = np.array([(c == k).mean() for k in keys])
    rs, cs = np.maximum(rs, _FLOOR), np.maximum(cs, _FLOOR)
    return float(np.sum((cs - rs) * np.log(cs / rs)))


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, pa.ChunkedArray | pa.Array):
        if pa.types.is_boolean(x.type):
            x = x.cast(pa.float64())
        return np.asarray(x.to_numpy(zero_copy_only=False))
    return np.asarray(x)


@dataclass
class MonitorResult:
    month: date
    model_id: str
    reference_month: date
    features: dict[str, float] = field(default_factory=dict)  # PSI per feature
    score_psi: float | None = None
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # one per earlier scored month
    alerts: list[str] = field(default_factory=list)

    @property
    def alert(self) -> bool:
        return bool(self.alerts)

    def summary(self) -> dict[str, Any]:
        top = sorted(self.features.items(), key=lambda kv: -kv[1])[:10]
        return {
            "month": format_month(self.month),
            "model_id": self.model_id,
            "reference_month": format_month(self.reference_month),
            "features_checked": len(self.features),
            "top_feature_psi": [{"feature": k, "psi": round(v, 4)} for k, v in top],
            "score_psi": None if self.score_psi is None else round(self.score_psi, 4),
            "outcomes": self.outcomes,
            "alert": self.alert,
            "alerts": self.alerts,
        }

    def rows(self) -> pa.Table:
        items = [(f"feature:{k}", "psi", v) for k, v in self.features.items()]
        if self.score_psi is not None:
            items.append(("score", "psi", self.score_psi))
        for o in self.outcomes:
            for metric in ("roc_auc", "top_decile_lift", "predicted", "observed"):
                if o.get(metric) is not None:
                    items.append((f"outcome:{o['scored_month']}", metric, float(o[metric])))
        n = len(items)
        return pa.table(
            {
                "month": pa.array([self.month] * n, pa.date32()),
                "model_id": pa.array([self.model_id] * n, pa.string()),
                "item": pa.array([i[0] for i in items], pa.string()),
                "metric": pa.array([i[1] for i in items], pa.string()),
                "value": pa.array([i[2] for i in items], pa.float64()),
                "alert": pa.array([bool(self.alerts)] * n, pa.bool_()),
            }
        )


def _snapshot(store: Path, month: date, feature_set: str) -> pa.Table | None:
    from churnradar.features.snapshot import SNAPSHOT_TABLE
    from churnradar.store import Store

    with Store.open(store, read_only=True) as st:
        con = st.connection
        if not con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [SNAPSHOT_TABLE]
        ).fetchone()[0]:
            return None
        t = con.execute(
            f'SELECT * FROM "{SNAPSHOT_TABLE}" WHERE as_of = ? AND feature_set = ?', [month, feature_set]
        ).to_arrow_table()
    return t if t.num_rows else None


def _scores(store: Path, month: date, model_id: str | None = None) -> pa.Table | None:
    from churnradar.models.pipeline import SCORE_TABLE
    from churnradar.store import Store

    with Store.open(store, read_only=True) as st:
        con = st.connection
        if not con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [SCORE_TABLE]
        ).fetchone()[0]:
            return None
        sql = f'SELECT subscriber_id, p_churn_1m FROM "{SCORE_TABLE}" WHERE as_of = ?'
        args: list[Any] = [month]
        if model_id is not None:
            sql += " AND model_id = ?"
            args.append(model_id)
        t = con.execute(sql, args).to_arrow_table()
    return t if t.num_rows else None


def _lift(y: np.ndarray, p: np.ndarray) -> float | None:
    if y.sum() == 0:
        return None
    k = max(1, int(np.ceil(0.1 * len(p))))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def monitor(store: Path | str, month: date, *, look_back: int = 3) -> MonitorResult:
    """Monitor the model that scored ``month``: feature and score PSI against its training month,
    and realised 1-month outcomes of the ``look_back`` latest scored months whose outcome the data
    hold in full (a month S is judged once S + 1 plus the definition's confirmation months is in)."""
    from sklearn.metrics import roc_auc_score

    from churnradar.labels import label_store
    from churnradar.models.registry import load_model

    store = Path(store)
    scores = _scores(store, month)
    if scores is None:
        raise ValueError(f"{format_month(month)} has no scores to monitor; run the score stage first")
    record, _ = load_model(store, as_of=month)
    res = MonitorResult(month, record.model_id, record.as_of)
    cur = _snapshot(store, month, record.feature_set)
    ref = _snapshot(store, record.as_of, record.feature_set)
    if cur is not None and ref is not None:
        skip = {"as_of", "feature_set", "version", "subscriber_id"}
        for name in cur.column_names:
            if name in skip or name not in ref.column_names:
                continue
            v = psi(ref.column(name), cur.column(name))
            if v is not None:
                res.features[name] = v
    ref_scores = _scores(store, record.as_of, record.model_id)
    if ref_scores is not None:
        res.score_psi = psi(ref_scores.column("p_churn_1m"), scores.column("p_churn_1m"))
    base_auc = _validation_auc(record.metrics or {})
    from churnradar.evaluate.backtest import confirmation_months
    from churnradar.labels import get_definition

    settled = 1 + confirmation_months(get_definition(record.label_definition))
    for k in range(settled, settled + look_back):
        earlier = add_months(month, -k)
        s = _scores(store, earlier)
        if s is None:
            continue
        lab = label_store(store, earlier, record.label_definition, write=False).labels
        y_col = "churn_within_1m"
        if y_col not in lab.column_names:
            continue
        joined = s.join(lab.select(["subscriber_id", y_col]), "subscriber_id")
        y = np.asarray(joined.column(y_col).to_numpy(zero_copy_only=False), dtype=float)
        p = np.asarray(joined.column("p_churn_1m").to_numpy(zero_copy_only=False), dtype=float)
        keep = ~np.isnan(y)
        y, p = y[keep], p[keep]
        o: dict[str, Any] = {
            "scored_month": format_month(earlier),
            "rows": len(y),
            "churners": int(y.sum()),
        }
        if 0 < y.sum() < len(y):
            o["roc_auc"] = round(float(roc_auc_score(y, p)), 4)
            o["top_decile_lift"] = _lift(y, p)
            o["predicted"] = round(float(p.mean()), 5)
            o["observed"] = round(float(y.mean()), 5)
            if (
                base_auc is not None
                and y.sum() >= MIN_OUTCOME_CHURNERS
                and o["roc_auc"] < base_auc - ALERT_AUC_DROP
            ):
                res.alerts.append(
                    f"scores of {format_month(earlier)}: ROC-AUC {o['roc_auc']:.3f} against what happened, "
                    f"{base_auc - o['roc_auc']:.3f} below the model's validation ({base_auc:.3f})"
                )
        res.outcomes.append(o)
    drifted = sorted(((v, k) for k, v in res.features.items() if v > ALERT_PSI), reverse=True)
    if drifted:
        shown = ", ".join(f"{k} {v:.2f}" for v, k in drifted[:5])
        res.alerts.append(
            f"{len(drifted)} features moved since {format_month(record.as_of)} (PSI > {ALERT_PSI}): {shown}"
        )
    if res.score_psi is not None and res.score_psi > ALERT_PSI:
        res.alerts.append(
            f"the score distribution moved since {format_month(record.as_of)} (PSI {res.score_psi:.2f})"
        )
    return res


def _validation_auc(metrics: dict[str, Any]) -> float | None:
    """The model's own 1-month ROC-AUC on its calibration slice (registry metrics), when recorded."""
    v = metrics.get("hazard_auc_step1")
    return None if v is None else float(v)


def write_monitor(store: Path | str, res: MonitorResult) -> int:
    from churnradar.store.derived import replace_rows

    return replace_rows(Path(store), MONITOR_TABLE, res.rows(), {"month": res.month})
