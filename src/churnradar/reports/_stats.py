"""Small statistics shared by the report builders: Wilson intervals and small-cell suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


def wilson(
    k: np.ndarray | pd.Series, n: np.ndarray | pd.Series, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the proportion ``k / n`` (vectorised; NaN where ``n`` is 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = np.where(n > 0, np.where(k <= 0, 0.0, np.clip(centre - half, 0, 1)), np.nan)
    hi = np.where(n > 0, np.where(k >= n, 1.0, np.clip(centre + half, 0, 1)), np.nan)
    return lo, hi


def add_rate(df: pd.DataFrame, k: str, n: str, prefix: str = "rate", min_count: int = 5) -> pd.DataFrame:
    """Add ``rate``, ``rate_lo``, ``rate_hi`` (Wilson 95%) and ``suppressed`` columns to ``df``.

    A cell is suppressed (count, rate and interval blanked) when its denominator is below
    ``min_count`` or its count is between 1 and ``min_count − 1``: small cells are too noisy to read
    and could single out people. Zero counts on a large enough base are shown.
    """
    out = df.copy()
    kk = out[k].fillna(0).astype(float)
    nn = out[n].fillna(0).astype(float)
    lo, hi = wilson(kk.to_numpy(), nn.to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        out[prefix] = np.where(nn > 0, kk / nn, np.nan)
    out[f"{prefix}_lo"] = lo
    out[f"{prefix}_hi"] = hi
    small = (nn < min_count) | ((kk > 0) & (kk < min_count))
    out["suppressed"] = small.to_numpy()
    for col in (prefix, f"{prefix}_lo", f"{prefix}_hi"):
        out.loc[small, col] = np.nan
    out[k] = out[k].astype("float").where(~small)
    return out


def suppress_counts(df: pd.DataFrame, cols: list[str], min_count: int = 5) -> pd.DataFrame:
    """Blank counts between 1 and ``min_count − 1`` in ``cols`` (and mark ``suppressed``)."""
    out = df.copy()
    small = np.zeros(len(out), dtype=bool)
    for c in cols:
        v = out[c].fillna(0)
        s = ((v > 0) & (v < min_count)).to_numpy()
        out[c] = out[c].astype(float).where(~s)
        small |= s
    out["suppressed"] = small
    return out


def poisson_z(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Signed deviance residual of an observed count against a Poisson expectation (≈ a z-score)."""
    o = np.asarray(observed, dtype=float)
    e = np.maximum(np.asarray(expected, dtype=float), 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(o > 0, o * np.log(o / e), 0.0) - (o - e)
    return np.sign(o - e) * np.sqrt(np.maximum(2 * term, 0.0))
