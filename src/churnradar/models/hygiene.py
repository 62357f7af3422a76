"""Data hygiene of flat tables (``fit-table``): every decision about a row or a column is reported.

Each rule gives a :class:`Finding` (rule, columns, count, action and the sentence a user reads):
missing-value markers (``?``, ``NA``, ``N/A``, empty, ``null``, ``-``, …) read as missing and
counted; text columns of numbers read as numbers; identifiers (a different value on every row),
constant and empty columns left out; the churn column encoded (Yes/No, 1/0, … or the values given
with ``--positive`` / ``--target-map``), rows without a usable value left out and counted; exact
and conflicting duplicate rows found and grouped, so that a row and its copies never sit on both
sides of a split.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnradar.errors import ChurnRadarError, ConfigError

#: Cell values read as missing (compared after trimming, ignoring case).
MISSING_MARKERS = ("", "?", "na", "n/a", "#n/a", "null", "none", "nan", "-")
POSITIVE = {"yes", "y", "true", "t", "1", "1.0", "churn", "churned", "left", "是"}
NEGATIVE = {"no", "n", "false", "f", "0", "0.0", "stay", "stayed", "retained", "active", "否"}
#: Share of the non-missing cells of a text column that must parse as numbers for a numeric column.
NUMERIC_SHARE = 0.95
#: Categories kept for a text column (the most frequent); the rest are read as missing.
MAX_CATEGORIES = 100
#: Tables with fewer distinct rows are too small to call a column an identifier.
MIN_ROWS_FOR_IDENTIFIER = 50


class TargetEncodingError(ChurnRadarError):
    """The churn column has values that are not a known yes/no encoding."""


@dataclass
class Finding:
    """One hygiene decision: what rule, on which columns, how many cells or rows, what was done."""

    rule: str
    columns: list[str]
    count: int
    action: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _q(values: Iterable[Any], limit: int = 5) -> str:
    values = list(values)
    out = ", ".join(repr(v) for v in values[:limit])
    return out + (f", … ({len(values)} in all)" if len(values) > limit else "")


# -- the churn column ------------------------------------------------------------------------------


def parse_target_map(spec: str | None) -> dict[str, int] | None:
    """``'Churned=1,Stayed=0'`` → ``{'churned': 1, 'stayed': 0}`` (keys case-folded and trimmed)."""
    if spec is None:
        return None
    out: dict[str, int] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError(f"--target-map entry {part.strip()!r} is not VALUE=1 or VALUE=0")
        value, code = part.rsplit("=", 1)
        if code.strip() not in ("0", "1"):
            raise ConfigError(f"--target-map entry {part.strip()!r}: the code must be 1 (churn) or 0")
        out[value.strip().casefold()] = int(code.strip())
    if not out:
        raise ConfigError("--target-map is empty; expected e.g. 'Churned=1,Stayed=0'")
    if set(out.values()) != {0, 1}:
        raise ConfigError("--target-map must map at least one value to 1 and one to 0")
    return out


def _target_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "true", False: "false"}).astype("string")
    text = values.astype("string").str.strip()
    return text.mask(text.str.casefold().isin(MISSING_MARKERS))


def encode_target(
    values: pd.Series,
    positive: Sequence[str] | None = None,
    target_map: dict[str, int] | None = None,
    findings: list[Finding] | None = None,
) -> np.ndarray:
    """The churn column as floats: 1 churn, 0 not, NaN for rows left out (no value, or a value
    ``--target-map`` does not map). Without ``positive`` or ``target_map`` the values must be a
    yes/no encoding (Yes/No, True/False, 1/0, Y/N, churned/stayed, any case)."""
    name = values.name
    text = _target_text(values)
    folded = text.str.casefold()
    y = np.full(len(values), np.nan)
    missing = folded.isna().to_numpy()
    present = folded[~missing]
    if positive and target_map:
        raise ConfigError("give either --positive or --target-map, not both")
    if positive:
        pos = {str(v).strip().casefold() for v in positive}
        unseen = sorted(pos - set(present.unique()))
        if unseen:
            raise ConfigError(
                f"--positive {_q(unseen)} does not occur in the churn column {name!r}; "
                f"its values are {_q(sorted(text.dropna().unique()))}"
            )
        y[~missing] = present.isin(pos).to_numpy().astype(float)
    elif target_map:
        mapped = present.map(target_map)
        y[~missing] = mapped.to_numpy(dtype=float, na_value=np.nan)
        unmapped = text[~missing][mapped.isna().to_numpy()]
        if len(unmapped) and findings is not None:
            counts = unmapped.value_counts()
            findings.append(
                Finding(
                    "target_unmapped",
                    [str(name)],
                    len(unmapped),
                    "rows left out",
                    f"{len(unmapped):,} rows have churn values that --target-map does not map ("
                    + ", ".join(f"{v!r}: {n:,}" for v, n in counts.items())
                    + ") and are left out",
                )
            )
    else:
        bad = sorted(set(present.unique()) - POSITIVE - NEGATIVE)
        if bad:
            raise TargetEncodingError(
                f"the churn column {name!r} has values {bad[:5]} that are not a yes/no encoding; expected "
                "Yes/No, True/False, 1/0, Y/N or churned/stayed, or say which values mean churn with "
                "--positive VALUE or --target-map 'Churned=1,Stayed=0'"
            )
        y[~missing] = present.isin(POSITIVE).to_numpy().astype(float)
    if missing.any() and findings is not None:
        findings.append(
            Finding(
                "target_missing",
                [str(name)],
                int(missing.sum()),
                "rows left out",
                f"{int(missing.sum()):,} rows have no value in the churn column {name!r} and are left out",
            )
        )
    if (positive or target_map) and findings is not None:
        ok = ~np.isnan(y)
        by = pd.DataFrame({"v": text[ok].to_numpy(), "y": y[ok]}).groupby(["y", "v"]).size()
        parts = [f"{v!r} → {int(c)} ({n:,} rows)" for (c, v), n in by.sort_index(ascending=False).items()]
        findings.append(
            Finding(
                "target_mapping",
                [str(name)],
                int(ok.sum()),
                "encoded",
                f"churn column {name!r}: " + "; ".join(parts),
            )
        )
    kept = y[~np.isnan(y)]
    if kept.size == 0:
        raise TargetEncodingError(f"the churn column {name!r} has no usable values")
    if kept.min() == kept.max():
        only = text[~np.isnan(y)].iloc[0]
        raise TargetEncodingError(f"the churn column {name!r} has only one class ({only!r})")
    return y


# -- columns ---------------------------------------------------------------------------------------


@dataclass
class ColumnPlan:
    """How each column is read, learnt on the training rows and applied to any rows."""

    kinds: dict[str, str] = field(default_factory=dict)  # column → numeric | categorical
    categories: dict[str, list[str]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)  # column → rule

    @property
    def features(self) -> list[str]:
        return [c for c in self.kinds if c not in self.excluded]

    def types(self) -> dict[str, str]:
        """Each column's type as reported: numeric, categorical or id (left out)."""
        return {c: ("id" if c in self.excluded else k) for c, k in self.kinds.items()}


