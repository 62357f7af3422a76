"""Customer value: CVF ranks, CLV over the predicted survival curve, 80/20
value tiers and switching cost.

Settings come from a TOML file (``retention/data/value.toml`` by default; see :func:`load_config`).

>>> import pandas as pd
>>> clv(pd.Series([50.0]), pd.DataFrame({"p_churn_1m": [0.02], "p_churn_2m": [0.04], "p_churn_3m": [0.06]}),
...     margin_rate=0.6, horizon_months=24, annual_discount=0.08).round(1).tolist()
[520.7]
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnradar.retention.errors import PolicyError


def load_config(path: Path | str | None = None, kind: str = "value") -> dict[str, Any]:
    """A TOML configuration: ``path`` or the package default ``retention/data/<kind>.toml``."""
    try:
        if path is None:
            text = resources.files("churnradar.retention").joinpath(f"data/{kind}.toml").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return tomllib.loads(text)
    except FileNotFoundError:
        raise PolicyError(f"{kind} configuration {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{kind} configuration {str(path)!r} is not valid TOML: {exc}") from None


def monthly_hazards(risk: pd.DataFrame, months: int) -> np.ndarray:
    """(n, months) monthly hazards from the score's ``p_churn_<h>m`` columns (or ``monthly_hazard``).

    Horizon probabilities give the hazards of their months (h_k = 1 − S_k / S_{k−1}); months past
    the longest horizon keep its last hazard.
    """
    cols = sorted(
        (c for c in risk.columns if c.startswith("p_churn_") and c.endswith("m")),
        key=lambda c: int(c[len("p_churn_") : -1]),
    )
    n = len(risk)
    if not cols:
        if "monthly_hazard" not in risk.columns:
            raise PolicyError(
                f"risk frame has neither p_churn_<h>m nor monthly_hazard columns; got {list(risk.columns)}"
            )
        h = np.clip(risk["monthly_hazard"].to_numpy(dtype=float), 0, 1)
        return np.repeat(h[:, None], months, axis=1)
    out = np.zeros((n, months))
    prev_s = np.ones(n)
    prev_h = 0
    for c in cols:
        hz = int(c[len("p_churn_") : -1])
        s = 1 - np.clip(risk[c].to_numpy(dtype=float), 0, 1)
        steps = hz - prev_h
        if steps <= 0:
            continue
        ratio = np.where(prev_s > 0, s / np.maximum(prev_s, 1e-12), 1.0)
        h = 1 - np.clip(ratio, 0, 1) ** (1 / steps)
        out[:, prev_h : min(hz, months)] = h[:, None]
        prev_s, prev_h = s, hz
        if hz >= months:
            break
    if prev_h < months:
        out[:, prev_h:] = out[:, [max(prev_h - 1, 0)]]
    return out


def clv(
    revenue: pd.Series,
    risk: pd.DataFrame,
    *,
    margin_rate: float = 0.6,
    horizon_months: int = 24,
    annual_discount: float = 0.08,
    retention_cost: float = 0.0,
) -> pd.Series:
    """Discounted expected margin over the predicted survival curve, net of retention cost (yuan).

    ``CLV = Σ_{t=1..H} margin · S(t) / (1 + d)^t − retention_cost`` with ``S(t) = Π_{k≤t} (1 − h_k)``
    from :func:`monthly_hazards` and ``d`` the monthly equivalent of ``annual_discount``.
    """
    if not 0 <= margin_rate <= 1 or horizon_months < 1 or annual_discount < 0:
        raise PolicyError(
            f"CLV settings margin_rate={margin_rate}, horizon_months={horizon_months}, "
            f"annual_discount={annual_discount}; expected 0 ≤ margin ≤ 1, horizon ≥ 1, discount ≥ 0"
        )
    h = monthly_hazards(risk, horizon_months)
    surv = np.cumprod(1 - h, axis=1)
    d = (1 + annual_discount) ** (1 / 12) - 1
    disc = (1 + d) ** -np.arange(1, horizon_months + 1)
    margin = np.clip(revenue.to_numpy(dtype=float), 0, None) * margin_rate
    return pd.Series(margin * (surv @ disc) - retention_cost, index=revenue.index, name="clv")


def cvf(frame: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """Customer value function: weighted mean of percentile ranks, as a relative rank 0–100.

    ``weights`` maps column names to weights; a leading ``-`` ranks the column descending (lower is
    better, e.g. ``-arrears``).
    """
    if not weights:
        raise PolicyError("CVF weights are empty; expected at least one variable")
    total = sum(abs(w) for w in weights.values())
    if total <= 0:
        raise PolicyError(f"CVF weights {weights} sum to zero")
    score = pd.Series(0.0, index=frame.index)
    for name, w in weights.items():
        col = name.lstrip("-")
        if col not in frame.columns:
            raise PolicyError(
                f"CVF variable {col!r} is not available; expected one of {sorted(frame.columns)}"
            )
        r = frame[col].astype(float).rank(pct=True, method="average")
        score += w * (1 - r if name.startswith("-") else r)
    s = score / total
    return (s.rank(pct=True, method="average") * 100).rename("cvf")


def value_tiers(revenue: pd.Series, cuts=(0.5, 0.8), names=("high", "mid", "low")) -> pd.Series:
    """80/20 tiers: richest first, a subscriber's tier is set by the cumulative revenue share reached
    before them (``cuts`` are the share boundaries, ``names`` one more than ``cuts``)."""
    if len(names) != len(cuts) + 1 or list(cuts) != sorted(cuts) or not all(0 < c < 1 for c in cuts):
        raise PolicyError(
            f"tiers cuts={list(cuts)} names={list(names)}; expected increasing cuts in (0, 1), one name more"
        )
    r = revenue.clip(lower=0).astype(float)
    order = r.sort_values(ascending=False, kind="stable")
    total = order.sum()
    before = (order.cumsum() - order) / total if total > 0 else pd.Series(0.0, index=order.index)
    idx = np.searchsorted(np.asarray(cuts), before.to_numpy(), side="right")
    return pd.Series(np.asarray(names, dtype=object)[idx], index=order.index, name="value_tier").reindex(
        r.index
    )


def switching_cost(frame: pd.DataFrame, settings: dict[str, float] | None = None) -> pd.Series:
    """Switching cost (yuan-equivalent): card fee + remaining balance + number dependency (own-network
    contacts × ``per_contact``) + attachment (tenure years, family V-net, remaining contract months)."""
    s = {**load_config()["switching_cost"], **(settings or {})}
    cost = (
        s["card_fee"]
        + frame["balance"].clip(lower=0)
        + s["per_contact"] * frame["onnet_contacts"]
        + s["per_tenure_year"] * frame["tenure_months"] / 12
        + s["family_vnet"] * frame["family"]
        + s["per_contract_month"] * frame["contract_months_left"]
    )
    return cost.rename("switching_cost")


def customer_value(
    cov: pd.DataFrame, risk: pd.DataFrame, config: dict[str, Any] | None = None
) -> pd.DataFrame:
    """CLV, CVF rank, value tier and switching cost per subscriber.

    ``cov`` is :func:`churnradar.retention.covariates.covariates`; ``risk`` has ``subscriber_id`` and
    the score's horizon probabilities. Subscribers without a risk row get the median risk.
    """
    cfg = config or load_config()
    r = cov[["subscriber_id"]].merge(risk, on="subscriber_id", how="left")
    pcols = [c for c in r.columns if c.startswith("p_churn_") or c == "monthly_hazard"]
    r[pcols] = r[pcols].fillna(r[pcols].median()).fillna(0.0)
    c = cfg["clv"]
    out = cov[["subscriber_id"]].copy()
    out["clv"] = clv(
        cov["arpu_3m"],
        r[pcols],
        margin_rate=c["margin_rate"],
        horizon_months=int(c["horizon_months"]),
        annual_discount=c["annual_discount"],
        retention_cost=c.get("retention_cost", 0.0),
    ).to_numpy()
    out["value_tier"] = value_tiers(cov["arpu_3m"], cfg["tiers"]["cuts"], cfg["tiers"]["names"]).to_numpy()
    out["cvf"] = cvf(cov.assign(clv=out["clv"]), cfg["cvf"]["weights"]).to_numpy()
    out["switching_cost"] = switching_cost(cov, cfg.get("switching_cost")).to_numpy()
    for col in pcols:
        out[col] = r[col].to_numpy()
    return out
