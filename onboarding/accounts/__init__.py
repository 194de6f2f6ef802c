"""Accounts of both kinds of user: the rules shared by client and partner logins (here), signed
account links (`tokens`), password reset, e-mail verification and password change (`service`),
their pages (`views`) and the limits on mail they send (`limits`)."""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session
from zxcvbn.frequency_lists import FREQUENCY_LISTS

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


def authenticate(session: Session, kind: type[User], email: str, password: str) -> User | None:
    """The user with these credentials, or None; as slow for an unknown email as a known one."""
    user = session.scalar(select(kind).where(kind.email == normalize_email(email)))
    if not verify_password(user.password_hash if user else None, password):
        return None
    assert user is not None  # verify_password never accepts the missing hash
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user
