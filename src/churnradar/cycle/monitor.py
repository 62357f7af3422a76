"""Model monitoring: how far this month's features and scores have moved from the model's training
month (population stability index, PSI), and how the scores of one to three months ago did against
what happened since (ROC-AUC, top-decile lift, calibration of the 1-month probability).

PSI compares the shares of two samples over ten bins cut at the reference's deciles (categories
for text columns, a bin of its own for missing values):

    PSI = sum over bins of (cur - ref) * ln(cur / ref)      (shares floored at 0.0001)

Rules of thumb used by credit and churn modellers: below 0.10 stable, 0.10-0.25 a shift worth a
look, above 0.25 a shift that calls for retraining. Two things make a raw PSI above 0.25 a poor
alarm on its own. Months differ from each other in ways a model has already learnt: a 30-day
month against a 31-day one moves every count of active days, a three-month mean drops a February
in and out. And a PSI is a statistic: between two samples of the same population,
``PSI * n_ref * n_cur / (n_ref + n_cur)`` follows a chi-squared law with (bins - 1) degrees of
freedom, so a small sample's PSI can pass 0.25 by chance alone. A feature or the score raises the
alert only when all of these hold:

* its PSI is more than :data:`ALERT_PSI` above the largest PSI of the months the model learnt from
  (its feature months, against the same reference month): the month has moved by more than the
  retraining threshold beyond what the model was trained across;
* the shift is beyond sampling noise with every check of the month counted: its chi-squared
  p-value is below :data:`ALERT_FAMILY_ERROR` divided by the number of checks judged (Bonferroni),
  so a month of a hundred stable features raises a false alert at most 5% of the time;
* it has enough independent observations for that test: at least :data:`MIN_UNITS_PER_BIN` per
  bin on average in both months (Cochran's rule for the chi-squared approximation).

The independent observations of a feature are its lines, except for a feature that is the same
for every line of a home grid (the network quality of the grid): that is a property of the grid,
its observations are the grids, and a store of a few dozen grids gives too few to judge (its PSI
is shown, never alerted on). An outcome ROC-AUC more than :data:`ALERT_AUC_DROP` below the model's
own validation (over at least :data:`MIN_OUTCOME_CHURNERS` churners, and below it beyond chance:
one-sided p under :data:`ALERT_FAMILY_ERROR` over the months judged, with the Hanley-McNeil
standard error) also raises the alert.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from churnradar.periods import add_months, format_month, parse_month
from churnradar.store.connection import has_table

#: A feature or score PSI above this raises the alert (and asks for retraining) when it is beyond
#: sampling noise; 0.10 to this is a shift worth a look (listed, no alert).
ALERT_PSI = 0.25
WATCH_PSI = 0.10
#: Chance of a false stability alert in a month with nothing moved, over all its checks together.
ALERT_FAMILY_ERROR = 0.05
#: Independent observations per bin (on average, in each month) needed to judge a PSI.
MIN_UNITS_PER_BIN = 5
#: Cohen's small effect: a numeric column's shift in reference standard deviations (or Cohen's h of
#: its share of missing values) below this is not material, whatever its PSI.
SMALL_EFFECT = 0.2
#: An outcome ROC-AUC this far below the model's validation ROC-AUC raises the alert.
ALERT_AUC_DROP = 0.05
#: Fewer churners than this in an earlier month's outcome: its ROC-AUC is shown, never alerted on.
MIN_OUTCOME_CHURNERS = 30
MONITOR_TABLE = "model_monitor"
#: Per model: the largest PSI of its training months against its reference month, per check.
BASELINE_TABLE = "model_monitor_baseline"
#: Rows per batch when the baseline streams a training month's features (and scores) from DuckDB.
BASELINE_BATCH_ROWS = 200_000
_FLOOR = 1e-4


def psi(reference: Any, current: Any, bins: int = 10) -> float | None:
    """Population stability index of ``current`` against ``reference`` (arrays or Arrow columns):
    deciles of the reference for numbers, categories for text; missing values are a bin of their
    own. None when the reference has no values."""
    out = _psi_bins(reference, current, bins)
    return None if out is None else out[0]


def _psi_bins(reference: Any, current: Any, bins: int = 10) -> tuple[float, int] | None:
    """PSI and the number of bins holding any value of either sample."""
    binned = _Binned(_as_array(reference), bins)
    binned.add(_as_array(current))
    return binned.result()


def _text(values: np.ndarray) -> np.ndarray:
    """Values as text for category bins, missing values as a category of their own."""
    return np.where(values == None, "\0", values).astype(str)  # noqa: E711 (element-wise)


class _Binned:
    """The PSI bins of a reference sample (cut at its deciles for numbers, its categories for text,
    missing values a bin of their own) and the counts of a current sample added in parts: a month
    streamed in batches gives the PSI of the whole month without holding it."""

    def __init__(self, reference: np.ndarray, bins: int = 10):
        self.n_ref, self.n_cur = len(reference), 0
        self.numeric = reference.dtype.kind in "fiub"
        self.empty = self.n_ref == 0
        if self.numeric:
            r = reference.astype(np.float64)
            present = r[~np.isnan(r)]
            self.empty = self.empty or present.size == 0
            self.edges = (
                np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
                if present.size
                else present
            )
            self.ref_counts = self._counts(r)
            self.cur_counts = np.zeros_like(self.ref_counts)
        else:
            keys, counts = np.unique(_text(reference), return_counts=True)
            self.ref_text = dict(zip(keys.tolist(), counts.tolist(), strict=True))
            self.cur_text: dict[str, int] = {}

    def _counts(self, values: np.ndarray) -> np.ndarray:
        """Counts per bin: missing values first, then the bins between the edges."""
        b = np.where(np.isnan(values), -1, np.searchsorted(self.edges, values, side="left"))
        return np.bincount(b + 1, minlength=len(self.edges) + 2)

    def fresh(self) -> _Binned:
        """The same reference bins with no current values yet."""
        other = copy.copy(self)
        other.n_cur = 0
        if self.numeric:
            other.cur_counts = np.zeros_like(self.ref_counts)
        else:
            other.cur_text = {}
        return other

    def add(self, values: np.ndarray) -> None:
        self.n_cur += len(values)
        if not len(values):
            return
        if self.numeric:
            self.cur_counts += self._counts(values.astype(np.float64))
        else:
            keys, counts = np.unique(_text(values), return_counts=True)
            for k, n in zip(keys.tolist(), counts.tolist(), strict=True):
                self.cur_text[k] = self.cur_text.get(k, 0) + n

    def result(self) -> tuple[float, int] | None:
        """PSI and the number of bins holding any value of either sample (None when either sample
        has no values, or the reference's numbers are all missing)."""
        if self.empty or self.n_cur == 0:
            return None
        if self.numeric:
            rs, cs = self.ref_counts / self.n_ref, self.cur_counts / self.n_cur
        else:
            keys = sorted(self.ref_text.keys() | self.cur_text.keys())
            rs = np.array([self.ref_text.get(k, 0) for k in keys]) / self.n_ref
            cs = np.array([self.cur_text.get(k, 0) for k in keys]) / self.n_cur
        used = int(np.count_nonzero((rs > 0) | (cs > 0)))
        rs, cs = np.maximum(rs, _FLOOR), np.maximum(cs, _FLOOR)
        return float(np.sum((cs - rs) * np.log(cs / rs))), used


@dataclass(frozen=True)
class StabilityCheck:
    """One PSI of the month (a feature's or the score's) and what it says."""

    psi: float
    bins: int
    unit: str  # "line" or "grid": what an independent observation of the column is
    n_ref: int  # independent observations in the reference month
    n_cur: int
    p_value: float | None = None  # chance of a PSI this large between samples of one population
    #: the largest PSI of the months the model learnt from against its reference month
    baseline: float = 0.0
    status: str = "stable"  # stable | learnt | noise | slight | watch | drift | too few
    segment: str | None = None  # county of the lines compared (None: all lines)
    material: bool = True  # moved by at least a small effect on the column's own scale

    def to_dict(self) -> dict[str, Any]:
        return {
            "psi": round(self.psi, 4),
            "status": self.status,
            "unit": self.unit,
            "units": [self.n_ref, self.n_cur],
            "bins": self.bins,
            "p_value": None if self.p_value is None else float(f"{self.p_value:.3g}"),
            "training_psi": round(self.baseline, 4),
            "county": self.segment,
        }


def _check(
    value: float, bins: int, unit: str, n_ref: int, n_cur: int, baseline: float = 0.0
) -> StabilityCheck:
    """The check before the month's Bonferroni correction: p-value when the units are enough."""
    from scipy.stats import chi2

    if bins < 2 or min(n_ref, n_cur) < MIN_UNITS_PER_BIN * bins:
        return StabilityCheck(value, bins, unit, n_ref, n_cur, None, baseline, "too few")
    stat = value * n_ref * n_cur / (n_ref + n_cur)
    return StabilityCheck(value, bins, unit, n_ref, n_cur, float(chi2.sf(stat, bins - 1)), baseline)


def judge(
    checks: dict[str, StabilityCheck], family_error: float = ALERT_FAMILY_ERROR
) -> dict[str, StabilityCheck]:
    """Each check's status with the month's checks counted together (Bonferroni). With *excess* the
    PSI beyond the largest the model's own training months had (``baseline``): ``stable`` (PSI at
    most :data:`WATCH_PSI`), ``learnt`` (an excess of at most :data:`WATCH_PSI`: no further than
    the months the model learnt from), ``noise`` (within sampling noise), ``drift`` (an excess above
    :data:`ALERT_PSI`), ``slight`` (bins moved, the values hardly: less than a small effect on the
    column's own scale), ``watch`` (the rest), ``too few`` (too few observations to judge)."""
    judged = sum(c.p_value is not None for c in checks.values())
    level = family_error / max(judged, 1)
    out = {}
    for name, c in checks.items():
        excess = c.psi - c.baseline
        if c.p_value is None:
            status = "too few"
        elif c.psi <= WATCH_PSI:
            status = "stable"
        elif excess <= WATCH_PSI:
            status = "learnt"
        elif c.p_value >= level:
            status = "noise"
        elif not c.material:
            status = "slight"
        else:
            status = "drift" if excess > ALERT_PSI else "watch"
        out[name] = replace(c, status=status)
    return out


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
    #: each feature's check ("score" for the 1-month probability), after the month's correction
    checks: dict[str, StabilityCheck] = field(default_factory=dict)

    @property
    def alert(self) -> bool:
        return bool(self.alerts)

    def summary(self) -> dict[str, Any]:
        top = sorted(self.features.items(), key=lambda kv: -kv[1])[:10]
        judged = [c for c in self.checks.values() if c.p_value is not None]

        def named(status: str) -> list[dict[str, Any]]:
            hits = sorted(
                ((k, c) for k, c in self.checks.items() if c.status == status), key=lambda kc: -kc[1].psi
            )
            return [{"feature": k.split("@")[0], **c.to_dict()} for k, c in hits]

        return {
            "month": format_month(self.month),
            "model_id": self.model_id,
            "reference_month": format_month(self.reference_month),
            "features_checked": len(self.features),
            "checks_judged": len(judged),
            "check_level": None if not judged else float(f"{ALERT_FAMILY_ERROR / len(judged):.3g}"),
            "top_feature_psi": [
                {
                    "feature": k,
                    "psi": round(v, 4),
                    "status": self.checks[k].status if k in self.checks else None,
                }
                for k, v in top
            ],
            "score_psi": None if self.score_psi is None else round(self.score_psi, 4),
            "drifted": named("drift"),
            "watch": named("watch"),
            "not_judged": sorted(k for k, c in self.checks.items() if c.status == "too few"),
            "outcomes": self.outcomes,
            "alert": self.alert,
            "alerts": self.alerts,
        }

    def rows(self) -> pa.Table:
        if self.checks:  # every PSI, over all lines and per county ("feature:name@county")
            items = [
                (k if k.startswith("score") else f"feature:{k}", "psi", c.psi) for k, c in self.checks.items()
            ]
        else:
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


def _snapshot(store: Path, month: date, feature_set: str, *, write: bool = False) -> pa.Table | None:
    """The stored feature snapshot of ``month``; with ``write``, computed and stored when missing."""
    from churnradar.features.snapshot import SNAPSHOT_TABLE
    from churnradar.store import Store

    def read() -> pa.Table | None:
        with Store.open(store, read_only=True) as st:
            con = st.connection
            if not has_table(con, SNAPSHOT_TABLE):
                return None
            t = con.execute(
                f'SELECT * FROM "{SNAPSHOT_TABLE}" WHERE as_of = ? AND feature_set = ?', [month, feature_set]
            ).to_arrow_table()
        return t if t.num_rows else None

    t = read()
    if t is None and write:
        from churnradar.features import write_snapshot

        write_snapshot(store, month, feature_set)
        t = read()
    return t


def _scores(store: Path, month: date, model_id: str | None = None) -> pa.Table | None:
    from churnradar.models.pipeline import SCORE_TABLE
    from churnradar.store import Store

    with Store.open(store, read_only=True) as st:
        con = st.connection
        if not has_table(con, SCORE_TABLE):
            return None
        sql = f'SELECT subscriber_id, p_churn_1m, model_id FROM "{SCORE_TABLE}" WHERE as_of = ?'
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
    ids = scores.column("model_id").unique().to_pylist()
    record, model = load_model(store, ids[0]) if len(ids) == 1 else load_model(store, as_of=month)
    res = MonitorResult(month, record.model_id, record.as_of)
    cur = _snapshot(store, month, record.feature_set)
    ref = _snapshot(store, record.as_of, record.feature_set, write=True)
    geo = _geography(store)
    ref_scores = _scores(store, record.as_of, record.model_id)
    if ref_scores is None and ref is not None:
        ref_scores = model.score(ref, reasons=None)
    baseline = _baseline(store, record, model, ref, ref_scores, geo)
    checks: dict[str, StabilityCheck] = {}
    if cur is not None and ref is not None:
        columns = {n: (ref.column(n), cur.column(n)) for n in _feature_columns(ref) if n in cur.column_names}
        res.features = _stability(checks, columns, _Places.of(ref, geo), _Places.of(cur, geo), baseline)
    if ref_scores is not None:
        column = {"score": (ref_scores.column("p_churn_1m"), scores.column("p_churn_1m"))}
        res.score_psi = _stability(
            checks, column, _Places.of(ref_scores, geo), _Places.of(scores, geo), baseline
        ).get("score")
    res.checks = judge(checks)
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
            o["roc_auc_se"] = round(_auc_se(o["roc_auc"], int(y.sum()), int(len(y) - y.sum())), 4)
            if (
                base_auc is not None
                and y.sum() >= MIN_OUTCOME_CHURNERS
                and o["roc_auc"] < base_auc - ALERT_AUC_DROP
                and _auc_drop_p(base_auc, o["roc_auc"], o["roc_auc_se"]) < ALERT_FAMILY_ERROR / look_back
            ):
                res.alerts.append(
                    f"scores of {format_month(earlier)}: ROC-AUC {o['roc_auc']:.3f} against what happened, "
                    f"{base_auc - o['roc_auc']:.3f} below the model's validation ({base_auc:.3f}; "
                    f"standard error {o['roc_auc_se']:.3f})"
                )
        res.outcomes.append(o)
    drifted = sorted(
        ((c.psi, k) for k, c in res.checks.items() if c.status == "drift" and k.split("@")[0] != "score"),
        reverse=True,
    )
    if drifted:
        shown = ", ".join(f"{k.replace('@', ' in ')} {v:.2f}" for v, k in drifted[:5])
        res.alerts.append(
            f"{len(drifted)} feature check(s) moved since {format_month(record.as_of)} (PSI more than "
            f"{ALERT_PSI} beyond the model's training months, beyond sampling noise over "
            f"{sum(c.p_value is not None for c in res.checks.values())} checks): {shown}"
        )
    moved = sorted(
        (
            (c.psi, c.segment)
            for k, c in res.checks.items()
            if k.split("@")[0] == "score" and c.status == "drift"
        ),
        key=lambda x: -x[0],
    )
    if moved:
        shown = ", ".join(f"{'all lines' if seg is None else seg} {v:.2f}" for v, seg in moved[:5])
        res.alerts.append(f"the score distribution moved since {format_month(record.as_of)} (PSI {shown})")
    return res


@dataclass
class _Places:
    """Home grid (integer code, -1 where unknown) and county (None where unknown) of each row."""

    grid: np.ndarray
    county: np.ndarray

    @classmethod
    def of(cls, table: pa.Table, geo: pa.Table | None) -> _Places:
        import pyarrow.compute as pc

        n = table.num_rows
        if geo is None:
            return cls(np.full(n, -1), np.full(n, None, dtype=object))
        idx = pc.index_in(table.column("subscriber_id"), value_set=geo.column("subscriber_id"))
        grid = pc.take(geo.column("grid_code"), idx).to_numpy(zero_copy_only=False)
        county = pc.take(geo.column("county_id"), idx).to_numpy(zero_copy_only=False)
        return cls(np.nan_to_num(grid.astype(np.float64), nan=-1).astype(np.int64), county.astype(object))

    def segments(self) -> set[str]:
        return {c for c in self.county if c is not None}

    _masks: dict[str | None, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def mask(self, segment: str | None) -> np.ndarray:
        """The rows of county ``segment`` (None: every row), kept once made: the comparisons run
        per feature and per training month on the same places."""
        if segment not in self._masks:
            self._masks[segment] = (
                np.ones(len(self.county), dtype=bool) if segment is None else self.county == segment
            )
        return self._masks[segment]

    def grids(self, mask: np.ndarray) -> int:
        g = self.grid[mask]
        return len(np.unique(g[g >= 0]))


def _geography(store: Path) -> pa.Table | None:
    """Each line's home grid (as an integer code) and its county (``subscription.grid_id``,
    ``region.county_id``), when the store records them."""
    from churnradar.store import Store

    with Store.open(store, read_only=True) as st:
        con = st.connection
        cols = {
            (t, c)
            for t, c in con.execute(
                "SELECT table_name, column_name FROM duckdb_columns() WHERE table_name IN ('subscription', 'region')"
            ).fetchall()
        }
        if ("subscription", "grid_id") not in cols:
            return None
        county = "r.county_id" if ("region", "county_id") in cols else "NULL::VARCHAR"
        join = "LEFT JOIN region r ON r.grid_id = s.grid_id" if ("region", "county_id") in cols else ""
        return con.execute(
            "SELECT s.subscriber_id, CASE WHEN any_value(s.grid_id) IS NOT NULL "
            "THEN dense_rank() OVER (ORDER BY any_value(s.grid_id)) END AS grid_code, "
            f"any_value(s.grid_id) AS grid_id, any_value({county}) AS county_id FROM subscription s {join} "
            "GROUP BY s.subscriber_id"
        ).to_arrow_table()


def _grid_level(values: np.ndarray, grid: np.ndarray) -> bool:
    """Whether ``values`` has one value per home grid (a property of the grid, not of the line)."""
    known = grid >= 0
    g = grid[known]
    if len(np.unique(g)) < 2:
        return False
    v = values[known]
    if v.dtype.kind not in "fiub":
        v = np.unique(np.where(v == None, "\0", v).astype(str), return_inverse=True)[1]  # noqa: E711
    v = v.astype(np.float64)
    order = np.argsort(g, kind="stable")
    g, v = g[order], v[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    sizes = np.diff(np.r_[starts, len(g)])
    missing = np.isnan(v)
    n_missing = np.add.reduceat(missing.astype(np.int64), starts)
    lo = np.minimum.reduceat(np.where(missing, np.inf, v), starts)
    hi = np.maximum.reduceat(np.where(missing, -np.inf, v), starts)
    return bool(np.all((n_missing == sizes) | ((n_missing == 0) & (lo == hi))))


def _material(ref: np.ndarray, cur: np.ndarray) -> bool:
    """Whether a numeric column moved by at least a small effect on its own scale (Cohen's 0.2):
    the earth mover's distance of its values in reference standard deviations, or Cohen's h of
    the share of missing values. Text columns: always (their PSI bins are their values)."""
    if ref.dtype.kind not in "fiub":
        return True
    from scipy.stats import wasserstein_distance

    r, c = ref.astype(np.float64), cur.astype(np.float64)
    rm, cm = np.isnan(r), np.isnan(c)
    h = abs(2 * np.arcsin(np.sqrt(rm.mean())) - 2 * np.arcsin(np.sqrt(cm.mean())))
    if h >= SMALL_EFFECT:
        return True
    rp, cp = r[~rm], c[~cm]
    if rp.size == 0 or cp.size == 0:
        return False
    sd = float(np.std(rp))
    if sd == 0:  # a constant reference: Cohen's h of the share of other values
        return bool(2 * np.arcsin(np.sqrt(np.mean(cp != rp[0]))) >= SMALL_EFFECT)
    return wasserstein_distance(rp, cp) / sd >= SMALL_EFFECT


def _feature_columns(snapshot: pa.Table) -> list[str]:
    skip = {"as_of", "feature_set", "version", "subscriber_id"}
    return [n for n in snapshot.column_names if n not in skip]


def _stability(
    checks: dict[str, StabilityCheck],
    columns: dict[str, tuple[Any, Any]],
    ref: _Places,
    cur: _Places,
    baseline: dict[str, float],
) -> dict[str, float]:
    """Add the checks of each column (reference and current values) over all lines and within each
    county to ``checks``, with the ``baseline`` of its key; return the all-lines PSI of each column."""
    psis: dict[str, float] = {}
    segments = sorted(ref.segments() & cur.segments())
    for name, (r_col, c_col) in columns.items():
        r_all, c_all = _as_array(r_col), _as_array(c_col)
        grid_level = _grid_level(r_all, ref.grid) and _grid_level(c_all, cur.grid)
        for segment in (None, *segments):
            rm, cm = ref.mask(segment), cur.mask(segment)
            r, c = r_all[rm], c_all[cm]
            out = _psi_bins(r, c)
            if out is None:
                continue
            if segment is None:
                psis[name] = out[0]
            key = name if segment is None else f"{name}@{segment}"
            units = ("grid", ref.grids(rm), cur.grids(cm)) if grid_level else ("line", len(r), len(c))
            check = _check(out[0], out[1], *units, baseline=baseline.get(key, 0.0))
            checks[key] = replace(check, segment=segment, material=_material(r, c))
    return psis


def _baseline(
    store: Path,
    record: Any,
    model: Any,
    ref: pa.Table | None,
    ref_scores: pa.Table | None,
    geo: pa.Table | None,
) -> dict[str, float]:
    """The largest PSI of the model's training months against its reference month, per check key
    (feature or ``score``, ``@county`` within a county). Computed once per model from the months'
    features and kept in :data:`BASELINE_TABLE`."""
    from churnradar.store import Store
    from churnradar.store.derived import replace_rows

    with Store.open(store, read_only=True) as st:
        con = st.connection
        if has_table(con, BASELINE_TABLE):
            rows = con.execute(
                f'SELECT item, psi FROM "{BASELINE_TABLE}" WHERE model_id = ?', [record.model_id]
            ).fetchall()
            if rows:
                return {k: v for k, v in rows if k != ""}
    if ref is None:
        return {}
    from churnradar.features import compute_features, get_feature_set
    from churnradar.store.backends import open_backend

    # the reference's bins per check, then one training month at a time streamed in batches (its
    # features, its scores) into counts per bin, keeping only the running largest PSI: the months
    # together would hold the operator's features as often as there are months, one month once
    ref_bins = _reference_bins({n: ref.column(n) for n in _feature_columns(ref)}, _Places.of(ref, geo))
    score_bins = {}
    if ref_scores is not None:
        score_bins = _reference_bins({"score": ref_scores.column("p_churn_1m")}, _Places.of(ref_scores, geo))
    out: dict[str, float] = dict.fromkeys([*score_bins, *ref_bins], 0.0)
    bk = open_backend(store, "duckdb")
    try:
        fs = get_feature_set(record.feature_set)
        for m in (model.meta or {}).get("feature_months", []):
            month_bins = {k: v.fresh() for k, v in ref_bins.items()}
            month_scores = {k: v.fresh() for k, v in score_bins.items()}
            expr = compute_features(bk, parse_month(m), fs)
            for batch in bk.con.to_pyarrow_batches(expr, chunk_size=BASELINE_BATCH_ROWS):
                t = pa.Table.from_batches([batch])
                at = _Places.of(t, geo)
                _count(month_bins, t, at)
                if month_scores:
                    _count(month_scores, model.score(t, reasons=None), at, {"score": "p_churn_1m"})
            for key, binned in (*month_bins.items(), *month_scores.items()):
                got = binned.result()
                out[key] = max(out[key], 0.0 if got is None else got[0])
    finally:
        bk.close()
    keys = list(out) or [""]  # an empty marker row: computed, nothing to keep
    rows = pa.table(
        {
            "model_id": pa.array([record.model_id] * len(keys), pa.string()),
            "item": pa.array(keys, pa.string()),
            "psi": pa.array([out.get(k, 0.0) for k in keys], pa.float64()),
        }
    )
    replace_rows(store, BASELINE_TABLE, rows, {"model_id": record.model_id})
    return out


def _reference_bins(columns: dict[str, Any], places: _Places) -> dict[str, _Binned]:
    """The reference's PSI bins per check key: each column over all lines and within each county."""
    segments = (None, *sorted(places.segments()))
    out: dict[str, _Binned] = {}
    for name, col in columns.items():
        values = _as_array(col)
        for segment in segments:
            out[name if segment is None else f"{name}@{segment}"] = _Binned(values[places.mask(segment)])
    return out


def _count(
    bins: dict[str, _Binned], table: pa.Table, places: _Places, rename: dict[str, str] | None = None
) -> None:
    """Add the rows of ``table`` (lines at ``places``) to the counts of each check key of ``bins``;
    ``rename``: the table's column of a check name. A column the table lacks adds nothing."""
    values: dict[str, np.ndarray | None] = {}
    for key, binned in bins.items():
        name, _, segment = key.partition("@")
        if name not in values:
            column = (rename or {}).get(name, name)
            values[name] = _as_array(table.column(column)) if column in table.column_names else None
        v = values[name]
        if v is not None:
            binned.add(v[places.mask(segment or None)])


def _auc_se(auc: float, churners: int, others: int) -> float:
    """Standard error of a ROC-AUC over ``churners`` positives and ``others`` negatives (Hanley and
    McNeil, 1982)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (churners - 1) * (q1 - auc**2) + (others - 1) * (q2 - auc**2)) / max(
        churners * others, 1
    )
    return float(np.sqrt(max(var, 0.0)))


def _auc_drop_p(base: float, auc: float, se: float) -> float:
    """One-sided p-value of a ROC-AUC this far below ``base`` by chance."""
    from scipy.stats import norm

    return 0.0 if se == 0 else float(norm.sf((base - auc) / se))


def _validation_auc(metrics: dict[str, Any]) -> float | None:
    """The model's own 1-month ROC-AUC on its calibration slice (registry metrics), when recorded."""
    v = metrics.get("hazard_auc_step1")
    return None if v is None else float(v)


def write_monitor(store: Path | str, res: MonitorResult) -> int:
    from churnradar.store.derived import replace_rows

    return replace_rows(Path(store), MONITOR_TABLE, res.rows(), {"month": res.month})
