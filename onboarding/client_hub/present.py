"""What the Client Hub's pages show, gathered from the domain and put into words.

Nothing here decides a rule: whether a key may be generated comes from permissions.keys,
whether a number is shared from permissions.service. This module only collects and phrases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from onboarding.models import ApiKey, Channel, Client, GrantedVia, Permission, Side
from onboarding.permissions.keys import can_generate, live_keys
from onboarding.permissions.service import default_grant, is_shared

# How a number came to be shared, in the words of the settings page.
VIA_WORDS: dict[str, str] = {
    GrantedVia.BILLING_DEFAULT: "Billing default",
    GrantedVia.PERMISSION_SCREEN: "Permission screen",
    GrantedVia.CLIENT_HUB: "Client Hub",
    GrantedVia.ALL_CHANNELS: "“All numbers” switch",
    GrantedVia.OPERATOR: "Hub operator",
}
VIA_HINTS: dict[str, str] = {
    GrantedVia.BILLING_DEFAULT: "shared when the number was added, as your partner pays for it",
    GrantedVia.PERMISSION_SCREEN: "allowed on your partner's permission screen",
    GrantedVia.CLIENT_HUB: "shared here in the Client Hub",
    GrantedVia.ALL_CHANNELS: "shared when it was added, as “All numbers” was on",
    GrantedVia.OPERATOR: "set by the hub's support team",
}


@dataclass(frozen=True)
class ChannelRow:
    channel: Channel
    shared: bool
    refusal: str | None  # why the client may not generate a key now (R7, not running), or None
    key: ApiKey | None  # the channel's key that works now, whoever made it


def channel_rows(session: Session, channels: list[Channel]) -> list[ChannelRow]:
    """One page of the client's numbers (onboarding.clients.numbers), ready to show."""
    keys = live_keys(session, channels)
    return [
        ChannelRow(
            channel=channel,
            shared=is_shared(channel),
            refusal=can_generate(channel, Side.CLIENT),
            key=keys.get(channel.id),
        )
        for channel in channels
    ]


def via_words(permission: Permission) -> str:
    return VIA_WORDS.get(permission.granted_via, permission.granted_via)


def via_hint(permission: Permission) -> str:
    return VIA_HINTS.get(permission.granted_via, "")


def new_number_sharing(client: Client) -> str:
    """What happens to the next number the client adds (R2 and "all numbers"), in a sentence."""
    brand = client.partner.brand_name
    via = default_grant(client)
    if via == GrantedVia.BILLING_DEFAULT:
        return (
            f"Numbers you add are shared with {brand} automatically, because {brand} pays "
            "for your WhatsApp use. You can remove its permission for any number afterwards."
        )
    if via == GrantedVia.ALL_CHANNELS:
        return f"Numbers you add are shared with {brand} automatically (“All numbers” is on)."
    return f"Numbers you add are not shared with {brand} until you share them."


def when(value: datetime) -> str:
    """A moment as the hub shows it everywhere: UTC, to the minute."""
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")
