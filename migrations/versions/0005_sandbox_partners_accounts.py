"""Sandbox partners, partner logo and website, verified client e-mails, partner staff invites

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 02:30:26.291674
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onboarding.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onboarding.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", onboarding.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", onboarding.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('owner', 'member')", name=op.f("ck_partner_invite_role")),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_invite_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_invite")),
        sa.UniqueConstraint("public_id", name=op.f("uq_partner_invite_public_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_partner_invite_token_hash")),
    )
    with op.batch_alter_table("partner_invite", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_invite_partner_id"), ["partner_id"], unique=False
        )

    with op.batch_alter_table("client_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", onboarding.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sandbox", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("logo_url", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("website", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partner", schema=None) as batch_op:
        batch_op.drop_column("website")
        batch_op.drop_column("logo_url")
        batch_op.drop_column("sandbox")

    with op.batch_alter_table("client_user", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")

    with op.batch_alter_table("partner_invite", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_invite_partner_id"))

    op.drop_table("partner_invite")
