"""Building blocks of the canonical data model: column and table descriptions.

A :class:`Table` lists its :class:`Column` objects, its key and its foreign keys. The simulator,
ingest, the store and the generated docs all read these objects; nothing else defines a column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Logical column types and their DuckDB storage types.
DTYPES: dict[str, str] = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "month": "DATE",  # always the first day of a month; CSV accepts YYYY-MM, YYYYMM or YYYY-MM-01
    "timestamp": "TIMESTAMP",
}

#: Identifier kinds that are pseudonymised at ingest with keyed HMAC-SHA256.
PII_KINDS = ("msisdn", "certificate", "imei")


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    ``pii`` names the identifier kind for pseudonymised columns: the stored column (``name``, ending
    in ``_hash``) holds HMAC-SHA256 hex digests, and input files may carry either the digest under
    ``name`` or the raw identifier under ``raw_name``.
    """

    name: str
    dtype: str
    en: str
    zh: str
    nullable: bool = False
    enum: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    pii: str | None = None
    raw_name: str | None = None
    references: str | None = None  # "table.column" this column must match, when not null

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(
                f"column {self.name}: unknown dtype {self.dtype!r}; expected one of {sorted(DTYPES)}"
            )
        if self.pii is not None and self.pii not in PII_KINDS:
            raise ValueError(
                f"column {self.name}: unknown pii kind {self.pii!r}; expected one of {PII_KINDS}"
            )

    @property
    def sql_type(self) -> str:
        return DTYPES[self.dtype]

    def constraint_text(self) -> str:
        """Human-readable summary of the constraints, for help and docs."""
        parts = []
        if not self.nullable:
            parts.append("not null")
        if self.enum:
            parts.append("one of " + ", ".join(self.enum))
        if self.min is not None and self.max is not None:
            parts.append(f"{self.min:g} ≤ x ≤ {self.max:g}")
        elif self.min is not None:
            parts.append(f"≥ {self.min:g}")
        elif self.max is not None:
            parts.append(f"≤ {self.max:g}")
        if self.pii:
            parts.append(f"HMAC-SHA256 of the {self.pii} (raw input column `{self.raw_name}`)")
        if self.references:
            parts.append(f"→ {self.references}")
        if self.dtype == "month":
            parts.append("first day of month")
        return "; ".join(parts)


@dataclass(frozen=True)
class Table:
    """A canonical table: columns, primary key and a bilingual one-line meaning."""

    name: str
    en: str
    zh: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    group: str = "data"  # dimension | data | retention | truth
    order_by: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        for k in self.key:
            if k not in names:
                raise ValueError(f"table {self.name}: key column {k!r} is not a column")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}; columns are {self.column_names}")

    @property
    def pii_columns(self) -> list[Column]:
        return [c for c in self.columns if c.pii]

    def create_sql(self, qualified_name: str | None = None, *, digest_compression: str | None = None) -> str:
        """``CREATE TABLE IF NOT EXISTS`` of the table. ``digest_compression`` names the DuckDB
        compression of the HMAC digest columns (64 random hex characters: FSST always suits them,
        and naming it spares DuckDB trying dictionaries on every segment written)."""
        using = f" USING COMPRESSION {digest_compression}" if digest_compression else ""
        cols = ",\n  ".join(
            f'"{c.name}" {c.sql_type}' + ("" if c.nullable else " NOT NULL") + (using if c.pii else "")
            for c in self.columns
        )
        return f'CREATE TABLE IF NOT EXISTS "{qualified_name or self.name}" (\n  {cols}\n)'
