"""What the partner app remembers, in memory (one process). A real app keeps this in its
database: the states it issued, the connections its users made, the webhook events it got."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

STATE_LIFETIME = 20 * 60  # the hub's flow lasts 15 minutes; a state outliving it is useless
STATES_PER_SESSION = 10  # every page view issues states: keep only the newest


class States:
    """`state` values tied to one browser session, each spendable once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued: dict[str, OrderedDict[str, float]] = {}

    def issue(self, session_id: str) -> str:
        state = secrets.token_urlsafe(24)
        with self._lock:
            mine = self._issued.setdefault(session_id, OrderedDict())
            mine[state] = time.monotonic()
            while len(mine) > STATES_PER_SESSION:
                mine.popitem(last=False)
        return state

    def spend(self, session_id: str, state: str) -> bool:
        """True once for a state issued to this session and not expired; False ever after, for
        another session's state and for one never issued."""
        with self._lock:
            issued_at = self._issued.get(session_id, OrderedDict()).pop(state, None)
        return issued_at is not None and time.monotonic() - issued_at <= STATE_LIFETIME


class Store:
    def __init__(self) -> None:
        self.states = States()
        self._lock = threading.Lock()
        # session id -> the last verified answer of the permission screen
        self._connections: dict[str, dict[str, Any]] = {}
        self._events: OrderedDict[str, dict[str, Any]] = OrderedDict()  # webhook-id -> event

    def connect(self, session_id: str, answer: dict[str, Any]) -> None:
        with self._lock:
            self._connections[session_id] = answer

    def connection(self, session_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._connections.get(session_id)

    def add_event(self, webhook_id: str, event: dict[str, Any]) -> bool:
        """Webhooks come at least once: the same webhook-id again is not a new event."""
        with self._lock:
            if webhook_id in self._events:
                return False
            self._events[webhook_id] = event
            return True

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events.values())
