"""Value × risk segments and the policy table that maps each segment to a retention action.

The default policy (``retention/data/policy.toml``) follows the usual value × risk policy: high value × high
risk gets a one-to-one account manager and a competitive package; mid value standard offers; low
value × very high risk a low-cost touch only when its expected saving beats its cost. Rules are
matched top to bottom; ``*`` matches any tier or level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnradar.retention.errors import PolicyError
from churnradar.retention.value import load_config
from churnradar.schema import enums as E

ACTIONS: dict[str, tuple[str, str]] = {
    "one_to_one": ("account manager one-to-one", "客户经理一对一"),
    "standard_offer": ("standard offer", "标准方案"),
    "cost_checked_touch": ("low-cost touch", "低成本触达"),
    "no_action": ("no action", "暂不维系"),
}
RISK_LABELS = {"low": "低风险", "mid": "中风险", "high": "高风险", "very_high": "极高风险"}
VALUE_LABELS = {"high": "高价值", "mid": "中价值", "low": "低价值"}


@dataclass(frozen=True)
class Policy:
    risk_cuts: tuple[float, ...]
    risk_names: tuple[str, ...]
    rules: tuple[dict[str, Any], ...]

    @classmethod
    def load(cls, path: Path | str | None = None) -> Policy:
        """The policy in ``path`` (TOML), or the package default."""
        return cls.from_dict(load_config(path, "policy"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Policy:
        risk = d.get("risk", {})
        cuts, names = tuple(risk.get("cuts", ())), tuple(risk.get("names", ()))
        if len(names) != len(cuts) + 1 or list(cuts) != sorted(cuts):
            raise PolicyError(
                f"policy risk cuts {list(cuts)} / names {list(names)}: expected increasing cuts, one name more"
            )
        rules = tuple(d.get("rule", ()))
        if not rules:
            raise PolicyError("policy has no [[rule]] entries; expected at least one")
        for i, r in enumerate(rules):
            if r.get("action") not in ACTIONS:
                raise PolicyError(
                    f"policy rule {i + 1}: action {r.get('action')!r} is unknown; expected one of {', '.join(ACTIONS)}"
                )
            kind = r.get("offer_kind")
            if kind is not None and kind not in E.OFFER_KIND:
                raise PolicyError(
                    f"policy rule {i + 1}: offer_kind {kind!r} is unknown; expected one of {', '.join(E.OFFER_KIND)}"
                )
            chan = r.get("channel")
            if chan is not None and chan not in E.CONTACT_CHANNEL:
                raise PolicyError(
                    f"policy rule {i + 1}: channel {chan!r} is unknown; expected one of {', '.join(E.CONTACT_CHANNEL)}"
                )
            for key in ("value", "risk"):
                if not isinstance(r.get(key), list) or not r[key]:
                    raise PolicyError(f'policy rule {i + 1}: {key} must be a non-empty list ("*" for any)')
        return cls(cuts, names, rules)

    def risk_level(self, p: pd.Series) -> pd.Series:
        idx = np.searchsorted(np.asarray(self.risk_cuts), p.to_numpy(dtype=float), side="right")
        return pd.Series(np.asarray(self.risk_names, dtype=object)[idx], index=p.index, name="risk_level")


def segment_and_act(
    frame: pd.DataFrame, policy: Policy | None = None, risk_col: str = "p_churn_3m"
) -> pd.DataFrame:
    """Add ``risk_level``, ``segment`` (``<tier>×<level>``), ``action`` with zh/en text, and the
    action's ``offer_kind`` and ``channel`` to ``frame`` (needs ``value_tier``, ``clv`` and ``risk_col``)."""
    policy = policy or Policy.load()
    for col in ("value_tier", "clv", risk_col):
        if col not in frame.columns:
            raise PolicyError(f"segmenting needs column {col!r}; got {list(frame.columns)}")
    out = frame.copy()
    out["risk_level"] = policy.risk_level(out[risk_col])
    out["segment"] = out["value_tier"].astype(str) + "×" + out["risk_level"].astype(str)
    action = pd.Series(None, index=out.index, dtype=object)
    rule_ix = pd.Series(-1, index=out.index)
    for i, r in enumerate(policy.rules):
        free = action.isna()
        hit = free.copy()
        if "*" not in r["value"]:
            hit &= out["value_tier"].isin(r["value"])
        if "*" not in r["risk"]:
            hit &= out["risk_level"].isin(r["risk"])
        if r["action"] == "cost_checked_touch":
            worth = out[risk_col] * r.get("assumed_effect", 0.1) * out["clv"] > r.get("cost", 0.0)
            action[hit & ~worth] = "no_action"
            hit &= worth
        action[hit] = r["action"]
        rule_ix[hit] = i
    action = action.fillna("no_action")
    out["action"] = action
    out["action_en"] = [ACTIONS[a][0] for a in action]
    out["action_zh"] = [ACTIONS[a][1] for a in action]
    kinds = [r.get("offer_kind") for r in policy.rules]
    chans = [r.get("channel") for r in policy.rules]
    out["offer_kind"] = [
        kinds[i] if i >= 0 and a != "no_action" else None for i, a in zip(rule_ix, action, strict=True)
    ]
    out["channel"] = [
        chans[i] if i >= 0 and a != "no_action" else None for i, a in zip(rule_ix, action, strict=True)
    ]
    return out


def segment_label(segment: str, lang: str = "zh") -> str:
    """``high×very_high`` → ``高价值×极高风险`` (zh) or ``high value × very high risk`` (en)."""
    tier, _, level = segment.partition("×")
    if lang.startswith("zh"):
        return f"{VALUE_LABELS.get(tier, tier)}×{RISK_LABELS.get(level, level)}"
    return f"{tier} value × {level.replace('_', ' ')} risk"
