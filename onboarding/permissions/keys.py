"""Channel API keys (R1, R6, R8): who may generate them, and what a new one does to the old."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from onboarding.db import Prepared, Source, utcnow
from onboarding.errors import ChannelNotRunning, DomainError, PermissionMissing
from onboarding.models import ApiKey, Channel, ChannelStatus, Client, Permission, Side
from onboarding.observability import metrics
from onboarding.permissions import events
from onboarding.permissions.service import key_holder, lock_client
from onboarding.refusals import TEXTS
from onboarding.security import hash_secret, issue_secret

KEY_KIND = "wak"  # "WhatsApp API key", so a leaked key is recognisable in logs and scanners
# R7, word for word: what the client sees next to its greyed-out "Generate API Key" button.
KEYS_WITH_PARTNER = TEXTS["key.with_partner"]


@dataclass(frozen=True)
class NewApiKey:
    """A generated key: `secret` is shown once and never stored."""

    key: ApiKey
    secret: str


def refusal(channel: Channel, side: Side) -> DomainError | None:
    """Why `side` may not generate a key for the channel now (R1, R6, R8), or None if it may:
    a refusal with its code, which each screen words in its reader's language
    (`pages.worded`) and the API in English.

    The screens grey out their "Generate API Key" buttons with this refusal, and
    generate_api_key raises the very same one, so the two can never disagree.
    """
    if key_holder(channel) != side:
        code = "key.not_shared" if side == Side.PARTNER else "key.with_partner"
        return PermissionMissing(code)
    if channel.status != ChannelStatus.RUNNING:
        return not_running(channel, side)
    return None


def can_generate(channel: Channel, side: Side) -> str | None:
    """`refusal` in English, for the screens that do not word codes yet (the Partner Hub)."""
    refused = refusal(channel, side)
    return str(refused) if refused else None


def not_running(channel: Channel, side: Side) -> ChannelNotRunning:
    """Why a pending number gets no key yet, and what will make it running (R8, R9).

    The partner, an integrator, is told the operator's step and the event to wait for; the
    client is told the number is being connected and whom to ask, not how the hub works inside.
    """
    if side == Side.PARTNER:
        return ChannelNotRunning("key.pending_for_partner", channel=channel.public_id)
    return ChannelNotRunning("key.pending_for_client", brand=channel.client.partner.brand_name)


def generate_api_key(session: Session, channel: Channel, *, side: Side, actor: str) -> NewApiKey:
    """Issue a key for `side`, revoking every earlier key of the channel (R8).

    Decided under the client's lock on the channel as it is now, so a key is never made for a
    channel whose permission a concurrent removal has just taken away (R1, R3).
    """
    lock_client(session, channel.client, [channel])
    refused = refusal(channel, side)
    if refused is not None:
        raise refused
    now = utcnow()
    session.execute(
        update(ApiKey)
        .where(ApiKey.channel_id == channel.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    secret = issue_secret(KEY_KIND)
    key = ApiKey(
        channel_id=channel.id,
        prefix=secret.prefix,
        key_hash=secret.hash,
        created_by=side,
        created_at=now,
    )
    session.add(key)
    session.flush()
    metrics.api_key_generated(session, side.value)
    events.record(
        session,
        "api_key.created",
        partner=channel.client.partner,
        client=channel.client,
        actor=actor,
        channel_id=channel.public_id,
        api_key_id=key.public_id,
        prefix=key.prefix,
        created_by=side.value,
    )
    return NewApiKey(key=key, secret=secret.value)


@dataclass(frozen=True)
class KeyOwner:
    """What the messaging side learns from a live key: which channel, whose, which number."""

    channel_id: str
    client_id: str
    phone_number: str

    @classmethod
    def of(cls, channel: Channel) -> KeyOwner:
        return cls(channel.public_id, channel.client.public_id, channel.phone_number)


# One query on the key's hash (unique index) joined to channel and client, compiled once and run
# on a pooled connection (db.Prepared): no Session, no ORM objects. Nothing is cached across
# requests, so a revoked key is refused on the very next request, in every process.
_KEY_OWNER = Prepared(
    select(Channel.public_id, Client.public_id, Channel.phone_number)
    .select_from(ApiKey)
    .join(Channel, Channel.id == ApiKey.channel_id)
    .join(Client, Client.id == Channel.client_id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


def channel_for_key(source: Source, secret: str) -> KeyOwner | None:
    """The channel a live key belongs to; None for an unknown or revoked key. `source`: a
    session, or db.reader() on the hot path."""
    row = _KEY_OWNER.first(source, key_hash=hash_secret(secret))
    return KeyOwner(*row) if row is not None else None


@dataclass(frozen=True)
class DeadKey:
    """Why a key is refused: unknown, or revoked (and whether a newer key replaced it, and
    which side holds that one)."""

    revoked_at: datetime | None = None
    replaced_by: Side | None = None

    @property
    def known(self) -> bool:
        return self.revoked_at is not None


def why_refused(session: Session, secret: str) -> DeadKey:
    """Only on the failure path: what became of a key that channel_for_key refused."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret)))
    if key is None or key.revoked_at is None:
        return DeadKey()
    newer = session.scalar(
        select(ApiKey.created_by)
        .where(ApiKey.channel_id == key.channel_id, ApiKey.created_at >= key.revoked_at)
        .where(ApiKey.id != key.id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        .limit(1)
    )
    return DeadKey(revoked_at=key.revoked_at, replaced_by=Side(newer) if newer else None)


def api_keys(session: Session, channel: Channel) -> list[ApiKey]:
    """Metadata of the channel's keys, newest first."""
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.channel_id == channel.id)
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def live_keys(session: Session, channels: list[Channel]) -> dict[int, ApiKey]:
    """Each channel's key that still works, by channel id; R8 leaves at most one per channel."""
    if not channels:
        return {}
    rows = session.scalars(
        select(ApiKey).where(
            ApiKey.channel_id.in_([channel.id for channel in channels]),
            ApiKey.revoked_at.is_(None),
        )
    )
    return {key.channel_id: key for key in rows}


def client_keys_on_unshared_numbers(session: Session, client: Client) -> int:
    """How many of the client's numbers not shared now have a working key the client made:
    what "All numbers" would share while those keys keep working (R8: one live key a number)."""
    count = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .join(Channel, Channel.id == ApiKey.channel_id)
        .outerjoin(Permission, Permission.channel_id == Channel.id)
        .where(
            Channel.client_id == client.id,
            ApiKey.revoked_at.is_(None),
            ApiKey.created_by == Side.CLIENT,
            Permission.id.is_(None),
        )
    )
    return int(count or 0)
