"""Slows password guessing and spraying on every login form.

Failed logins are counted per e-mail and address, per address, and overall, in the store every
process shares (`onboarding.limits.LoginFailures`); past any of the three, further attempts are
refused (even with the right password) until the count has room again. Keyed per e-mail *and*
address for one person's password, so a stranger cannot lock a user out from everywhere.
"""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from onboarding.accounts import User, authenticate, normalize_email
from onboarding.errors import DomainError
from onboarding.limits import LoginFailures


class TooManyAttempts(DomainError):
    status = 429
    problem = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__("login.too_many", minutes=max(1, math.ceil(retry_after / 60)))
        self.retry_after = retry_after


def attempt_login(session: Session, kind: type[User], email: str, password: str) -> User | None:
    """accounts.authenticate behind the limits; raises TooManyAttempts when refused, and
    security.HashingBusy (503) when no password-hashing slot frees up in time."""
    failures = LoginFailures(kind.__name__, normalize_email(email))
    wait = failures.retry_after()
    if wait:
        raise TooManyAttempts(wait)
    user = authenticate(session, kind, email, password)
    if user is None:
        failures.failed()
    else:
        failures.succeeded()
    return user
