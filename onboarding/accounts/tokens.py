"""Signed account links: one serializer per purpose, each with its own salt and lifetime.

The links are signed, not encrypted: they carry a public id and, for a reset, a short digest of
the current password hash (never the hash itself). Signed with SECRET_KEY and checked against it
and SECRET_KEY_FALLBACKS too, so rotating the key breaks no link in a mailbox.

- **Password reset** (30 minutes): binds the user's current password hash, so the link dies as
  soon as the password changes, by this link or any other way: single use without a table.
- **E-mail verification** (7 days): binds the address, so a link sent to an old address verifies
  nothing once the address is another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from onboarding.errors import DomainError

RESET_MAX_AGE = 30 * 60
VERIFY_MAX_AGE = 7 * 24 * 60 * 60
RESET_SALT = "onboarding.accounts.password-reset"
VERIFY_SALT = "onboarding.accounts.verify-email"

Kind = Literal["client", "partner"]


class TokenInvalid(DomainError):
    """Tampered, signed with another key or for another purpose, or malformed."""


class TokenExpired(DomainError):
    """Authentic, but older than its purpose allows."""


@dataclass(frozen=True)
class ResetClaim:
    kind: Kind
    user_id: str  # the user's public id
    password: str  # digest of the password hash the link was made for


@dataclass(frozen=True)
class VerifyClaim:
    user_id: str
    email: str


def password_digest(password_hash: str) -> str:
    """What a reset link binds: changes whenever the password does (a new salt every time)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def reset_token(kind: Kind, user_id: str, password_hash: str) -> str:
    return _serializer(RESET_SALT).dumps([kind, user_id, password_digest(password_hash)])


def read_reset_token(token: str) -> ResetClaim:
    kind, user_id, digest = _load(RESET_SALT, token, RESET_MAX_AGE, 3)
    if kind not in ("client", "partner"):
        raise TokenInvalid("link.invalid")
    return ResetClaim(kind=kind, user_id=user_id, password=digest)


def verify_token(user_id: str, email: str) -> str:
    return _serializer(VERIFY_SALT).dumps([user_id, email])


def read_verify_token(token: str) -> VerifyClaim:
    user_id, email = _load(VERIFY_SALT, token, VERIFY_MAX_AGE, 2)
    return VerifyClaim(user_id=user_id, email=email)


def _load(salt: str, token: str, max_age: int, fields: int) -> list[Any]:
    try:
        value = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired("link.expired") from None
    except BadSignature:
        raise TokenInvalid("link.invalid") from None
    if (
        not isinstance(value, list)
        or len(value) != fields
        or not all(isinstance(item, str) for item in value)
    ):
        raise TokenInvalid("link.invalid")
    return value


def _serializer(salt: str) -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and accepts any of them.
    keys = [*reversed(config["SECRET_KEY_FALLBACKS"]), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=salt)
