"""Buffers of output rows built during a month: lifecycle events, interactions and ground truth."""

from __future__ import annotations

import numpy as np

from churnradar.schema import enums as E

EVENT_TYPES = E.codes(E.EVENT_TYPE)
EVENT_REASONS = E.codes(E.EVENT_REASON)
EV = {c: i for i, c in enumerate(EVENT_TYPES)}
RS = {c: i for i, c in enumerate(EVENT_REASONS)}

CHURN_KINDS = E.codes(E.CHURN_KIND)
REASON_CODES = E.codes(E.REASON_CODE)
INTENTS = E.codes(E.INTENT)
DRIVERS = E.codes(E.DRIVER)

INTERACTION_KINDS = E.codes(E.INTERACTION_KIND)
INTERACTION_CHANNELS = E.codes(E.INTERACTION_CHANNEL)
INTERACTION_TOPICS = E.codes(E.INTERACTION_TOPIC)


def _cat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


class EventBuffer:
    """status_event rows of one month (or of the initial base)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.sub: list[np.ndarray] = []
        self.time: list[np.ndarray] = []
        self.type: list[np.ndarray] = []
        self.reason: list[np.ndarray] = []
        self.dest: list[np.ndarray] = []
        self.pkg: list[np.ndarray] = []

    def add(self, sub, time, etype: str, reason: str | None, dest=None, pkg=None) -> None:
        sub = np.asarray(sub, dtype=np.int64)
        n = len(sub)
        if n == 0:
            return
        self.sub.append(sub)
        self.time.append(np.broadcast_to(np.asarray(time, dtype=np.int64), (n,)).copy())
        self.type.append(np.full(n, EV[etype], dtype=np.int8))
        self.reason.append(np.full(n, RS[reason] if reason else -1, dtype=np.int8))
        self.dest.append(np.full(n, -1, dtype=np.int8) if dest is None else np.asarray(dest, dtype=np.int8))
        self.pkg.append(np.full(n, -1, dtype=np.int8) if pkg is None else np.asarray(pkg, dtype=np.int8))

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "sub": _cat(self.sub, np.int64),
            "time": _cat(self.time, np.int64),
            "type": _cat(self.type, np.int8),
            "reason": _cat(self.reason, np.int8),
            "dest": _cat(self.dest, np.int8),
            "pkg": _cat(self.pkg, np.int8),
        }


class TruthBuffer:
    """Ground-truth rows (one per subscriber and churn kind) for the whole run."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {
            k: [] for k in ("sub", "kind", "reason", "intent", "driver", "mech", "left", "route", "new")
        }

    def add(self, sub, kind, reason, intent, driver, mech, left, route, new=None) -> None:
        sub = np.asarray(sub, dtype=np.int64)
        n = len(sub)
        if n == 0:
            return

        def full(v, dt):
            return np.broadcast_to(np.asarray(v, dtype=dt), (n,)).copy()

        self.cols["sub"].append(sub)
        self.cols["kind"].append(full(kind, np.int8))
        self.cols["reason"].append(full(reason, np.int8))
        self.cols["intent"].append(full(intent, np.int8))
        self.cols["driver"].append(full(driver, np.int8))
        self.cols["mech"].append(full(mech, np.int16))
        self.cols["left"].append(full(left, np.int32))
        self.cols["route"].append(full(route, np.int8))
        self.cols["new"].append(full(-1 if new is None else new, np.int64))

    def arrays(self) -> dict[str, np.ndarray]:
        dts = {
            "sub": np.int64,
            "kind": np.int8,
            "reason": np.int8,
            "intent": np.int8,
            "driver": np.int8,
            "mech": np.int16,
            "left": np.int32,
            "route": np.int8,
            "new": np.int64,
        }
        return {k: _cat(v, dts[k]) for k, v in self.cols.items()}


class InteractionBuffer:
    """interaction rows of one month."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.sub: list[np.ndarray] = []
        self.time: list[np.ndarray] = []
        self.kind: list[np.ndarray] = []
        self.channel: list[np.ndarray] = []
        self.topic: list[np.ndarray] = []
        self.resolved: list[np.ndarray] = []

    def add(self, sub, time, kind: str, channel, topic, resolved) -> None:
        sub = np.asarray(sub, dtype=np.int64)
        n = len(sub)
        if n == 0:
            return
        self.sub.append(sub)
        self.time.append(np.asarray(time, dtype=np.int64))
        self.kind.append(np.full(n, INTERACTION_KINDS.index(kind), dtype=np.int8))
        self.channel.append(np.broadcast_to(np.asarray(channel, dtype=np.int8), (n,)).copy())
        self.topic.append(np.broadcast_to(np.asarray(topic, dtype=np.int8), (n,)).copy())
        self.resolved.append(np.broadcast_to(np.asarray(resolved, dtype=bool), (n,)).copy())

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "sub": _cat(self.sub, np.int64),
            "time": _cat(self.time, np.int64),
            "kind": _cat(self.kind, np.int8),
            "channel": _cat(self.channel, np.int8),
            "topic": _cat(self.topic, np.int8),
            "resolved": _cat(self.resolved, bool),
        }
