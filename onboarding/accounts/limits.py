"""How often the account pages may act: mails sent on request, and wrong current passwords.

Counted in the hub's shared limiter (`onboarding/limits.py`: the store every process shares, keys
that expire with their window): `spend(rule, key)` counts one use or refuses with
`TooManyRequests` (the pages answer 429 with Retry-After), `check(rule, key)` only asks. Keys are
kept as digests, so the store holds no e-mail addresses.

A password-reset mail is counted per submitted address (whether or not an account has it, so
the limit tells nothing) and per client address, so that the form can't be used to flood one
mailbox or to send many mailboxes something.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from limits import RateLimitItem

from onboarding import limits
from onboarding.errors import DomainError


@dataclass(frozen=True)
class Rule:
    limit: int
    window: int  # seconds

    @property
    def item(self) -> RateLimitItem:
        return limits.per_window(self.limit, self.window)


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
    status = 429
    problem = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__("limit.account", minutes=minutes)
        self.retry_after = retry_after


def spend(rule: str, key: str) -> None:
    """Count one use; refuse (counting nothing) once the rule's budget for `key` is spent."""
    wait = limits.hit(RULES[rule].item, "account", rule, _digest(key))
    if wait:
        raise TooManyRequests(wait)


def check(rule: str, key: str) -> None:
    wait = limits.exhausted(RULES[rule].item, "account", rule, _digest(key))
    if wait:
        raise TooManyRequests(wait)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]
