"""Slows password guessing and spraying on every login form.

Failed logins are counted per e-mail and address, per address, and overall, in the store every
process shares (`onboarding.limits.LoginFailures`); past any of the three, further attempts are
refused (even with the right password) until the count has room again. Keyed per e-mail *and*
address for one person's password, so a stranger cannot lock a user out from everywhere.
"""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from onboarding.accounts import User, normalize_email, verified_user, verify_login
from onboarding.db import end_reads
from onboarding.errors import DomainError
from onboarding.limits import LoginFailures


class TooManyAttempts(DomainError):
    status = 429
    problem = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__("login.too_many", minutes=max(1, math.ceil(retry_after / 60)))
        self.retry_after = retry_after


def attempt_login(session: Session, kind: type[User], email: str, password: str) -> User | None:
    """The user with these credentials, or None, behind the limits; raises TooManyAttempts when
    refused, and security.HashingBusy (503) when no password-hashing slot frees up in time.

    Ends the session's reading transaction first: the password is verified (and the limits' store
    asked) with none open, so a login holds up no writer; the user is loaded afterwards.
    """
    failures = LoginFailures(kind.__name__, normalize_email(email))
    wait = failures.retry_after()
    if wait:
        raise TooManyAttempts(wait)
    end_reads(session)
    verified = verify_login(session, kind, email, password)
    if verified is None:
        failures.failed()
        return None
    failures.succeeded()
    return verified_user(session, kind, verified)
