"""The flash messages after each Client Hub action: what changed, and what it means, in the
reader's language (the sentences of present.py that they include are that module's)."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from flask_babel import ngettext

from onboarding.client_hub.present import new_number_sharing, via_words
from onboarding.models import Channel, ChannelStatus, Client
from onboarding.permissions.client_settings import SharingChange
from onboarding.permissions.service import ChannelRef
from onboarding.phones import readable


def numbers_text(channels: Sequence[Channel | ChannelRef]) -> str:
    return ", ".join(readable(channel.phone_number) for channel in channels)


def added_message(channel: Channel) -> str:
    number = readable(channel.phone_number)
    if channel.status != ChannelStatus.RUNNING:
        text: str = _(
            "Added %(number)s. It is pending until WhatsApp has verified it; API keys can be "
            "generated once it is running.",
            number=number,
        )
    elif channel.permission:  # a sandbox partner's number (R9), and the partner holds the keys
        text = _("Added %(number)s. It is running.", number=number)
    else:
        text = _(
            "Added %(number)s. It is running: you can generate its API key now.", number=number
        )
    if channel.permission is not None:
        shared = _(
            "It is shared with %(brand)s (%(via)s).",
            brand=channel.client.partner.brand_name,
            via=via_words(channel.permission),
        )
        text = f"{text} {shared}"
    return text


def change_messages(client: Client, change: SharingChange) -> list[tuple[str, str]]:
    """The flash messages (category, text) after a save in Settings → Partner."""
    brand = client.partner.brand_name
    messages = []
    if change.starts_all_numbers:
        on = _(
            "“All numbers, now and later” is on: every number, including those you add later, "
            "is shared with %(brand)s.",
            brand=brand,
        )
        messages.append(("success", on))
    if change.share:
        text = _(
            "Shared %(numbers)s with %(brand)s.", numbers=numbers_text(change.share), brand=brand
        )
        messages.append(("success", text))
    if change.remove:
        removed = ngettext(
            "Removed %(brand)s's permission for %(numbers)s. The API keys %(brand)s generated "
            "for it no longer work; you can generate your own under Numbers.",
            "Removed %(brand)s's permission for %(numbers)s. The API keys %(brand)s generated "
            "for them no longer work; you can generate your own under Numbers.",
            len(change.remove),
            brand=brand,
            numbers=numbers_text(change.remove),
        )
        messages.append(("success", removed))
    if change.ends_all_numbers:  # say so: the client may not expect it
        messages.append(("info", all_numbers_ended(client, removed=bool(change.remove))))
    return messages or [("info", _("Nothing changed."))]


def all_numbers_ended(client: Client, *, removed: bool) -> str:
    ended = _("“All numbers, now and later” is now off.")
    text = f"{ended} {new_number_sharing(client)}"
    return text if removed else f"{text} {_('Nothing was removed.')}"
