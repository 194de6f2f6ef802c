"""api tokens, webhook attempts, secret rotation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 23:17:34.254155
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onboarding.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("oauth_client_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("issued_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", onboarding.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["oauth_client_id"],
            ["oauth_client.id"],
            name=op.f("fk_oauth_token_oauth_client_id_oauth_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_oauth_token_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_oauth_token_token_hash")),
    )
    with op.batch_alter_table("oauth_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_token_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_oauth_token_oauth_client_id"), ["oauth_client_id"], unique=False
        )

    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["webhook_outbox.id"],
            name=op.f("fk_webhook_attempt_outbox_id_webhook_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_attempt_outbox_id"), ["outbox_id"], unique=False
        )

    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("previous_signing_secret", sa.String(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "previous_signing_secret_until",
                onboarding.db.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.drop_column("previous_signing_secret_until")
        batch_op.drop_column("previous_signing_secret")

    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_attempt_outbox_id"))

    op.drop_table("webhook_attempt")
    with op.batch_alter_table("oauth_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_token_oauth_client_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_token_expires_at"))

    op.drop_table("oauth_token")
