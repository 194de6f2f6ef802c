"""A client's own permission settings (Client Hub: Organization Settings → Partner).

One form, one save: "All numbers, now and later" or "Only the numbers I select" (`choose`).
Changes go through service.grant / revoke with via=CLIENT_HUB. What this module adds is working
out what a request means, which numbers gain and which lose permission and whether "all
numbers" is on afterwards, once, so that the confirmation page shows exactly what the
confirming POST then does.

Sharing a number the client holds a key for leaves that key working until the partner
generates one, which revokes it (R8): R6 decides who may generate, and sharing does not cut a
running integration off. The screens say so before the save and on the number's card.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from onboarding.errors import ForeignChannel
from onboarding.models import Channel, Client, GrantedVia
from onboarding.permissions.service import choose_all_numbers, grant, is_shared, revoke

VIA = GrantedVia.CLIENT_HUB


@dataclass(frozen=True)
class SharingChange:
    share: list[Channel]  # not shared now, shared afterwards
    remove: list[Channel]  # shared now; afterwards not, and the partner's keys stop working (R3)
    all_numbers: bool  # "all numbers, now and later" afterwards
    was_all_numbers: bool  # ... before

    @property
    def ends_all_numbers(self) -> bool:
        return self.was_all_numbers and not self.all_numbers

    @property
    def starts_all_numbers(self) -> bool:
        return self.all_numbers and not self.was_all_numbers

    @property
    def is_empty(self) -> bool:
        return not (self.share or self.remove) and self.all_numbers == self.was_all_numbers


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


def choose(
    client: Client, *, all_numbers: bool, shared_ids: Iterable[str], listed_ids: Iterable[str]
) -> SharingChange:
    """The settings form's one save. "All numbers, now and later" shares every number (on every
    page) and the ones added later, and the ticks do not matter. "Only the numbers I select":
    of the numbers the page listed, exactly the ticked ones are shared afterwards; numbers it
    did not list keep their state, and "all numbers" is off (which removes nothing by itself).
    Every id must be the client's own, in either mode, or nothing happens."""
    wanted = own_channels(client, shared_ids)
    listed = own_channels(client, listed_ids)
    if all_numbers:
        return change(client, share=client.channels, remove=[], all_numbers=True)
    others = [channel for channel in listed if channel not in wanted]
    return change(client, share=wanted, remove=others, all_numbers=False)


def change_to(
    client: Client, shared_ids: Iterable[str], listed_ids: Iterable[str]
) -> SharingChange:
    """ "Only the numbers I select", as `choose`."""
    return choose(client, all_numbers=False, shared_ids=shared_ids, listed_ids=listed_ids)


def remove_all(client: Client) -> SharingChange:
    return change(client, share=[], remove=client.channels, all_numbers=False)


def change(
    client: Client,
    *,
    share: Iterable[Channel],
    remove: Iterable[Channel],
    all_numbers: bool | None = None,
) -> SharingChange:
    """Only what would really change: already shared numbers are not shared again, and so on.
    `all_numbers` None keeps the choice as it is, except that removing any number ends it
    (service.revoke)."""
    removed = [channel for channel in remove if is_shared(channel)]
    after = client.all_channels if all_numbers is None else all_numbers
    return SharingChange(
        share=[channel for channel in share if not is_shared(channel)],
        remove=removed,
        all_numbers=after and not removed,
        was_all_numbers=client.all_channels,
    )


def requested(
    client: Client, *, share_ids: Iterable[str], remove_ids: Iterable[str]
) -> SharingChange:
    """The confirmation page's change, from the ids it lists (all of them the client's own).
    A page that removes anything leaves "all numbers" off."""
    return change(
        client,
        share=own_channels(client, share_ids),
        remove=own_channels(client, remove_ids),
        all_numbers=False,
    )


def apply(session: Session, client: Client, change: SharingChange, *, actor: str) -> None:
    """Make the change: grants first, then removals (which also end "all numbers"), then the
    choice for numbers added later, all under the client's lock (grant takes it)."""
    # "All numbers": every number, including one added since the page was shown.
    share = client.channels if change.all_numbers else change.share
    grant(session, client, share, via=VIA, actor=actor)
    revoke(session, client, change.remove, via=VIA, actor=actor)
    choose_all_numbers(session, client, change.all_numbers, actor=actor)
