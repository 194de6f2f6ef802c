"""Keyset-friendly indexes for the lists, channel.partner_id, channel.name_folded

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:20:00.000000

The lists walk an index in id order and stop after a page: a partner's channels need the
partner on the channel (a join through every client made the page cost grow with the client
count, and PostgreSQL planned the `permission=missing` list as a nested loop over every pair),
and the filters by name need a case-folded copy of the name (SQLite's lower() folds ASCII only).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    # Nullable, and added in place: on SQLite a NOT NULL column needs a default, and re-creating
    # the table instead would drop the old one, which (foreign_keys=ON) cascades to every
    # permission and key. The models fill both on every insert (Channel's column defaults).
    # No foreign key on partner_id: it copies client.partner_id, which has one, and a key would
    # make the column impossible to drop again on SQLite without that same re-creation.
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("name_folded", sa.String(length=400), nullable=True))
    op.execute(
        "UPDATE channel SET partner_id = "
        "(SELECT client.partner_id FROM client WHERE client.id = channel.client_id)"
    )
    _fold_names()
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_client_id"))
        batch_op.create_index("ix_channel_client_id_id", ["client_id", "id"], unique=False)
        batch_op.create_index("ix_channel_partner_id_id", ["partner_id", "id"], unique=False)

    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_partner_id"))
        batch_op.create_index("ix_client_partner_id_id", ["partner_id", "id"], unique=False)

    with op.batch_alter_table("permission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permission_partner_id"))
        batch_op.create_index(
            "ix_permission_partner_id_channel_id", ["partner_id", "channel_id"], unique=False
        )


def _fold_names() -> None:
    """str.casefold() in Python, the same function the application uses; in batches by id."""
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.text("SELECT id, name FROM channel WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        connection.execute(
            sa.text("UPDATE channel SET name_folded = :folded WHERE id = :id"),
            [{"id": row.id, "folded": row.name.casefold()} for row in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("permission", schema=None) as batch_op:
        batch_op.drop_index("ix_permission_partner_id_channel_id")
        batch_op.create_index(batch_op.f("ix_permission_partner_id"), ["partner_id"], unique=False)

    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_index("ix_client_partner_id_id")
        batch_op.create_index(batch_op.f("ix_client_partner_id"), ["partner_id"], unique=False)

    op.drop_index("ix_channel_partner_id_id", table_name="channel")
    op.drop_index("ix_channel_client_id_id", table_name="channel")
    op.create_index(op.f("ix_channel_client_id"), "channel", ["client_id"], unique=False)
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch would re-create the table.
    op.drop_column("channel", "name_folded")
    op.drop_column("channel", "partner_id")
