"""The canonical data model: the single source of truth for tables, columns and enumerations."""

from churnradar.schema import enums
from churnradar.schema.model import DTYPES, PII_KINDS, Column, Table
from churnradar.schema.tables import TABLES, TRUTH_TABLES, get_table

__all__ = ["DTYPES", "PII_KINDS", "TABLES", "TRUTH_TABLES", "Column", "Table", "enums", "get_table"]
