"""The flash messages after each Client Hub action: what changed, and what it means."""

from __future__ import annotations

from collections.abc import Sequence

from onboarding.client_hub.present import new_number_sharing, via_words
from onboarding.models import Channel, ChannelStatus, Client
from onboarding.permissions.client_settings import SharingChange
from onboarding.permissions.service import ChannelRef


def numbers_text(channels: Sequence[Channel | ChannelRef]) -> str:
    return ", ".join(channel.phone_number for channel in channels)


def added_message(channel: Channel) -> str:
    if channel.status == ChannelStatus.RUNNING:  # a sandbox partner's number (R9)
        text = f"Added {channel.phone_number}. It is running"
        text += "." if channel.permission else ": you can generate its API key now."
    else:
        text = (
            f"Added {channel.phone_number}. It is pending until WhatsApp has verified it; "
            "API keys can be generated once it is running."
        )
    if channel.permission is not None:
        brand = channel.client.partner.brand_name
        text += f" It is shared with {brand} ({via_words(channel.permission)})."
    return text


def change_messages(client: Client, change: SharingChange) -> list[tuple[str, str]]:
    """The flash messages (category, text) after a change in Settings → Partner."""
    brand = client.partner.brand_name
    messages = []
    if change.share:
        messages.append(("success", f"Shared {numbers_text(change.share)} with {brand}."))
    if change.remove:
        them = "it" if len(change.remove) == 1 else "them"
        removed = (
            f"Removed {brand}'s permission for {numbers_text(change.remove)}. The API keys "
            f"{brand} generated for {them} no longer work; you can generate your own under Numbers."
        )
        messages.append(("success", removed))
    if change.ends_all_numbers:  # say so: the client may not expect it
        messages.append(("info", all_numbers_ended(client)))
    return messages or [("info", "Nothing changed.")]


def all_numbers_ended(client: Client) -> str:
    return f"“All numbers, including numbers added later” is now off. {new_number_sharing(client)}"


def shared_message(client: Client, granted: list[Channel]) -> str:
    if not granted:
        return f"Every number is shared with {client.partner.brand_name} already."
    return f"Shared {numbers_text(granted)} with {client.partner.brand_name}."


def all_numbers_message(client: Client, granted: Sequence[Channel | ChannelRef]) -> str:
    brand = client.partner.brand_name
    if not client.all_channels:
        return f"“All numbers” is off. {new_number_sharing(client)} Nothing was removed."
    text = (
        f"“All numbers” is on: every number, including those you add later, is shared with {brand}."
    )
    return f"{text} Newly shared: {numbers_text(granted)}." if granted else text
