"""A channel's life cycle (R9): `pending` until its number is connected to WhatsApp, then
`running`. The operator moves it (CLI `set-status`, operator API); every move is an event.

Like the permission services this adds to the caller's session and never commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onboarding.errors import Conflict, InvalidInput
from onboarding.models import Channel, ChannelStatus
from onboarding.permissions import events
from onboarding.permissions.service import lock_client


def set_status(session: Session, channel: Channel, status: str, actor: str) -> bool:
    """Move the channel to `status` and record `channel.status_changed`; False (and nothing
    recorded) when it is there already.

    A number is unique across the hub only while running: moving a channel to `running` while
    another channel with its number runs is a Conflict that names that channel, for the
    operator (never show it to a partner or client: it belongs to someone else). The partial
    unique index uq_channel_running_phone_number decides a race between two such moves; its
    refusal becomes the same Conflict, and the caller's transaction stays usable.
    """
    try:
        new = ChannelStatus(status)
    except ValueError:
        raise InvalidInput("A channel's status is pending or running.") from None
    lock_client(session, channel.client, [channel])  # a key is made only while it runs (R8)
    old = ChannelStatus(channel.status)
    if new == old:
        return False
    if new == ChannelStatus.RUNNING:
        _refuse_if_running_elsewhere(session, channel)
    try:
        with session.begin_nested():
            channel.status = new
            session.flush()
    except IntegrityError:
        # Another transaction started the number between the check above and this write.
        _refuse_if_running_elsewhere(session, channel)
        raise _clash(channel, None) from None
    change: dict[str, Any] = {"from": old.value, "to": new.value}  # `from` is a keyword
    events.record(
        session,
        "channel.status_changed",
        partner=channel.client.partner,
        client=channel.client,
        actor=actor,
        channel_id=channel.public_id,
        **change,
    )
    return True


def running_with_number(session: Session, channel: Channel) -> Channel | None:
    """The other channel, of any client, that runs the channel's number, if one does."""
    return session.scalar(
        select(Channel).where(
            Channel.phone_number == channel.phone_number,
            Channel.status == ChannelStatus.RUNNING,
            Channel.id != channel.id,
        )
    )


def _refuse_if_running_elsewhere(session: Session, channel: Channel) -> None:
    other = running_with_number(session, channel)
    if other is not None:
        raise _clash(channel, other)


def _clash(channel: Channel, other: Channel | None) -> Conflict:
    where = f" as channel {other.public_id} of client {other.client.public_id}" if other else ""
    return Conflict(
        f"{channel.phone_number} is already running{where}. A number runs on one WhatsApp "
        "Business account at a time: set that channel to pending first."
    )
