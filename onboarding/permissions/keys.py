"""Channel API keys (R1, R6, R8): who may generate them, and what a new one does to the old."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onboarding.db import utcnow
from onboarding.errors import ChannelNotRunning, PermissionMissing
from onboarding.models import ApiKey, Channel, ChannelStatus, Side
from onboarding.permissions import events
from onboarding.permissions.service import key_holder
from onboarding.security import hash_secret, issue_secret

KEY_KIND = "wak"  # "WhatsApp API key", so a leaked key is recognisable in logs and scanners


@dataclass(frozen=True)
class NewApiKey:
    """A generated key: `secret` is shown once and never stored."""

    key: ApiKey
    secret: str


def generate_api_key(session: Session, channel: Channel, *, side: Side, actor: str) -> NewApiKey:
    """Issue a key for `side`, revoking every earlier key of the channel (R8)."""
    if key_holder(channel) != side:
        if side == Side.PARTNER:
            raise PermissionMissing(
                "The client has not shared this number with you. Ask for permission first."
            )
        raise PermissionMissing(
            "API keys are disabled for this number: it is shared with your integration partner."
        )
    if channel.status != ChannelStatus.RUNNING:
        raise ChannelNotRunning("API keys can be generated only for running numbers.")
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


def channel_for_key(session: Session, secret: str) -> Channel | None:
    """The channel a live key belongs to; None for an unknown or revoked key."""
    return session.scalar(
        select(Channel)
        .join(ApiKey)
        .where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None))
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
