"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 22:58:22.785083
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onboarding.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("brand_name", sa.String(length=200), nullable=False),
        sa.Column("billing_model", sa.String(length=32), nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("signing_secret", sa.String(length=100), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "billing_model IN ('partner_payment', 'direct_payment')",
            name=op.f("ck_partner_billing_model"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner")),
        sa.UniqueConstraint("public_id", name=op.f("uq_partner_public_id")),
    )
    op.create_table(
        "used_flow_nonce",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("used_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_used_flow_nonce")),
    )
    with op.batch_alter_table("used_flow_nonce", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_flow_nonce_used_at"), ["used_at"], unique=False)

    op.create_table(
        "client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("partner_payload", sa.String(length=512), nullable=True),
        sa.Column("all_channels", sa.Boolean(), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_client_partner_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client")),
        sa.UniqueConstraint("public_id", name=op.f("uq_client_public_id")),
    )
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_partner_id"), ["partner_id"], unique=False)

    op.create_table(
        "oauth_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", onboarding.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_oauth_client_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oauth_client_client_id")),
    )
    with op.batch_alter_table("oauth_client", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth_client_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "partner_api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", onboarding.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_api_key_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_partner_api_key_key_hash")),
        sa.UniqueConstraint("public_id", name=op.f("uq_partner_api_key_public_id")),
    )
    with op.batch_alter_table("partner_api_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_api_key_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "partner_redirect_url",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_redirect_url_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_redirect_url")),
        sa.UniqueConstraint("partner_id", "url", name=op.f("uq_partner_redirect_url_partner_id")),
    )
    op.create_table(
        "partner_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'member')", name=op.f("ck_partner_user_role")),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_user_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_user")),
        sa.UniqueConstraint("email", name=op.f("uq_partner_user_email")),
        sa.UniqueConstraint("public_id", name=op.f("uq_partner_user_public_id")),
    )
    with op.batch_alter_table("partner_user", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_user_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_audit_event_client_id_client")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_audit_event_partner_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("public_id", name=op.f("uq_audit_event_public_id")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_audit_event_partner_id_id", ["partner_id", "id"], unique=False)

    op.create_table(
        "channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("phone_number", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'running')", name=op.f("ck_channel_status")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_channel_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel")),
        sa.UniqueConstraint("phone_number", name=op.f("uq_channel_phone_number")),
        sa.UniqueConstraint("public_id", name=op.f("uq_channel_public_id")),
    )
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_client_id"), ["client_id"], unique=False)

    op.create_table(
        "client_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_client_user_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_user")),
        sa.UniqueConstraint("email", name=op.f("uq_client_user_email")),
        sa.UniqueConstraint("public_id", name=op.f("uq_client_user_public_id")),
    )
    with op.batch_alter_table("client_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_user_client_id"), ["client_id"], unique=False)

    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", onboarding.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "created_by IN ('partner', 'client')", name=op.f("ck_api_key_created_by")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_api_key_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
        sa.UniqueConstraint("public_id", name=op.f("uq_api_key_public_id")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "permission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_via", sa.String(length=32), nullable=False),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "granted_via IN ('billing_default', 'permission_screen', 'client_hub', 'all_channels', 'operator')",
            name=op.f("ck_permission_granted_via"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_permission_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_permission_partner_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_permission_channel_id")),
    )
    with op.batch_alter_table("permission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permission_partner_id"), ["partner_id"], unique=False)

    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", onboarding.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_outbox_status")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["audit_event.id"], name=op.f("fk_webhook_outbox_event_id_audit_event")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_webhook_outbox_partner_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_outbox_event_id")),
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_outbox_partner_id_status", ["partner_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_outbox_partner_id_status")

    op.drop_table("webhook_outbox")
    with op.batch_alter_table("permission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permission_partner_id"))

    op.drop_table("permission")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_channel_id"))

    op.drop_table("api_key")
    with op.batch_alter_table("client_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_user_client_id"))

    op.drop_table("client_user")
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_client_id"))

    op.drop_table("channel")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_partner_id_id")
        batch_op.drop_index(batch_op.f("ix_audit_event_client_id"))

    op.drop_table("audit_event")
    with op.batch_alter_table("partner_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_user_partner_id"))

    op.drop_table("partner_user")
    op.drop_table("partner_redirect_url")
    with op.batch_alter_table("partner_api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_api_key_partner_id"))

    op.drop_table("partner_api_key")
    with op.batch_alter_table("oauth_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_client_partner_id"))

    op.drop_table("oauth_client")
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_partner_id"))

    op.drop_table("client")
    with op.batch_alter_table("used_flow_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_flow_nonce_used_at"))

    op.drop_table("used_flow_nonce")
    op.drop_table("partner")
