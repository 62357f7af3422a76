"""Reasons: feature contributions grouped through feature → driver → reason code.

Every feature declares a driver (price, quality, technology, social, convenience, life_event) and
a default reason code (``churnradar features --list``). Contributions to the model's log-odds are
summed per (reason, driver) pair, then per reason; a subscriber's reasons are the three reason
codes with the largest positive contribution, each with its dominant driver, its size (log-odds)
and its zh-CN and en labels. Reason codes are the churn-reason taxonomy, never raw feature names.
Features that are symptoms of leaving rather than evidence of why (usage and spend falling, balance
run down) and the static profile move the probability but do not choose the reason (see
``feature_reason_map``). A feature's contribution counts for its reason only when the subscriber's
value lies beyond the training month's median on the side that signals the reason (in arrears, a
recent complaint, a contract about to end; see ``EVIDENCE_LOWER``): risk raised by *not* being in
arrears is no evidence of arrears. An unpaid amount on a prepaid line is the balance run below zero,
a symptom, not evidence of arrears (``POSTPAID_ONLY_EVIDENCE``). A subscriber with no positive
evidence gets ``unknown`` (未知).

Two ways to get contributions, same grouping:

- ``exact``: TreeSHAP from LightGBM (``pred_contrib=True``) — exact Shapley values, ≈ 1–3k rows/s.
- ``path``: Saabas path contributions from the compiled scorer — ≈ 100× faster, approximate (its
  agreement with TreeSHAP is measured in ``benchmarks/bench_model.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from churnradar.errors import ConfigError
from churnradar.schema.enums import DRIVER, REASON_CODE

METHODS = ("exact", "path")

#: Reason code for a feature whose declaration has a driver but no default reason code.
DRIVER_DEFAULT_REASON = {
    "price": "competitor",
    "quality": "competitor",
    "technology": "competitor",
    "social": "competitor",
    "convenience": "competitor",
    "life_event": "relocation",
}

#: Features that describe our own retention actions, not a reason to leave: left out of reasons.
NOT_A_REASON = frozenset(
    {
        "campaign_assignments_12m",
        "campaign_control_12m",
        "campaign_contacts_6m",
        "months_since_campaign_contact",
        "offers_accepted_12m",
        "offer_acceptance_rate_12m",
        "retention_contacts_6m",
    }
)

#: Themes whose features are the *symptom* of leaving (usage, spend and top-ups falling, balance run
#: down): every leaver shows them whatever the reason, so they raise the risk but are not evidence
#: of a reason. Measured on the simulator: mapping them to reasons put "arrears" or "relocation" on
#: top for most churners and agreed with the true reason for 29% of top-decile churners; leaving them
#: out of the reason choice, 43% (docs/model.md).
SIGNAL_THEMES = frozenset({"usage", "spend", "recharge"})
SIGNAL_FEATURES = frozenset(
    {"balance_1m", "balance_trend_3m", "balance_months_of_spend", "months_since_recharge"}
)

#: Static profile (prepaid, tenure, fee, brand, customer group): who the subscriber is, not why
#: they leave.
PROFILE_FEATURES = frozenset(
    {
        "is_prepaid",
        "tenure_months",
        "package_fee",
        "is_5g_package",
        "brand",
        "current_brand",
        "is_premium_brand",
        "customer_group",
        "acquisition_channel_type",
        "is_local_certificate",
        "customer_lines",
    }
)

#: Where this model reads a feature differently from the feature's declared default reason, and why.
REASON_OVERRIDES: dict[str, tuple[str, str]] = {
    # promotion cards dropped at 3–9 months are abandoned down the arrears route ("burn
    # the card"); the labels record them as arrears, induced by our own promotion
    "promo_burn_window": ("convenience", "arrears"),
    "acquired_on_promotion": ("convenience", "arrears"),
    "acquired_via_commission_channel": ("convenience", "fraud"),
}


#: Features whose *lower* values are the evidence of their reason (a recent suspension or complaint, a
#: contract or subsidy about to end, a weak home grid, fewer contacts or family ties, a brand
#: downgrade). Every other feature that names a reason is evidence when its value is *higher*.
EVIDENCE_LOWER = frozenset(
    {
        "months_since_suspension",
        "months_since_complaint",
        "months_to_contract_end",
        "months_to_subsidy_end",
        "grid_throughput_3m",
        "grid_coverage_3m",
        "onnet_share_3m",
        "in_family_group",
        "family_group_size",
        "family_call_degree_3m",
        "call_peers_1m",
        "call_peers_3m",
        "call_peers_mom_change",
        "brand_rank_change",
    }
)


#: A promotion card that is barely used (active on at most this many days of the month) reads as a
#: commission-fraud card (养卡: opened for the channel commission and kept alive with next to no
#: use), not as one abandoned down the arrears route: the promotion features' evidence moves from
#: arrears to fraud for such rows.
BARELY_USED_ACTIVE_DAYS = 7
BARELY_USED_FEATURE = "active_days_1m"
PROMOTION_FEATURES = ("acquired_on_promotion", "promo_burn_window")


#: Unpaid amounts are evidence of arrears only on postpaid lines: on a prepaid line an unpaid amount
#: is the balance run below zero by not topping up — the symptom every prepaid leaver shows, whatever
#: the reason (like the balance features in ``SIGNAL_FEATURES``) — not a bill left unpaid.
#: Suspensions (停机) and reactivations stay evidence for every line.
POSTPAID_ONLY_EVIDENCE = frozenset({"arrears_1m", "arrears_max_6m", "arrears_months_6m", "arrears_to_arpu"})
PREPAID_FEATURE = "is_prepaid"


def evidence_direction(features: Sequence[str], mapping: dict[str, tuple[str, str] | None]) -> np.ndarray:
    """Per feature: +1 when higher values are evidence of its reason, −1 when lower, 0 when it names
    no reason."""
    return np.array(
        [0 if mapping.get(f) is None else (-1 if f in EVIDENCE_LOWER else 1) for f in features],
        dtype=np.int8,
    )


def feature_reason_map(features: Sequence[str]) -> dict[str, tuple[str, str] | None]:
    """For each feature: (driver, reason code), or None when it is not evidence of a reason.

    None: our own campaign history, the symptoms of leaving (usage, spend, top-ups, balance) and
    the static profile. They still move the probability; they do not choose the reason.
    """
    from churnradar.features import FEATURES, get_feature
    from churnradar.features.registry import _load_themes

    _load_themes()

    out: dict[str, tuple[str, str] | None] = {}
    for name in features:
        f = FEATURES.get(name)
        if (
            name in NOT_A_REASON
            or name in SIGNAL_FEATURES
            or name in PROFILE_FEATURES
            or (f is not None and f.theme in SIGNAL_THEMES)
        ):
            out[name] = None
            continue
        if name in REASON_OVERRIDES:
            out[name] = REASON_OVERRIDES[name]
            continue
        if name not in FEATURES:
            try:
                get_feature(name)
            except ConfigError:
                out[name] = ("none", "unknown")
                continue
        f = FEATURES[name]
        driver = f.driver or "none"
        out[name] = (driver, f.reason or DRIVER_DEFAULT_REASON.get(driver, "unknown"))
    return out


class ReasonExplainer:
    """Top reasons per row from a booster's contributions, grouped by a feature → (driver, reason) map.

    With a ``reference`` (per feature, the training population's median), a feature's contribution
    counts for its reason only when the row's value lies beyond the reference on the evidence side
    (``evidence_direction``): a subscriber whose risk is raised by *not* being in arrears, or by
    having no recent complaint, gets no arrears or complaint reason from it. Contributions that are
    not evidence still move the probability; they do not choose the reason.
    """

    def __init__(self, top: int = 3):
        self.top = top

    def fit(
        self,
        features: Sequence[str],
        mapping: dict[str, tuple[str, str] | None] | None = None,
        reference: Sequence[float] | np.ndarray | None = None,
    ):
        mapping = mapping if mapping is not None else feature_reason_map(features)
        self.features_ = list(features)
        self.mapping_ = {f: mapping.get(f) for f in self.features_}
        self.direction_ = evidence_direction(self.features_, self.mapping_)
        if reference is None:
            self.reference_ = None
        else:
            self.reference_ = np.asarray(reference, dtype=np.float64)
            if self.reference_.shape != (len(self.features_),):
                raise ConfigError(
                    f"reference has {self.reference_.size} values for {len(self.features_)} features"
                )
        pairs = sorted({v for v in self.mapping_.values() if v is not None}, key=lambda p: (p[1], p[0]))
        self.pairs_ = pairs
        self.reasons_ = sorted({r for _, r in pairs})
        unknown = [r for r in self.reasons_ if r not in REASON_CODE]
        if unknown:
            raise ConfigError(
                f"reason codes {unknown} are not in the taxonomy; expected {sorted(REASON_CODE)}"
            )
        g = np.zeros((len(self.features_), len(pairs)))
        for i, f in enumerate(self.features_):
            if self.mapping_[f] is not None:
                g[i, pairs.index(self.mapping_[f])] = 1.0
        self.pair_matrix_ = g
        self.reason_of_pair_ = np.array([self.reasons_.index(r) for _, r in pairs], dtype=np.int64)
        self.evidence_cols_ = np.flatnonzero(g.any(axis=1))  # features that name a reason
        self.postpaid_only_ = None
        if PREPAID_FEATURE in self.features_ and self.reference_ is not None:
            pos = [
                j for j, i in enumerate(self.evidence_cols_) if self.features_[i] in POSTPAID_ONLY_EVIDENCE
            ]
            if pos:
                self.postpaid_only_ = (np.array(pos), self.features_.index(PREPAID_FEATURE))
        self.fraud_move_ = None
        src, dst = ("convenience", "arrears"), ("convenience", "fraud")
        fcols = [
            j
            for j, i in enumerate(self.evidence_cols_)
            if self.features_[i] in PROMOTION_FEATURES and self.mapping_[self.features_[i]] == src
        ]
        if fcols and dst in pairs and BARELY_USED_FEATURE in self.features_ and self.reference_ is not None:
            self.fraud_move_ = (
                pairs.index(src),
                pairs.index(dst),
                np.array(fcols),
                self.features_.index(BARELY_USED_FEATURE),
            )
        return self

    def evidence(self, X: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """1 where a row's value of a reason-naming feature is evidence of its reason, else 0:
        (rows × len(cols)) for ``cols`` (default ``evidence_cols_``)."""
        cols = self.evidence_cols_ if cols is None else cols
        if self.reference_ is None:
            return np.ones((X.shape[0], len(cols)))
        d = self.direction_[cols].astype(np.float64)
        ref = self.reference_[cols]
        with np.errstate(invalid="ignore"):
            ok = d * (np.asarray(X, dtype=np.float64)[:, cols] - ref) > 0
        # no reference (a feature missing in the whole training month): its sign alone decides
        ok |= np.isnan(ref) & ~np.isnan(np.asarray(X, dtype=np.float64)[:, cols])
        if self.postpaid_only_ is not None and np.array_equal(cols, self.evidence_cols_):
            pos, prepaid = self.postpaid_only_
            ok[:, pos] &= ~(np.asarray(X, dtype=np.float64)[:, prepaid] == 1)[:, None]
        return ok.astype(np.float64)

    def _group(self, c: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Evidence per reason-naming feature (rows × ``evidence_cols_``) → per (driver, reason) pair."""
        cols = self.evidence_cols_
        c = c * self.evidence(X, cols)
        pairs = c @ self.pair_matrix_[cols]
        if self.fraud_move_ is not None:  # barely used promotion cards: arrears → fraud
            src, dst, fcols, used = self.fraud_move_
            with np.errstate(invalid="ignore"):
                barely = np.asarray(X, dtype=np.float64)[:, used] <= BARELY_USED_ACTIVE_DAYS
            moved = c[:, fcols].sum(axis=1) * barely
            pairs[:, src] -= moved
            pairs[:, dst] += moved
        return pairs

    def pairs_from_feature_contributions(self, contrib: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Per-feature contributions (rows × features) → evidence per (driver, reason) pair."""
        return self._group(np.asarray(contrib)[:, self.evidence_cols_], X)

    def pair_contributions(self, booster: Any, X: np.ndarray, method: str = "exact", trees: Any = None):
        """Evidence per (driver, reason) pair: rows × pairs."""
        if method == "exact":
            contrib = np.asarray(booster.predict(X, pred_contrib=True))[:, : len(self.features_)]
            return self.pairs_from_feature_contributions(contrib, X)
        if method == "path":
            if trees is None:
                from churnradar.models.treescore import CompiledTrees

                trees = CompiledTrees.from_booster(booster)
            if self.reference_ is None:
                return trees.path_contributions(X, self.pair_matrix_)
            cols = self.evidence_cols_
            pick = np.zeros((len(self.features_), len(cols)))
            pick[cols, np.arange(len(cols))] = 1.0
            return self._group(trees.path_contributions(X, pick), X)
        raise ConfigError(f"reason method {method!r} is not known; expected one of {METHODS}")

    def top_reasons(self, pair_contrib: np.ndarray) -> dict[str, np.ndarray]:
        """The ``top`` reasons by positive contribution: codes, drivers and sizes, (rows × top) each.

        A slot is empty (code None, size 0) when fewer reasons push the risk up.
        """
        n = pair_contrib.shape[0]
        r = len(self.reasons_)
        if r == 0:  # no feature of the model carries a reason code (an operator with few inputs)
            codes = np.full((n, self.top), None, dtype=object)
            drivers = np.full((n, self.top), None, dtype=object)
            codes[:, 0], drivers[:, 0] = "unknown", "none"
            return {"code": codes, "driver": drivers, "size": np.zeros((n, self.top))}
        by_reason = np.zeros((n, r))
        for j, ri in enumerate(self.reason_of_pair_):
            by_reason[:, ri] += pair_contrib[:, j]
        order = np.argsort(-by_reason, axis=1, kind="stable")[:, : self.top]
        size = np.take_along_axis(by_reason, order, axis=1)
        codes = np.asarray(self.reasons_, dtype=object)[order]
        # dominant driver within each chosen reason
        drivers = np.empty((n, order.shape[1]), dtype=object)
        for t in range(order.shape[1]):
            best = np.full(n, -np.inf)
            drv = np.full(n, None, dtype=object)
            for j, (d, _) in enumerate(self.pairs_):
                hit = (self.reason_of_pair_[j] == order[:, t]) & (pair_contrib[:, j] > best)
                best = np.where(hit, pair_contrib[:, j], best)
                drv = np.where(hit, d, drv)
            drivers[:, t] = drv
        empty = size <= 0
        codes[empty] = None
        drivers[empty] = None
        size = np.where(empty, 0.0, size)
        # no positive evidence at all: the first reason is "unknown" (未知), with size 0
        codes[:, 0] = np.where(empty[:, 0], "unknown", codes[:, 0])
        drivers[:, 0] = np.where(empty[:, 0], "none", drivers[:, 0])
        if order.shape[1] < self.top:  # fewer reason codes than slots
            pad = self.top - order.shape[1]
            codes = np.hstack([codes, np.full((n, pad), None, dtype=object)])
            drivers = np.hstack([drivers, np.full((n, pad), None, dtype=object)])
            size = np.hstack([size, np.zeros((n, pad))])
        return {"code": codes, "driver": drivers, "size": size}

    def explain(self, booster: Any, X: np.ndarray, method: str = "exact", trees: Any = None):
        return self.top_reasons(self.pair_contributions(booster, X, method, trees))

    def to_dict(self) -> dict[str, Any]:
        ref = None
        if self.reference_ is not None:
            ref = [None if np.isnan(v) else float(v) for v in self.reference_]
        return {"top": self.top, "features": self.features_, "mapping": self.mapping_, "reference": ref}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReasonExplainer:
        mapping = {k: (tuple(v) if v is not None else None) for k, v in d["mapping"].items()}
        ref = d.get("reference")  # models stored before evidence gating have none
        if ref is not None:
            ref = [np.nan if v is None else v for v in ref]
        return cls(top=d["top"]).fit(d["features"], mapping, ref)


def reason_label(code: str | None, lang: str = "zh") -> str | None:
    """The zh-CN (``zh``) or en label of a reason code."""
    if code is None:
        return None
    if lang not in ("zh", "en"):
        raise ConfigError(f"language {lang!r} is not known; expected 'zh' or 'en'")
    en, zh = REASON_CODE[code]
    return zh if lang == "zh" else en


def driver_label(code: str | None, lang: str = "zh") -> str | None:
    if code is None:
        return None
    en, zh = DRIVER.get(code, (code, code))
    return zh if lang == "zh" else en
