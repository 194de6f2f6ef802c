"""A client's own permission settings (Client Hub: Organization Settings → Partner).

Changes go through service.grant / revoke / set_shared with via=CLIENT_HUB. What this module
adds is working out what a request means, which numbers gain and which lose permission, once,
so that the confirmation page shows exactly what the confirming POST then does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from onboarding.errors import ForeignChannel
from onboarding.models import Channel, Client, GrantedVia
from onboarding.permissions.service import ShareOutcome, grant, is_shared, revoke, set_shared

VIA = GrantedVia.CLIENT_HUB


@dataclass(frozen=True)
class SharingChange:
    share: list[Channel]  # not shared now, shared afterwards
    remove: list[Channel]  # shared now; afterwards not, and the partner's keys stop working (R3)
    ends_all_numbers: bool  # "all numbers" is on, and removing any number ends it

    @property
    def is_empty(self) -> bool:
        return not (self.share or self.remove)


def own_channel(client: Client, public_id: str) -> Channel:
    """One of the client's channels by its public id; another client's is unknown here."""
    return own_channels(client, [public_id])[0]


def own_channels(client: Client, public_ids: Iterable[str]) -> list[Channel]:
    """The client's channels with these ids, in the client's order; raises ForeignChannel when
    any id is not the client's own, so a request naming one changes nothing at all."""
    wanted = set(public_ids)
    found = [channel for channel in client.channels if channel.public_id in wanted]
    if len(found) != len(wanted):
        raise ForeignChannel("channel.foreign")
    return found


def change_to(
    client: Client, shared_ids: Iterable[str], listed_ids: Iterable[str]
) -> SharingChange:
    """The edit form, which lists one page of numbers: afterwards, of the `listed_ids`, exactly
    the `shared_ids` are shared; numbers it did not list stay as they are."""
    wanted = own_channels(client, shared_ids)
    others = [channel for channel in own_channels(client, listed_ids) if channel not in wanted]
    return change(client, share=wanted, remove=others)


def remove_all(client: Client) -> SharingChange:
    return change(client, share=[], remove=client.channels)


def change(client: Client, *, share: Iterable[Channel], remove: Iterable[Channel]) -> SharingChange:
    """Only what would really change: already shared numbers are not shared again, and so on."""
    removed = [channel for channel in remove if is_shared(channel)]
    return SharingChange(
        share=[channel for channel in share if not is_shared(channel)],
        remove=removed,
        ends_all_numbers=client.all_channels and bool(removed),
    )


def requested(
    client: Client, *, share_ids: Iterable[str], remove_ids: Iterable[str]
) -> SharingChange:
    """The confirmation page's change, from the ids it lists (all of them the client's own)."""
    return change(
        client, share=own_channels(client, share_ids), remove=own_channels(client, remove_ids)
    )


def apply(session: Session, client: Client, change: SharingChange, *, actor: str) -> None:
    """Make the change: grants first, then removals (which also end "all numbers")."""
    grant(session, client, change.share, via=VIA, actor=actor)
    revoke(session, client, change.remove, via=VIA, actor=actor)


def share_all(session: Session, client: Client, *, actor: str) -> list[Channel]:
    """Share every current number; "all numbers" (later ones too) stays as it is."""
    return grant(session, client, client.channels, via=VIA, actor=actor)


def set_all_numbers(session: Session, client: Client, on: bool, *, actor: str) -> ShareOutcome:
    """Turn "all numbers, including numbers added later" on (which shares every current number
    too, as on the permission screen) or off (which shares nothing new and removes nothing)."""
    shared = [channel.public_id for channel in client.channels if is_shared(channel)]
    return set_shared(session, client, shared, all_channels=on, via=VIA, actor=actor)
