"""Answers of the permission screen (SPEC §5.3): each Allow and each Cancel is a Consent row,
written in the caller's transaction with the change it made, so that its callback can name it
and the partner can read its full lists when the callback had to leave them out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import Channel, Client, Consent, GrantedVia, Partner, Permission
from onboarding.permissions.service import set_shared


def allow(
    session: Session,
    client: Client,
    channel_ids: Sequence[str],
    *,
    all_channels: bool,
    state: str | None,
    actor: str,
) -> Consent:
    """Share exactly `channel_ids` (every channel with `all_channels`) and record the answer:
    every channel shared afterwards, and those this answer took away.

    Raises ForeignChannel, before changing anything, when an id is not one of the client's own.
    """
    outcome = set_shared(
        session,
        client,
        channel_ids,
        all_channels=all_channels,
        via=GrantedVia.PERMISSION_SCREEN,
        actor=actor,
    )
    shared = [ref.public_id for ref in outcome.shared]
    return _record(
        session, client, "allow", shared, [ref.public_id for ref in outcome.revoked], state
    )


def deny(session: Session, client: Client, *, state: str | None) -> Consent:
    """Cancel changes nothing; its record still says what is shared (as it was before)."""
    shared = session.scalars(
        select(Channel.public_id)
        .join(Permission, Permission.channel_id == Channel.id)
        .where(Channel.client_id == client.id)
        .order_by(Channel.id)
    ).all()
    return _record(session, client, "deny", list(shared), [], state)


def find_consent(session: Session, partner: Partner, public_id: str) -> Consent | None:
    """One of the partner's own consents; another partner's is not found."""
    return session.scalar(
        select(Consent).where(Consent.public_id == public_id, Consent.partner_id == partner.id)
    )


def _record(
    session: Session,
    client: Client,
    action: Literal["allow", "deny"],
    shared: Sequence[str],
    revoked: Sequence[str],
    state: str | None,
) -> Consent:
    consent = Consent(
        partner_id=client.partner_id,
        client=client,
        action=action,
        channels=list(shared),
        revoked=list(revoked),
        all_channels=client.all_channels,
        state=state,
    )
    session.add(consent)
    session.flush()  # the public id is the callback's `consent`
    return consent
