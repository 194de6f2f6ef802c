"""A partner's staff: invitations by e-mail, removals and roles.

The rules: only an owner invites, revokes, removes and changes roles; a partner always keeps at
least one owner (checked with the partner's row locked, so two owners demoting each other at
once can't both succeed); an invitation is single-use, expires after INVITE_LIFETIME and can be
revoked; a removed user's logins end at once. Each change is an audit event of the partner
(`staff.*`, no client), shown in the Partner Hub's activity and the events feed; they are not
sent as webhooks (STAFF_EVENTS_AS_WEBHOOKS), since they say nothing about clients or numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from onboarding.accounts import check_new_password, normalize_email
from onboarding.auth.session import end_sessions
from onboarding.db import utcnow
from onboarding.errors import Conflict, DomainError, InvalidInput, NotFound
from onboarding.models import Partner, PartnerInvite, PartnerUser
from onboarding.partners.service import require_owner
from onboarding.permissions import events
from onboarding.refusals import TEXTS
from onboarding.security import hash_password, hash_secret, issue_secret

INVITE_LIFETIME = timedelta(days=7)
ROLES = ("owner", "member")
STAFF_EVENTS_AS_WEBHOOKS = False
LAST_OWNER = TEXTS["team.last_owner"]
EMAIL_HAS_LOGIN = "invite.email_has_login"


class InviteUnusable(DomainError):
    """An invitation link that can't be used (any more): unknown, used, revoked or expired."""


def _actor(user: PartnerUser) -> str:
    return f"partner_user:{user.public_id}"


def _record(session: Session, type: str, partner: Partner, actor: str, **data: object) -> None:
    events.record(
        session,
        type,
        partner=partner,
        client=None,
        actor=actor,
        webhook=STAFF_EVENTS_AS_WEBHOOKS,
        **data,
    )


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput("team.role")
    return role


def _lock_partner(session: Session, by: PartnerUser) -> Partner:
    """Hold the partner's row until commit: team changes of one partner happen one at a time,
    so the count of owners read next stays true until the change is committed. Then look at the
    acting user's role again, as it is now (another owner may have just changed it)."""
    partner = by.partner
    session.execute(select(Partner.id).where(Partner.id == partner.id).with_for_update())
    session.refresh(by)
    require_owner(by)
    return partner


def _owners(session: Session, partner: Partner) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(PartnerUser)
            .where(PartnerUser.partner_id == partner.id, PartnerUser.role == "owner")
        )
        or 0
    )


def _member(session: Session, partner: Partner, public_id: str) -> PartnerUser:
    user = session.scalar(
        select(PartnerUser).where(
            PartnerUser.public_id == public_id, PartnerUser.partner_id == partner.id
        )
    )
    if user is None:
        raise NotFound("team.no_person")
    return user


# -- invitations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewInvite:
    invite: PartnerInvite
    token: str  # goes into the mailed link only; the table keeps its SHA-256


def invite(session: Session, by: PartnerUser, *, email: str, role: str) -> NewInvite:
    """An owner invites `email` to the team as `role`; the link in the mail lets them join."""
    require_owner(by)
    _check_role(role)
    try:
        validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput("team.email_invalid", reason=error) from None
    email = normalize_email(email)
    partner = _lock_partner(session, by)
    on_team = session.scalar(
        select(PartnerUser.id).where(
            PartnerUser.email == email, PartnerUser.partner_id == partner.id
        )
    )
    if on_team is not None:
        raise Conflict("team.on_team_already", email=email)
    now = utcnow()
    if session.scalar(select(PartnerInvite.id).where(*_pending(partner, now), _to(email))):
        raise Conflict("team.invite_pending", email=email)
    secret = issue_secret("inv")
    new = PartnerInvite(
        partner_id=partner.id,
        email=email,
        role=role,
        token_hash=secret.hash,
        invited_by=_actor(by),
        created_at=now,
        expires_at=now + INVITE_LIFETIME,
    )
    session.add(new)
    session.flush()
    _record(
        session,
        "staff.invited",
        partner,
        _actor(by),
        invite_id=new.public_id,
        email=email,
        role=role,
        expires_at=events.iso8601(new.expires_at),
    )
    return NewInvite(invite=new, token=secret.value)


def _pending(partner: Partner, now: datetime) -> list[ColumnElement[bool]]:
    return [
        PartnerInvite.partner_id == partner.id,
        PartnerInvite.accepted_at.is_(None),
        PartnerInvite.revoked_at.is_(None),
        PartnerInvite.expires_at > now,
    ]


