"""A per-process fixed-window limit per partner. With several processes each counts alone, so
the effective limit is the configured one times the process count (docs/operations.md)."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> int:
        """Count a request; 0 when allowed, else the seconds until the next window."""
        now = time.time() if now is None else now
        window = int(now // 60)
        with self._lock:
            current, count = self._windows.get(key, (window, 0))
            if current != window:
                count = 0
            count += 1
            self._windows[key] = (window, count)
        if count <= self.per_minute:
            return 0
        return max(1, math.ceil((window + 1) * 60 - now))
