"""Errors of the retention engine; each names the bad value and what is allowed."""

from __future__ import annotations

from churnradar.errors import ChurnRadarError


class RetentionError(ChurnRadarError):
    """Base class of retention errors."""


class CampaignError(RetentionError):
    """A campaign, offer or contact does not exist or its parameters are out of range."""


class ControlGroupError(CampaignError):
    """An outcome was sent for a control-group member, who gets no offer and so has none."""


class IdempotencyConflictError(RetentionError):
    """An idempotency key was reused for a different record."""


class PolicyError(RetentionError):
    """A value, policy or CVF configuration is invalid."""


class TargetingError(RetentionError):
    """Targeting inputs are missing or out of range."""


class RiskError(RetentionError):
    """No churn model has scored the month retention needs."""
