"""Removing or correcting a number the client added by mistake, before it is in use.

A client may remove its own number while nothing depends on it: no live API key (either side's),
not yet connected to WhatsApp (pending; a sandbox partner's numbers run at once, so there
running is no obstacle), and not shared by anyone's choice. A number shared only by the billing
default (R2) was never chosen, so its permission goes with it; one the client (or the operator)
chose to share stays until that choice is undone, which is what the consent step is for.

A correction is a removal and an addition in the caller's transaction: the corrected number is a
new channel, as the partner sees it (`channel.removed`, then `channel.created`), and when the
addition is refused the caller's rollback keeps the old number.

Like the other services this adds to the caller's session and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.errors import Conflict, NotFound
from onboarding.models import ApiKey, Channel, ChannelStatus, Client, GrantedVia
from onboarding.permissions import events
from onboarding.permissions.service import add_channel, lock_client


def why_kept(session: Session, channel: Channel) -> str | None:
    """The refusal code that keeps the client from removing the channel, or None."""
    return kept(session, [channel])[channel.id]


def removable(session: Session, channel: Channel) -> bool:
    return why_kept(session, channel) is None


def kept(session: Session, channels: Sequence[Channel]) -> dict[int, str | None]:
    """`why_kept` for a list of one client's channels (a page of the numbers step), by channel
    id, with one query for their live keys."""
    ids = [channel.id for channel in channels]
    keyed = set(
        session.scalars(
            select(ApiKey.channel_id).where(ApiKey.channel_id.in_(ids), ApiKey.revoked_at.is_(None))
        )
    )
    return {channel.id: _why_kept(channel, channel.id in keyed) for channel in channels}


def _why_kept(channel: Channel, has_live_key: bool) -> str | None:
    if has_live_key:
        return "number.has_key"
    if channel.status != ChannelStatus.PENDING and not channel.client.partner.sandbox:
        return "number.running"
    permission = channel.permission
    if permission is not None and permission.granted_via != GrantedVia.BILLING_DEFAULT:
        return "number.shared"
    return None


def remove_channel(session: Session, client: Client, channel: Channel, *, actor: str) -> None:
    """Delete the client's channel (its permission and revoked keys with it) and record
    `channel.removed`. NotFound for another client's channel, Conflict with `why_kept`'s code
    for one that stays."""
    if channel.client_id != client.id:
        raise NotFound("number.not_found")
    lock_client(session, client, [channel])  # a key or a grant a moment ago counts
    code = why_kept(session, channel)
    if code is not None:
        raise Conflict(code)
    events.record(
        session,
        "channel.removed",
        partner=client.partner,
        client=client,
        actor=actor,
        channel_ids=[channel.public_id],
        phone_number=channel.phone_number,
        permission_removed=channel.permission is not None,
    )
    session.delete(channel)
    session.flush()  # the number is free for its correction in the same transaction
    session.expire(client, ["channels"])


def correct_channel(
    session: Session, client: Client, channel: Channel, phone_number: str, name: str, *, actor: str
) -> Channel:
    """Replace the channel by one with the corrected number and name; the same refusals as
    `remove_channel`, then `add_channel`'s (the caller rolls back on either)."""
    remove_channel(session, client, channel, actor=actor)
    return add_channel(session, client, phone_number, name, actor=actor)
