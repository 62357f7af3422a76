"""Exception classes. Library code raises these; the CLI prints their message as one line."""

from __future__ import annotations


class ChurnRadarError(Exception):
    """Base class of every error churnradar raises on purpose."""


class UnknownTableError(ChurnRadarError, KeyError):
    """A table name that is not part of the canonical data model."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SchemaError(ChurnRadarError):
    """Input does not match the canonical schema."""


class IngestError(ChurnRadarError):
    """An ingest batch could not be published."""


class PseudonymisationKeyError(ChurnRadarError):
    """Raw identifiers were given but no HMAC key is configured."""


class StoreError(ChurnRadarError):
    """The analytical store is missing, locked or not a churnradar store."""


class ConfigError(ChurnRadarError):
    """A parameter or configuration value is out of its allowed range."""
