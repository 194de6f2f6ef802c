"""Accounts of both kinds of user: the rules shared by client and partner logins (here), signed
account links (`tokens`), password reset, e-mail verification and password change (`service`),
their pages (`views`) and the limits on mail they send (`limits`)."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple, TypeVar

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from onboarding.db import Prepared, Source
from onboarding.errors import InvalidInput
from onboarding.models import ClientUser, PartnerUser
from onboarding.security import hash_password, password_needs_rehash, verify_password

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200


def normalize_email(email: str) -> str:
    """Lower-cased, so that logins are case-insensitive and unique constraints mean it."""
    return email.strip().lower()


def check_new_login(email: str, password: str) -> str:
    """Return the normalised email if this email and password may make a new login."""
    try:
        validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput("email.invalid", reason=str(error)) from None
    check_new_password(password)
    return normalize_email(email)


def check_new_password(password: str) -> None:
    """Refuse a password that may not be chosen (at signup, reset, change, or joining staff)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput("password.length", min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)
    if is_common_password(password):
        raise InvalidInput("password.common")


def is_common_password(password: str) -> bool:
    """In the 30,000 most common passwords (zxcvbn's list), ignoring case, or one of them twice
    (`passwordpassword`)."""
    text = password.lower()
    half = text[: len(text) // 2]
    return text in _common_passwords() or (text == half * 2 and half in _common_passwords())


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


User = TypeVar("User", ClientUser, PartnerUser)


class Verified(NamedTuple):
    """A login whose password was just verified: the user's id, the hash it matched, and a new
    hash when the hasher's parameters have moved on since."""

    user_id: int
    password_hash: str
    rehashed: str | None


def _hash_by_email(kind: type[ClientUser] | type[PartnerUser]) -> Prepared:
    return Prepared(select(kind.id, kind.password_hash).where(kind.email == bindparam("email")))


_HASH_BY_EMAIL = {kind: _hash_by_email(kind) for kind in (ClientUser, PartnerUser)}


def verify_login(source: Source, kind: type[User], email: str, password: str) -> Verified | None:
    """Whether `password` opens the login of `email`; as slow for an unknown email as a known one.

    Call it with no transaction open: the argon2 work (~0.15 s of CPU, twice when rehashing)
    must not hold a lock, and the hash is read on a connection of its own for that reason.
    """
    row = _HASH_BY_EMAIL[kind].first(source, email=normalize_email(email))
    if not verify_password(row[1] if row else None, password):
        return None
    assert row is not None  # verify_password never accepts the missing hash
    rehashed = hash_password(password) if password_needs_rehash(row[1]) else None
    return Verified(row[0], row[1], rehashed)


def verified_user(session: Session, kind: type[User], verified: Verified) -> User | None:
    """The verified user, in the session's transaction; None when the password changed since it
    was verified (the password verified no longer opens the login)."""
    user = session.scalar(
        select(kind).where(kind.id == verified.user_id).execution_options(populate_existing=True)
    )
    if user is None or user.password_hash != verified.password_hash:
        return None
    if verified.rehashed is not None:
        user.password_hash = verified.rehashed
    return user
