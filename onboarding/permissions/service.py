"""Permission rules. Every grant, removal and channel creation goes through here.

Callers own the transaction: these functions add to the session and never commit, so a change,
its audit events and its outbox rows land together or not at all.

Concurrency: every change of a client's sharing, or of a key of one of its channels, first takes
the client's lock (`lock_client`) and reads what it decides on afresh under it, so such changes
serialise per client and none decides on what another changed a moment ago.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onboarding.db import utcnow
from onboarding.errors import Conflict, ForeignChannel
from onboarding.models import (
    ApiKey,
    BillingModel,
    Channel,
    ChannelStatus,
    Client,
    GrantedVia,
    Permission,
    Side,
)
from onboarding.permissions import events
from onboarding.refusals import TEXTS

# Also what a client sees when the unique constraint wins a race (the views catch it).
NUMBER_ADDED_ALREADY = TEXTS["number.added_already"]


def is_shared(channel: Channel) -> bool:
    """R1/R4: the partner may generate API keys for the channel."""
    return channel.permission is not None


def key_holder(channel: Channel) -> Side:
    """R6: one side at a time makes a channel's keys: the partner while shared, else the client."""
    return Side.PARTNER if is_shared(channel) else Side.CLIENT


# Up to this many channels are read back by id under the lock; more, and all the client's are.
REFRESH_BY_ID = 500


def lock_client(
    session: Session, client: Client, channels: Sequence[Channel] | None = None
) -> None:
    """Hold the client's row until the transaction ends, then read the client and `channels`
    (by default all the client's channels) afresh, permissions included.

    What a change decides on (is the channel shared? does it run? "all numbers"?) may have been
    read before the lock, when another transaction was about to change it: two answers would
    then both insert a channel's permission (a unique violation, a 500), or a key would be made
    for a channel whose permission a removal had just taken away (R1, R3). Under the lock and
    read afresh, each change sees the one before it.

    PostgreSQL: SELECT ... FOR NO KEY UPDATE, which conflicts with itself but not with the
    FOR KEY SHARE that inserting a row referencing the client takes. The order is always the
    client's lock, then the partner's (`events.record`), so two changes never wait for each
    other. SQLite has no row locks: there a writing transaction holds the database's write lock
    from its BEGIN IMMEDIATE on (`onboarding.db`), and reading afresh only refreshes objects
    loaded by an earlier transaction of the session.
    """
    session.flush()  # our own changes are part of what is read back
    session.execute(
        select(Client)
        .where(Client.id == client.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)  # all_channels; `channels` reloads
    )
    fresh = select(Channel).execution_options(populate_existing=True)  # with its permission
    if channels is not None and len(channels) <= REFRESH_BY_ID:
        fresh = fresh.where(Channel.id.in_([channel.id for channel in channels]))
    else:
        fresh = fresh.where(Channel.client_id == client.id)
    session.scalars(fresh).all()


def add_channel(
    session: Session,
    client: Client,
    phone_number: str,
    name: str,
    *,
    actor: str,
    status: ChannelStatus | None = None,
) -> Channel:
    """Create a channel and apply R2: billing default first, then the client's "all numbers".

    R9: only the client's own copy of the number refuses it. Another client's copy, pending or
    running, neither blocks nor shows: the number is added (pending) as if it were free, and the
    database's partial unique index keeps it from running twice (the operator settles a clash
    when moving one to running).

    The partner decides the status: a sandbox partner's numbers run at once, any other's start
    pending until the operator marks them running. `status` is the operator's override (CLI
    `add-channel --status`); client-facing callers never pass it.
    """
    own = select(Channel.id).where(
        Channel.client_id == client.id, Channel.phone_number == phone_number
    )
    if session.scalar(own):
        raise Conflict("number.added_already")
    asked = status is not None
    running = status == ChannelStatus.RUNNING if asked else client.partner.sandbox
    channel = Channel(
        client=client,
        partner_id=client.partner_id,
        phone_number=phone_number,
        name=name,
        status=ChannelStatus.PENDING,
    )
    session.add(channel)
    session.flush()  # a concurrent insert of the same number fails here (the views catch it)
    if running and not _run_if_free(session, channel) and asked:
        raise _running_elsewhere(session, channel)
    lock_client(session, client, [channel])  # "all numbers" as it is now
    events.record(
        session,
        "channel.created",
        partner=client.partner,
        client=client,
        actor=actor,
        channel_id=channel.public_id,
        phone_number=phone_number,
    )
    via = default_grant(client)
    if via is not None:
        grant(session, client, [channel], via=via, actor=actor)
    return channel


