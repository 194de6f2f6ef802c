"""The Partner API's list queries, each shaped so that a page walks one index in channel or
client id order and stops after `limit + 1` rows, whatever the partner's size (bench/lists.py).

EXPLAIN showed what the joins through `client` did at 1,000,000 channels: SQLite probed every
client of the partner for each page, and PostgreSQL planned `permission=missing` as a nested
loop over every (channel, client) pair (322 s). Channel carries its partner now (0006)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, contains_eager, selectinload

from onboarding.models import Channel, Client, Permission


def channels(
    partner_id: int, *, client_id: str | None, permission: str | None
) -> tuple[Select[Any], InstrumentedAttribute[int]]:
    """The partner's channels (one client's, shared or missing ones) and the key to page on."""
    query = (
        select(Channel)
        .join(Client, Client.id == Channel.client_id)
        # Each item shows its client's id and its permission: load them in two queries, not 2n.
        .options(contains_eager(Channel.client), selectinload(Channel.permission))
    )
    key: InstrumentedAttribute[int] = Channel.id
    if client_id is not None:
        # One client's channels in id order (ix_channel_client_id_id), each probed for its
        # permission by the unique channel_id: a page costs the same for a client of any size.
        one = select(Client.id).where(
            Client.public_id == client_id, Client.partner_id == partner_id
        )
        query = query.where(Channel.client_id == one.scalar_subquery())
    elif permission == "shared":
        # Walk the partner's permissions in channel order (ix_permission_partner_id_channel_id):
        # the page ends after `limit` shared channels, however sparse they are among the rest.
        key = Permission.channel_id
    else:
        # Walk the partner's channels in id order (ix_channel_partner_id_id).
        query = query.where(Channel.partner_id == partner_id)
    if permission == "shared":
        query = query.join(Permission, Permission.channel_id == Channel.id).where(
            Permission.partner_id == partner_id
        )
    elif permission == "missing":
        # A subquery per channel, not an anti-join: PostgreSQL estimated the anti-join at one
        # row and planned a nested loop over every channel-client pair (322 s at 1,000,000);
        # probed while walking the index, it stops after the page (missing ones are most).
        shared = select(Permission.id).where(Permission.channel_id == Channel.id)
        query = query.where(shared.scalar_subquery().is_(None))
    return query, key


def clients(partner_id: int) -> Select[Any]:
    """The partner's clients; paged on Client.id (ix_client_partner_id_id)."""
    return select(Client).where(Client.partner_id == partner_id)
