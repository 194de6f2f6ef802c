"""How often the account pages may act: mails sent on request, and wrong current passwords.

The hook for the hub's shared limiter: `spend(rule, key)` refuses with `TooManyRequests` (the
pages answer 429 with Retry-After) and `check(rule, key)` only asks. Until the shared limiter
(flask-limiter, `onboarding/limits.py`) is wired in here, the counts are kept per process in a
sliding window, like the login throttle; each key's list is capped at its rule's limit, and the
table of keys at MAX_KEYS, so memory stays bounded whatever is sent.

A password-reset mail is counted per submitted address (whether or not an account has it, so
the limit tells nothing) and per client address, so that the form can't be used to flood one
mailbox or to send many mailboxes something.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

from flask import Flask, current_app

from onboarding.errors import DomainError

MAX_KEYS = 100_000


@dataclass(frozen=True)
class Rule:
    limit: int
    window: float  # seconds


RULES = {
    # Reset mails asked for one e-mail address, and from one client address.
    "reset_per_email": Rule(5, 60 * 60),
    "reset_per_address": Rule(30, 60 * 60),
    # Verification mails sent again for one user.
    "verify_per_user": Rule(5, 60 * 60),
    # Invitations one partner sends.
    "invite_per_partner": Rule(50, 24 * 60 * 60),
    # Wrong current passwords of one user on the password-change form.
    "current_password_per_user": Rule(10, 15 * 60),
}


class TooManyRequests(DomainError):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"Too many requests. Try again in {minutes} minute(s).")
        self.retry_after = retry_after


class Budgets:
    def __init__(self, rules: dict[str, Rule]) -> None:
        self.rules = rules
        self._spent: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, rule: str, key: str, now: float) -> int:
        with self._lock:
            return self._retry_after(rule, key, now)

    def spend(self, rule: str, key: str, now: float) -> int:
        """Count one use now and return 0; or, if the budget is spent, count nothing and return
        the seconds to wait."""
        with self._lock:
            wait = self._retry_after(rule, key, now)
            if not wait:
                self._entries(rule, key, now).append(now)
            return wait

    def _retry_after(self, rule: str, key: str, now: float) -> int:
        entries = self._entries(rule, key, now)
        limit = self.rules[rule]
        if len(entries) < limit.limit:
            return 0
        return max(1, math.ceil(entries[0] + limit.window - now))

    def _entries(self, rule: str, key: str, now: float) -> deque[float]:
        window = self.rules[rule].window
        entries = self._spent.get((rule, key))
        if entries is None:
            entries = self._spent[(rule, key)] = deque(maxlen=self.rules[rule].limit)
            while len(self._spent) > MAX_KEYS:
                self._spent.popitem(last=False)
        while entries and entries[0] <= now - window:
            entries.popleft()
        return entries


def spend(rule: str, key: str) -> None:
    wait = _budgets().spend(rule, key, time.monotonic())
    if wait:
        raise TooManyRequests(wait)


def check(rule: str, key: str) -> None:
    wait = _budgets().retry_after(rule, key, time.monotonic())
    if wait:
        raise TooManyRequests(wait)


def _budgets() -> Budgets:
    budgets: Budgets = current_app.extensions["account_budgets"]
    return budgets


def init_app(app: Flask) -> None:
    app.extensions["account_budgets"] = Budgets(dict(RULES))