def _markers(s: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    """The trimmed text of a column with missing markers (and nulls) as <NA>, and the marker counts."""
    text = s.astype("string").str.strip()
    is_marker = text.str.casefold().isin(MISSING_MARKERS).fillna(False)
    counts = {str(k): int(v) for k, v in text[is_marker].value_counts().items()}
    return text.mask(is_marker), counts


def _is_typed_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def infer_kinds(frame: pd.DataFrame, findings: list[Finding]) -> dict[str, str]:
    """``numeric`` or ``categorical`` per column, counting missing markers and stray text in numbers.

    A text column is numeric when at least 95% of its non-missing cells parse as numbers; the rest
    are read as missing and reported."""
    kinds: dict[str, str] = {}
    for c in frame.columns:
        s = frame[c]
        if _is_typed_number(s):
            kinds[c] = "numeric"
            continue
        text, marker_counts = _markers(s)
        filled = text.dropna()
        num = pd.to_numeric(filled, errors="coerce")
        if len(filled) and num.notna().mean() >= NUMERIC_SHARE:
            kinds[c] = "numeric"
            bad = filled[num.isna()]
            if len(bad):
                findings.append(
                    Finding(
                        "non_numeric",
                        [c],
                        len(bad),
                        "read as missing",
                        f"{c!r}: {len(bad):,} values that are not numbers ({_q(sorted(bad.unique()))}) "
                        "are read as missing in this numeric column",
                    )
                )
        else:
            kinds[c] = "categorical"
        if marker_counts:
            n_marked = sum(marker_counts.values())
            shown = ", ".join(
                f"{k!r} × {v:,}" for k, v in sorted(marker_counts.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            findings.append(
                Finding(
                    "missing_markers",
                    [c],
                    n_marked,
                    "read as missing",
                    f"{c!r}: {n_marked:,} cells marked as missing ({shown}) are read as missing values",
                )
            )
    return kinds


def typed(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Numeric columns as float64 (markers and stray text → NaN), categorical ones as trimmed text
    (markers → None)."""
    out: dict[str, Any] = {}
    for c, kind in kinds.items():
        if c not in frame.columns:
            raise ConfigError(f"column {c!r} is missing from the table; the training rows have it")
        s = frame[c]
        if kind == "numeric":
            if _is_typed_number(s):
                out[c] = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
            else:
                text, _ = _markers(s)
                out[c] = pd.to_numeric(text, errors="coerce").astype(float).to_numpy()
        else:
            text, _ = _markers(s)
            out[c] = text.to_numpy(dtype=object, na_value=None)
    return pd.DataFrame(out, index=frame.index)


def _is_integer_valued(x: np.ndarray) -> bool:
    finite = x[np.isfinite(x)]
    return finite.size > 0 and bool(np.all(finite == np.round(finite)))


def plan_columns(
    frame: pd.DataFrame,
    kinds: dict[str, str],
    *,
    id_cols: Sequence[str] = (),
    keep: Sequence[str] = (),
    drop: Sequence[str] = (),
    findings: list[Finding],
) -> ColumnPlan:
    """Which typed columns (:func:`typed`) the model uses; a finding for every column left out."""
    plan = ColumnPlan(kinds=dict(kinds))
    keep = set(keep)
    for c in [*keep, *drop]:
        if c not in frame.columns:
            raise ConfigError(f"{c!r} (--keep/--drop) is not a column of the file")
    n_distinct = len(frame.drop_duplicates()) if len(frame.columns) else 0
    for c, kind in kinds.items():
        values = frame[c]
        n = len(values)
        if c in id_cols:
            plan.excluded[c] = "id_column"
            findings.append(
                Finding("id_column", [c], n, "left out", f"{c!r} is the id column (--id) and is left out")
            )
            continue
        if c in drop:
            plan.excluded[c] = "dropped"
            findings.append(Finding("dropped", [c], n, "left out", f"{c!r} is left out (--drop)"))
            continue
        nunique = int(values.nunique(dropna=True))
        n_missing = int(values.isna().sum())
        if nunique == 0:
            plan.excluded[c] = "empty"
            findings.append(
                Finding("empty", [c], n, "left out", f"{c!r} is empty on every row and is left out")
            )
            continue
        if nunique == 1 and n_missing == 0:
            plan.excluded[c] = "constant"
            v = values.iloc[0]
            v = v.item() if hasattr(v, "item") else v
            v = int(v) if isinstance(v, float) and v.is_integer() else v
            findings.append(
                Finding("constant", [c], n, "left out", f"{c!r} has a single value ({v!r}) and is left out")
            )
            continue
        identifier = (
            n_distinct >= MIN_ROWS_FOR_IDENTIFIER
            and nunique >= 0.99 * n_distinct
            and (kind == "categorical" or _is_integer_valued(values.to_numpy(dtype=float)))
        )
        if identifier:
            what = "integer" if kind == "numeric" else "text"
            if c in keep:
                findings.append(
                    Finding(
                        "kept",
                        [c],
                        nunique,
                        "used (--keep)",
                        f"{c!r} has a different {what} value on every row (an identifier) but is used (--keep)",
                    )
                )
            else:
                plan.excluded[c] = "identifier"
                findings.append(
                    Finding(
                        "identifier",
                        [c],
                        nunique,
                        "left out",
                        f"{c!r} has a different {what} value on every row (an identifier) and is left out; "
                        f"--keep '{c}' uses it",
                    )
                )
                continue
        if kind == "categorical":
            counts = values.value_counts()
            plan.categories[c] = sorted(str(v) for v in counts.index[:MAX_CATEGORIES])
            if len(counts) > MAX_CATEGORIES:
                rest = int(counts.iloc[MAX_CATEGORIES:].sum())
                findings.append(
                    Finding(
                        "high_cardinality",
                        [c],
                        rest,
                        "rare values read as missing",
                        f"{c!r} has {len(counts):,} distinct values; the {MAX_CATEGORIES} most frequent are "
                        f"used and the other {rest:,} cells are read as missing",
                    )
                )
    return plan


def apply_plan(frame: pd.DataFrame, plan: ColumnPlan, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The model's input from a typed frame: its planned columns, categories outside the training
    ones read as missing."""
    cols = list(columns) if columns is not None else plan.features
    out = {}
    for c in cols:
        s = frame[c]
        cats = plan.categories.get(c)
        if cats is not None:
            s = s.where(s.isin(cats), None)
        out[c] = s
    return pd.DataFrame(out, index=frame.index)


# -- duplicates ------------------------------------------------------------------------------------


def _row_hash(X: pd.DataFrame) -> np.ndarray:
    if X.shape[1] == 0:
        return np.zeros(len(X), dtype=np.uint64)
    return pd.util.hash_pandas_object(X.astype(object).where(X.notna(), None), index=False).to_numpy()


def duplicate_groups(X: pd.DataFrame, y: np.ndarray, findings: list[Finding]) -> np.ndarray | None:
    """A group id per row, shared by rows with the same values in every model column (exact
    duplicates and conflicting duplicates alike), or None when every row is distinct."""
    h = _row_hash(X)
    codes, uniques = pd.factorize(h)
    if len(uniques) == len(h):
        return None
    hy = pd.factorize(pd.Series(list(zip(codes, y, strict=True))))[0]
    exact = len(h) - len(np.unique(hy))
    frame = pd.DataFrame({"g": codes, "y": y})
    per = frame.groupby("g")["y"].agg(["nunique", "size"])
    conflict = per[per["nunique"] > 1]
    if exact:
        findings.append(
            Finding(
                "duplicate_rows",
                [],
                int(exact),
                "kept; copies kept on the same side of every split",
                f"{exact:,} rows repeat another row exactly (every model column and the churn value); kept, "
                "and a row and its copies are always on the same side of a split, so they cannot inflate "
                "the validation",
            )
        )
    if len(conflict):
        rows = int(conflict["size"].sum())
        findings.append(
            Finding(
                "conflicting_duplicates",
                [],
                rows,
                "kept; copies kept on the same side of every split",
                f"{rows:,} rows in {len(conflict):,} groups have the same values in every model column "
                "but different churn values (conflicting duplicates); kept, on the same side of every split",
            )
        )
    return codes.astype(np.int64)


def overlap_count(train: pd.DataFrame, test: pd.DataFrame) -> int:
    """Test rows equal to a training row in every model column."""
    return int(np.isin(_row_hash(test), _row_hash(train)).sum())
