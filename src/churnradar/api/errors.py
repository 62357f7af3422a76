"""The API's errors and the HTTP status each library error is answered with."""

from __future__ import annotations

from churnradar.api import auth
from churnradar.api.roles import NotInScope, PermissionDenied
from churnradar.errors import ChurnRadarError


class OutcomeConflict(ChurnRadarError):
    """The idempotency key was used for a different outcome, the campaign is read-only or the
    contact is a control-group member (409)."""


class NoModel(ChurnRadarError):
    """No trained model (or no score) in the store yet (answered as 409): run `churnradar train`."""


class InvalidFeatureValue(ChurnRadarError):
    """A posted feature value does not fit its feature (answered as 422)."""


def status_of(exc: ChurnRadarError) -> int:
    """The HTTP status of a library error (400 unless it says otherwise)."""
    if isinstance(exc, auth.RateLimited):
        return 429
    if isinstance(exc, auth.AuthError):
        return 401
    if isinstance(exc, auth.CsrfError | PermissionDenied):
        return 403
    if isinstance(exc, NotInScope):
        return 404
    if isinstance(exc, OutcomeConflict | NoModel):
        return 409
    if isinstance(exc, InvalidFeatureValue):
        return 422
    return 400