def _run_if_free(session: Session, channel: Channel) -> bool:
    """Start the new channel unless its number already runs elsewhere in the hub; False then.

    The partial unique index uq_channel_running_phone_number decides, so a concurrent start
    cannot slip between a look and the write. Refused, the channel stays pending: for a sandbox
    partner's client that is the same state, in the same words, as any new number of a partner
    that is not a sandbox, and nothing says which account runs the number (R9). The savepoint
    keeps the transaction usable.
    """
    # The savepoint's rollback, before the refusal is swallowed, restores `pending`.
    with suppress(IntegrityError), session.begin_nested():
        channel.status = ChannelStatus.RUNNING
        session.flush()
    return channel.status == ChannelStatus.RUNNING


def _running_elsewhere(session: Session, channel: Channel) -> Conflict:
    """The operator asked for `running` and the number runs elsewhere: say where (operator
    only; never shown to a partner or client), as set-status does."""
    # Imported here: lifecycle takes the client's lock from this module.
    from onboarding.permissions.lifecycle import running_with_number

    other = running_with_number(session, channel)
    where = f" as channel {other.public_id} of client {other.client.public_id}" if other else ""
    return Conflict(
        f"{channel.phone_number} is already running{where}. A number runs on one WhatsApp "
        "Business account at a time: add it pending, or set that channel to pending first."
    )


def default_grant(client: Client) -> GrantedVia | None:
    """How a number the client adds now gets shared (R2, then "all numbers"), if at all."""
    if client.partner.billing_model == BillingModel.PARTNER_PAYMENT:
        return GrantedVia.BILLING_DEFAULT
    if client.all_channels:
        return GrantedVia.ALL_CHANNELS
    return None


def grant(
    session: Session, client: Client, channels: Iterable[Channel], *, via: GrantedVia, actor: str
) -> list[Channel]:
    """Share the channels with the client's partner; returns those that were not shared yet."""
    channels = _own(client, channels)
    lock_client(session, client, channels)
    return _grant(session, client, channels, via=via, actor=actor)


def _grant(
    session: Session, client: Client, channels: list[Channel], *, via: GrantedVia, actor: str
) -> list[Channel]:
    newly = [channel for channel in channels if not is_shared(channel)]
    for channel in newly:
        channel.permission = Permission(
            partner_id=client.partner_id, granted_via=via, granted_by=actor, granted_at=utcnow()
        )
    if newly:
        session.flush()
        _record_change(session, client, "permission.granted", newly, via=via, actor=actor)
    return newly


def revoke(
    session: Session, client: Client, channels: Iterable[Channel], *, via: GrantedVia, actor: str
) -> list[Channel]:
    """R3: take the partner's permission away and disable the keys the partner generated.

    Removing any number also ends "all numbers, including numbers added later": that choice
    means every number is shared, and leaving it on would hand the partner the next number
    while the client believes it has withdrawn.
    """
    channels = _own(client, channels)
    lock_client(session, client, channels)
    return _revoke(session, client, channels, via=via, actor=actor)


