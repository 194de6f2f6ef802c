"""Password reset, e-mail verification and password change, for both kinds of user.

Plain functions over the caller's database session; they never commit. Every change of a
password ends the user's other logins (`end_sessions`) in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from onboarding.accounts import User, check_new_password, normalize_email, tokens
from onboarding.accounts.tokens import Kind, TokenInvalid
from onboarding.auth.session import end_sessions
from onboarding.db import Prepared, utcnow
from onboarding.errors import InvalidInput
from onboarding.models import ClientUser, PartnerUser
from onboarding.security import hash_password, verify_password

LINK_USED = "link.used"


class WrongCurrentPassword(InvalidInput):
    def __init__(self) -> None:
        super().__init__("password.current_wrong")


def kind_of(user: ClientUser | PartnerUser) -> Kind:
    return "client" if isinstance(user, ClientUser) else "partner"


# -- password reset -------------------------------------------------------------------------------


def find_user(
    session: Session, kind: type[ClientUser] | type[PartnerUser], email: str
) -> ClientUser | PartnerUser | None:
    if kind is ClientUser:
        return _by_email(session, ClientUser, email)
    return _by_email(session, PartnerUser, email)


def _by_email(session: Session, kind: type[User], email: str) -> User | None:
    return session.scalar(select(kind).where(kind.email == normalize_email(email)))


def _by_public_id(session: Session, kind: Kind, public_id: str) -> ClientUser | PartnerUser | None:
    if kind == "client":
        return session.scalar(select(ClientUser).where(ClientUser.public_id == public_id))
    return session.scalar(select(PartnerUser).where(PartnerUser.public_id == public_id))


def reset_token(user: ClientUser | PartnerUser) -> str:
    return tokens.reset_token(kind_of(user), user.public_id, user.password_hash)


def unused_reset_token(kind: Kind) -> str:
    """A token made as for a real user, so that an unknown address costs the same work."""
    return tokens.reset_token(kind, "unknown", "unknown")


def user_for_reset(session: Session, token: str) -> ClientUser | PartnerUser:
    """The user a reset link is for, while the link is good (authentic, younger than 30 minutes,
    and the password still the one it was made for); raises TokenInvalid or TokenExpired."""
    claim = tokens.read_reset_token(token)
    user = _by_public_id(session, claim.kind, claim.user_id)
    if user is None or tokens.password_digest(user.password_hash) != claim.password:
        raise TokenInvalid(LINK_USED)
    return user


def reset_password(session: Session, token: str, new_password: str) -> ClientUser | PartnerUser:
    """Set the password through a reset link and end every login of the user.

    The update only applies while the password is still the one the link was made for, so of
    two answers racing with one link only the first changes anything. Call it with no
    transaction open: the new password is hashed (~0.15 s of CPU) before the change's transaction
    begins, so the hash holds no lock."""
    tokens.read_reset_token(token)  # an expired or forged link is refused before anything else
    check_new_password(new_password)
    new_hash = hash_password(new_password)
    user = user_for_reset(session, token)
    kind = type(user)
    changed = session.execute(
        update(kind)
        .where(kind.id == user.id, kind.password_hash == user.password_hash)
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenInvalid(LINK_USED)
    session.refresh(user)
    end_sessions(session, user)
    return user


# -- e-mail verification --------------------------------------------------------------------------


def verify_token(user: ClientUser) -> str:
    return tokens.verify_token(user.public_id, user.email)


def verify_email(session: Session, token: str) -> ClientUser:
    """Mark the address verified (once; following the link again changes nothing)."""
    claim = tokens.read_verify_token(token)
    user = session.scalar(select(ClientUser).where(ClientUser.public_id == claim.user_id))
    if user is None or user.email != claim.email:
        raise TokenInvalid("link.invalid")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        session.flush()
    return user


# -- password change ------------------------------------------------------------------------------


def change_password(
    session: Session,
    kind: type[ClientUser] | type[PartnerUser],
    user_id: int,
    *,
    current: str,
    new: str,
    keep: str | None,
) -> None:
    """Change a signed-in user's password; every login but `keep` (this browser's) ends.

    Call it with no transaction open: both argon2 computations (~0.15 s of CPU each) run before
    the change's transaction begins, so they hold no lock. The change applies only while the
    password is still the one verified: of two changes at once with one current password, the
    second is refused as a wrong current password.
    """
    stored = _HASH_BY_ID[kind].first(session, id=user_id)
    if stored is None or not verify_password(stored[0], current):
        raise WrongCurrentPassword
    check_new_password(new)
    if new == current:
        raise InvalidInput("password.same")
    new_hash = hash_password(new)
    changed = session.execute(
        update(kind)
        .where(kind.id == user_id, kind.password_hash == stored[0])
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise WrongCurrentPassword
    user = session.get_one(kind, user_id, populate_existing=True)
    assert isinstance(user, ClientUser | PartnerUser)
    end_sessions(session, user, keep=keep)


_HASH_BY_ID = {
    kind: Prepared(select(kind.password_hash).where(kind.id == bindparam("id")))
    for kind in (ClientUser, PartnerUser)
}
