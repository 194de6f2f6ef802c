"""Channel API keys (R1, R6, R8): who may generate them, and what a new one does to the old."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from onboarding.db import utcnow
from onboarding.errors import ChannelNotRunning, DomainError, PermissionMissing
from onboarding.models import ApiKey, Channel, ChannelStatus, Client, Side
from onboarding.observability import metrics
from onboarding.permissions import events
from onboarding.permissions.service import key_holder, lock_client
from onboarding.security import hash_secret, issue_secret

KEY_KIND = "wak"  # "WhatsApp API key", so a leaked key is recognisable in logs and scanners
# R7, word for word: what the client sees next to its greyed-out "Generate API Key" button.
KEYS_WITH_PARTNER = (
    "API keys are disabled for this number. The number was shared with your integration partner."
    " With your permission the partner has access to the WhatsApp Business API on your behalf."
    " To manage permissions go to “Organization Settings” or contact your partner."
)


@dataclass(frozen=True)
class NewApiKey:
    """A generated key: `secret` is shown once and never stored."""

    key: ApiKey
    secret: str


def can_generate(channel: Channel, side: Side) -> str | None:
    """Why `side` may not generate a key for the channel now (R1, R6, R8), or None if it may.

    The screens grey out their "Generate API Key" buttons with this reason, and
    generate_api_key refuses with the same one, so the two can never disagree.
    """
    refusal = _refusal(channel, side)
    return str(refusal) if refusal else None


def _refusal(channel: Channel, side: Side) -> DomainError | None:
    if key_holder(channel) != side:
        if side == Side.PARTNER:
            return PermissionMissing(
                "The client has not shared this number with you. Ask for permission first."
            )
        return PermissionMissing(KEYS_WITH_PARTNER)
    if channel.status != ChannelStatus.RUNNING:
        return ChannelNotRunning(not_running(channel, side))
    return None


def not_running(channel: Channel, side: Side) -> str:
    """Why a pending number gets no key yet, and what will make it running (R8, R9).

    The partner, an integrator, is told the operator's step and the event to wait for; the
    client is told the number is being connected and whom to ask, not how the hub works inside.
    """
    if side == Side.PARTNER:
        return (
            "This number is still pending: it can get API keys once it is connected to WhatsApp."
            " The hub's operator marks it running (onboarding set-status"
            f" {channel.public_id} running, or PUT /ops/v1/channels/{channel.public_id}/status);"
            " a channel.status_changed event tells you when."
        )
    return (
        "This number is still being connected to WhatsApp: API keys can be generated once it is"
        f" running. If this takes long, contact {channel.client.partner.brand_name}."
    )


def generate_api_key(session: Session, channel: Channel, *, side: Side, actor: str) -> NewApiKey:
    """Issue a key for `side`, revoking every earlier key of the channel (R8).

    Decided under the client's lock on the channel as it is now, so a key is never made for a
    channel whose permission a concurrent removal has just taken away (R1, R3).
    """
    lock_client(session, channel.client, [channel])
    refusal = _refusal(channel, side)
    if refusal is not None:
        raise refusal
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


# One Core query on the key's hash (unique index) joined to channel and client: no ORM objects,
# no lazy loads. Built once; each call only binds the hash. Nothing is cached across requests,
# so a revoked key is refused on the very next request, in every process.
_KEY_OWNER = (
    select(Channel.public_id, Client.public_id, Channel.phone_number)
    .select_from(ApiKey)
    .join(Channel, Channel.id == ApiKey.channel_id)
    .join(Client, Client.id == Channel.client_id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


def channel_for_key(session: Session, secret: str) -> KeyOwner | None:
    """The channel a live key belongs to; None for an unknown or revoked key."""
    row = session.connection().execute(_KEY_OWNER, {"key_hash": hash_secret(secret)}).first()
    return KeyOwner(*row) if row is not None else None


def why_refused(session: Session, secret: str) -> str:
    """What happened to a key channel_for_key refused, and what to do: said only to whoever
    holds the key itself, so it tells nothing to anyone else. Off the hot path (refusals only)."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret)))
    if key is None or key.revoked_at is None:
        return (
            "This is not a channel API key: send Authorization: Bearer wak_... with the whole "
            "key shown when it was generated."
        )
    newer = session.scalar(
        select(ApiKey.created_by)
        .where(ApiKey.channel_id == key.channel_id, ApiKey.id > key.id)
        .order_by(ApiKey.id.desc())
    )
    if newer is not None:
        who = "the client" if newer == Side.CLIENT else "you"
        return (
            f"This key was replaced by a newer key for the channel, generated by {who} (R8): "
            "use that one, or generate a new key (POST /api/v1/partners/{partner_id}/channels/"
            "{channel_id}/api_keys)."
        )
    return (
        "This key was revoked because the client removed your permission for the number (R3): "
        "ask for it again (the permission_url of a 403 on POST .../api_keys), then generate a "
        "new key."
    )


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
