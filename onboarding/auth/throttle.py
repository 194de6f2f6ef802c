"""Slows password guessing on both login forms.

After `limit` failed logins for one email from one address within `window` seconds, further
attempts from there are refused (even with the right password) until the oldest failure ages
out. Keyed by email *and* address, so a stranger cannot lock a user out from everywhere.
Counted per process, like the API rate limit (docs/operations.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from flask import Flask, current_app, request
from sqlalchemy.orm import Session

from onboarding.accounts import User, authenticate, normalize_email
from onboarding.errors import DomainError

Key = tuple[str, str, str]


class TooManyAttempts(DomainError):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"Too many failed attempts. Try again in {minutes} minute(s).")
        self.retry_after = retry_after


class LoginThrottle:
    def __init__(self, limit: int = 10, window: float = 15 * 60) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[Key, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: Key, now: float) -> int:
        """Seconds until `key` may try again; 0 when it may now."""
        with self._lock:
            failures = self._recent(key, now)
            if len(failures) < self.limit:
                return 0
            return max(1, math.ceil(failures[0] + self.window - now))

    def failed(self, key: Key, now: float) -> None:
        with self._lock:
            self._recent(key, now).append(now)

    def succeeded(self, key: Key) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: Key, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures


def attempt_login(session: Session, kind: type[User], email: str, password: str) -> User | None:
    """accounts.authenticate behind the throttle; raises TooManyAttempts when refused."""
    throttle: LoginThrottle = current_app.extensions["login_throttle"]
    key = (kind.__name__, normalize_email(email), request.remote_addr or "")
    now = time.monotonic()
    wait = throttle.retry_after(key, now)
    if wait:
        raise TooManyAttempts(wait)
    user = authenticate(session, kind, email, password)
    if user is None:
        throttle.failed(key, now)
    else:
        throttle.succeeded(key)
    return user


def init_app(app: Flask) -> None:
    app.extensions["login_throttle"] = LoginThrottle(
        app.config["LOGIN_FAILURE_LIMIT"], app.config["LOGIN_FAILURE_WINDOW"]
    )
