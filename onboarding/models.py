"""The tables. Rules live in the services; invariants a race could break are constraints here."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from onboarding.db import Base, UTCDateTime, utcnow
from onboarding.ids import new_id


class BillingModel(enum.StrEnum):
    PARTNER_PAYMENT = "partner_payment"
    DIRECT_PAYMENT = "direct_payment"


class ChannelStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"


class GrantedVia(enum.StrEnum):
    BILLING_DEFAULT = "billing_default"
    PERMISSION_SCREEN = "permission_screen"
    CLIENT_HUB = "client_hub"
    ALL_CHANNELS = "all_channels"
    OPERATOR = "operator"


class Side(enum.StrEnum):
    PARTNER = "partner"
    CLIENT = "client"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def _public_id(prefix: str) -> Mapped[str]:
    return mapped_column(String(64), unique=True, default=lambda: new_id(prefix))


class Partner(Base):
    __tablename__ = "partner"
    __table_args__ = (CheckConstraint(_in("billing_model", BillingModel), name="billing_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("pa")
    name: Mapped[str] = mapped_column(String(200))
    brand_name: Mapped[str] = mapped_column(String(200))
    billing_model: Mapped[str] = mapped_column(String(32))
    # R9: a sandbox partner's client numbers run as soon as they are added.
    sandbox: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Shown on the consent screen (SPEC §6).
    logo_url: Mapped[str | None] = mapped_column(String(2000))
    website: Mapped[str | None] = mapped_column(String(2000))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    # Kept in the clear: callbacks and webhooks are signed with it (HMAC is symmetric).
    signing_secret: Mapped[str] = mapped_column(String(100))
    # After a rotation webhooks carry a second signature with the old secret for a while.
    previous_signing_secret: Mapped[str | None] = mapped_column(String(100))
    previous_signing_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The first is the default of the permission screen.
    redirect_urls: Mapped[list[PartnerRedirectUrl]] = relationship(
        order_by="(PartnerRedirectUrl.position, PartnerRedirectUrl.id)",
        cascade="all, delete-orphan",
    )


class PartnerRedirectUrl(Base):
    __tablename__ = "partner_redirect_url"
    __table_args__ = (UniqueConstraint("partner_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerUser(Base):
    __tablename__ = "partner_user"
    __table_args__ = (CheckConstraint("role IN ('owner', 'member')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("pu")
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship()


class PartnerInvite(Base):
    """An owner's invitation to join the partner's staff; the invitee sets a password through the
    mailed link. Only the link token's SHA-256 is kept."""

    __tablename__ = "partner_invite"
    __table_args__ = (CheckConstraint("role IN ('owner', 'member')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("pi")
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PartnerApiKey(Base):
    """A partner's credential for the Partner API; only its SHA-256 is kept."""

    __tablename__ = "partner_api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("pk")
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthClient(Base):
    """OAuth 2.0 client-credentials pair of a partner; only the secret's SHA-256 is kept."""

    __tablename__ = "oauth_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthToken(Base):
    """A short-lived bearer token from the client-credentials grant; only its SHA-256 is kept."""

    __tablename__ = "oauth_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    oauth_client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), index=True
    )
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Client(Base):
    __tablename__ = "client"
    # A partner's clients in id order (the lists' keyset); PostgreSQL would otherwise sort.
    __table_args__ = (Index("ix_client_partner_id_id", "partner_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("cl")
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    name: Mapped[str] = mapped_column(String(200))
    partner_payload: Mapped[str | None] = mapped_column(String(512))
    # "All numbers, including numbers added later" is shared with the partner.
    all_channels: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship()
    channels: Mapped[list[Channel]] = relationship(order_by="Channel.id", back_populates="client")


class ClientUser(Base):
    __tablename__ = "client_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("cu")
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # Set when the user followed the link mailed at signup (SPEC §5.4).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()


def _client_partner(context: DefaultExecutionContext) -> int | None:
    """Channel.partner_id for an insert that does not give it: the client's partner."""
    params: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    found = context.connection.scalar(
        text("SELECT partner_id FROM client WHERE id = :id"), {"id": params["client_id"]}
    )
    return None if found is None else int(found)


def _fold_name(context: DefaultExecutionContext) -> str:
    params: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return str(params["name"]).casefold()


class Channel(Base):
    __tablename__ = "channel"
    __table_args__ = (
        CheckConstraint(_in("status", ChannelStatus), name="status"),
        UniqueConstraint("client_id", "phone_number", name="uq_channel_client_id_phone_number"),
        # R9: a number is unique across the hub only once it runs; a pending one blocks no one.
        Index(
            "uq_channel_running_phone_number",
            "phone_number",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        # The lists walk these in id order and stop after a page (keyset pagination): a
        # partner's channels, one client's channels.
        Index("ix_channel_partner_id_id", "partner_id", "id"),
        Index("ix_channel_client_id_id", "client_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("ch")
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    # The client's partner, copied so that a partner's channels are one index range, not a
    # join through every client (a client never changes partner). Nullable and without its own
    # foreign key only because migration 0006 adds it in place (see there); every insert fills it.
    partner_id: Mapped[int | None] = mapped_column(default=_client_partner)
    # E.164; a number belongs to one WhatsApp Business account at a time (once running).
    phone_number: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    # str.casefold() of the name, for filters: SQLite's lower() folds ASCII only, and casefold
    # also matches "ß" with "ss". Kept by the ORM (set_name_folded) and by Core inserts.
    name_folded: Mapped[str | None] = mapped_column(String(400), default=_fold_name)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship(back_populates="channels")

    @validates("name")
    def set_name_folded(self, _key: str, name: str) -> str:
        self.name_folded = name.casefold()
        return name

    # Nearly every screen that lists channels shows their permission: load it with them.
    permission: Mapped[Permission | None] = relationship(
        back_populates="channel", cascade="all, delete-orphan", uselist=False, lazy="selectin"
    )


class Permission(Base):
    """The partner may generate API keys for the channel. A row exists exactly while shared."""

    __tablename__ = "permission"
    __table_args__ = (
        CheckConstraint(_in("granted_via", GrantedVia), name="granted_via"),
        # A partner's shared channels in channel order: the `permission=shared` list's keyset.
        Index("ix_permission_partner_id_channel_id", "partner_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), unique=True
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_via: Mapped[str] = mapped_column(String(32))
    granted_by: Mapped[str] = mapped_column(String(100))

    channel: Mapped[Channel] = relationship(back_populates="permission")


class ApiKey(Base):
    """A channel's messaging API key; only its SHA-256 is kept."""

    __tablename__ = "api_key"
    __table_args__ = (CheckConstraint(_in("created_by", Side), name="created_by"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("key")
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """One thing that happened, visible to the partner (feed, webhooks) and to the client.

    The integer id orders the feed; the public id is the webhook id.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_partner_id_id", "partner_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("ev")
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookOutbox(Base):
    """One event waiting for (or done with) delivery to the partner's webhook URL."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_outbox_partner_id_status", "partner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_event.id"), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A worker claims the row until then and posts with no transaction open; if it dies, the
    # claim runs out and another worker tries again.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[AuditEvent] = relationship()
    partner: Mapped[Partner] = relationship()


class WebhookAttempt(Base):
    """One try at delivering an outbox row: what the partner's endpoint answered, or why not."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_outbox.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    url: Mapped[str] = mapped_column(String(2000))
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(default=0)


class LoginSession(Base):
    """A signed-in browser. Its cookie holds a random token, of which only the hash is kept here,
    so that logout, a password change or a removal ends sessions at once (auth/session.py)."""

    __tablename__ = "login_session"
    __table_args__ = (
        CheckConstraint(
            "(client_user_id IS NULL) <> (partner_user_id IS NULL)", name="one_kind_of_user"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_user.id", ondelete="CASCADE"), index=True
    )
    partner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_user.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The absolute end, however active the session is.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Consent(Base):
    """One answer of the permission screen (Allow or Cancel): what its callback reported, kept so
    that a partner can read the lists a long callback leaves out (SPEC §5.3)."""

    __tablename__ = "consent"
    __table_args__ = (CheckConstraint("action IN ('allow', 'deny')", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = _public_id("cs")
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), index=True)
    action: Mapped[str] = mapped_column(String(8))
    channels: Mapped[list[str]] = mapped_column(JSON)
    revoked: Mapped[list[str]] = mapped_column(JSON)
    all_channels: Mapped[bool]
    state: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()


class UsedFlowNonce(Base):
    """A consent flow token that was spent; inserting twice fails, so each token works once."""

    __tablename__ = "used_flow_nonce"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