def _to(email: str) -> ColumnElement[bool]:
    return PartnerInvite.email == email


def pending_invites(session: Session, partner: Partner) -> list[PartnerInvite]:
    """Invitations that can still be accepted, newest first."""
    return list(
        session.scalars(
            select(PartnerInvite)
            .where(*_pending(partner, utcnow()))
            .order_by(PartnerInvite.id.desc())
        )
    )


def revoke_invite(session: Session, by: PartnerUser, public_id: str) -> PartnerInvite:
    """An owner withdraws a pending invitation of their own partner (another's: NotFound)."""
    require_owner(by)
    found = session.scalar(
        select(PartnerInvite).where(
            PartnerInvite.public_id == public_id, PartnerInvite.partner_id == by.partner_id
        )
    )
    if found is None:
        raise NotFound("team.no_invitation")
    now = utcnow()
    revoked = session.execute(
        update(PartnerInvite)
        .where(PartnerInvite.id == found.id, *_pending(by.partner, now))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    if revoked.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("team.invitation_spent")
    session.refresh(found)
    _record(
        session,
        "staff.invite_revoked",
        by.partner,
        _actor(by),
        invite_id=found.public_id,
        email=found.email,
    )
    return found


def open_invite(session: Session, token: str) -> PartnerInvite:
    """The invitation a link names, while it can be accepted."""
    found = session.scalar(
        select(PartnerInvite).where(PartnerInvite.token_hash == hash_secret(token))
    )
    if found is None:
        raise InviteUnusable("invite.invalid")
    if found.accepted_at is not None:
        raise InviteUnusable("invite.accepted")
    if found.revoked_at is not None:
        raise InviteUnusable("invite.withdrawn")
    if found.expires_at <= utcnow():
        raise InviteUnusable("invite.expired")
    return found


def accept_invite(session: Session, token: str, *, password: str) -> PartnerUser:
    """The invitee joins with a password of their own choice; the invitation is spent.

    The invitation is marked accepted by a conditional update, so of two answers racing with one
    link only one makes a user (and the unique e-mail refuses a second login anyway). Call it
    with no transaction open: the password is checked and hashed (~0.15 s of CPU) before the
    invitation is read, so the hash holds no lock (the page has refused an unusable link
    already, with `open_invite`)."""
    check_new_password(password)
    password_hash = hash_password(password)
    found = open_invite(session, token)
    taken = session.scalar(select(PartnerUser.id).where(PartnerUser.email == found.email))
    if taken is not None:
        raise Conflict(EMAIL_HAS_LOGIN)
    now = utcnow()
    partner = session.get_one(Partner, found.partner_id)
    spent = session.execute(
        update(PartnerInvite)
        .where(PartnerInvite.id == found.id, *_pending(partner, now))
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise InviteUnusable("invite.accepted")
    session.refresh(found)
    user = PartnerUser(
        partner_id=partner.id,
        email=found.email,
        password_hash=password_hash,
        role=found.role,
    )
    session.add(user)
    session.flush()
    _record(
        session,
        "staff.joined",
        partner,
        _actor(user),
        user_id=user.public_id,
        email=user.email,
        role=user.role,
        invite_id=found.public_id,
    )
    return user


# -- removals and roles ---------------------------------------------------------------------------


def remove_member(session: Session, by: PartnerUser, public_id: str) -> PartnerUser:
    """An owner removes someone of their own team (themselves included, unless they are the last
    owner); the removed user's logins end at once."""
    require_owner(by)
    partner = _lock_partner(session, by)
    user = _member(session, partner, public_id)
    if user.role == "owner" and _owners(session, partner) <= 1:
        raise Conflict("team.last_owner")
    end_sessions(session, user)
    _record(
        session,
        "staff.removed",
        partner,
        _actor(by),
        user_id=user.public_id,
        email=user.email,
        role=user.role,
    )
    session.delete(user)
    session.flush()
    return user


def set_role(session: Session, by: PartnerUser, public_id: str, role: str) -> PartnerUser:
    """An owner makes someone of their own team an owner or a member; the last owner stays."""
    require_owner(by)
    _check_role(role)
    partner = _lock_partner(session, by)
    user = _member(session, partner, public_id)
    if user.role == role:
        return user
    if user.role == "owner" and _owners(session, partner) <= 1:
        raise Conflict("team.last_owner")
    previous, user.role = user.role, role
    session.flush()
    _record(
        session,
        "staff.role_changed",
        partner,
        _actor(by),
        user_id=user.public_id,
        email=user.email,
        **{"from": previous, "to": role},
    )
    return user