def _revoke(
    session: Session, client: Client, channels: list[Channel], *, via: GrantedVia, actor: str
) -> list[Channel]:
    gone = [channel for channel in channels if is_shared(channel)]
    for channel in gone:
        channel.permission = None
    if gone:
        session.execute(
            update(ApiKey)
            .where(
                ApiKey.channel_id.in_([channel.id for channel in gone]),
                ApiKey.created_by == Side.PARTNER,
                ApiKey.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        session.flush()
        _record_change(session, client, "permission.revoked", gone, via=via, actor=actor)
        choose_all_numbers(session, client, False, actor=actor)
    return gone


def choose_all_numbers(session: Session, client: Client, chosen: bool, *, actor: str) -> None:
    """Set the client's choice for numbers added later ("All numbers, now and later"), and
    tell the partner (`client.updated`) when it changed."""
    if client.all_channels == chosen:
        return
    client.all_channels = chosen
    events.record(
        session,
        "client.updated",
        partner=client.partner,
        client=client,
        actor=actor,
        all_channels=chosen,
    )


class ChannelRef(NamedTuple):
    """A channel as the bulk paths see it: no ORM object, no lazy load."""

    id: int
    public_id: str
    phone_number: str


@dataclass(frozen=True)
class ShareOutcome:
    shared: list[ChannelRef]
    granted: list[ChannelRef]
    revoked: list[ChannelRef]


def set_shared(
    session: Session,
    client: Client,
    channel_ids: Sequence[str],
    *,
    all_channels: bool,
    via: GrantedVia,
    actor: str,
) -> ShareOutcome:
    """Make the shared set exactly `channel_ids` (every channel with `all_channels`).

    Raises ForeignChannel, before changing anything, when an id is not one of the client's own.
    Works in bulk (one read, one insert, one delete, one key update, one event per change kind),
    so that a client with 10,000 numbers answers as fast as the screen needs.
    """
    # The client's lock first; the columns below are then read under it (no ORM reload).
    lock_client(session, client, [])
    rows = session.execute(
        select(Channel.id, Channel.public_id, Channel.phone_number, Permission.id)
        .outerjoin(Permission, Permission.channel_id == Channel.id)
        .where(Channel.client_id == client.id)
        .order_by(Channel.id)
    ).all()
    by_id = {row[1]: (ChannelRef(*row[:3]), row[3] is not None) for row in rows}
    unknown = set(channel_ids) - by_id.keys()
    if unknown:
        raise ForeignChannel("channel.foreign")
    wanted = set(by_id) if all_channels else set(channel_ids)
    granted = [ref for i, (ref, shared) in by_id.items() if i in wanted and not shared]
    revoked = [ref for i, (ref, shared) in by_id.items() if i not in wanted and shared]
    now = utcnow()
    if granted:
        session.execute(
            insert(Permission),
            [
                {
                    "partner_id": client.partner_id,
                    "channel_id": ref.id,
                    "granted_via": via,
                    "granted_by": actor,
                    "granted_at": now,
                }
                for ref in granted
            ],
        )
        _record_change(session, client, "permission.granted", granted, via=via, actor=actor)
    if revoked:
        gone = [ref.id for ref in revoked]
        for start in range(0, len(gone), _CHUNK):
            chunk = gone[start : start + _CHUNK]
            session.execute(delete(Permission).where(Permission.channel_id.in_(chunk)))
            session.execute(
                update(ApiKey)
                .where(
                    ApiKey.channel_id.in_(chunk),
                    ApiKey.created_by == Side.PARTNER,
                    ApiKey.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        _record_change(session, client, "permission.revoked", revoked, via=via, actor=actor)
    choose_all_numbers(session, client, all_channels, actor=actor)
    if granted or revoked:
        _expire_permissions(session, client)
    shared = [ref for i, (ref, _) in by_id.items() if i in wanted]
    return ShareOutcome(shared=shared, granted=granted, revoked=revoked)


_CHUNK = 900  # under SQLite's 999 bound parameters of old builds


def _expire_permissions(session: Session, client: Client) -> None:
    """Channels of this client already loaded in the session read their permission afresh."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Channel) and obj.client_id == client.id:
            session.expire(obj, ["permission"])


def _own(client: Client, channels: Iterable[Channel]) -> list[Channel]:
    channels = list(channels)
    if any(channel.client_id != client.id for channel in channels):
        raise ForeignChannel("One of the numbers does not belong to this client.")
    return channels


def _record_change(
    session: Session,
    client: Client,
    type: str,
    channels: Sequence[Channel | ChannelRef],
    *,
    via: GrantedVia,
    actor: str,
) -> None:
    events.record(
        session,
        type,
        partner=client.partner,
        client=client,
        actor=actor,
        channel_ids=[channel.public_id for channel in channels],
        via=via.value,
    )
