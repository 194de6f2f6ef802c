"""Consents, server-side login sessions, running numbers unique (R9), webhook leases

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 01:59:31.714442
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onboarding.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("revoked", sa.JSON(), nullable=False),
        sa.Column("all_channels", sa.Boolean(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('allow', 'deny')", name=op.f("ck_consent_action")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_consent_client_id_client")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_consent_partner_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
        sa.UniqueConstraint("public_id", name=op.f("uq_consent_public_id")),
    )
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consent_partner_id"), ["partner_id"], unique=False)

    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_user_id", sa.Integer(), nullable=True),
        sa.Column("partner_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(client_user_id IS NULL) <> (partner_user_id IS NULL)",
            name=op.f("ck_login_session_one_kind_of_user"),
        ),
        sa.ForeignKeyConstraint(
            ["client_user_id"],
            ["client_user.id"],
            name=op.f("fk_login_session_client_user_id_client_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_user_id"],
            ["partner_user.id"],
            name=op.f("fk_login_session_partner_user_id_partner_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_session_token_hash")),
    )
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_session_client_user_id"), ["client_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_login_session_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_login_session_partner_user_id"), ["partner_user_id"], unique=False
        )

    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_channel_phone_number"), type_="unique")
        batch_op.create_unique_constraint(
            "uq_channel_client_id_phone_number", ["client_id", "phone_number"]
        )
        batch_op.create_index(
            "uq_channel_running_phone_number",
            ["phone_number"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("leased_until", onboarding.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_column("leased_until")

    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_channel_running_phone_number",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.drop_constraint("uq_channel_client_id_phone_number", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_channel_phone_number"), ["phone_number"])

    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_session_partner_user_id"))
        batch_op.drop_index(batch_op.f("ix_login_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_login_session_client_user_id"))

    op.drop_table("login_session")
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_partner_id"))
        batch_op.drop_index(batch_op.f("ix_consent_client_id"))

    op.drop_table("consent")
