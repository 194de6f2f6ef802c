"""What the Client Hub's pages show, gathered from the domain and put into words.

Nothing here decides a rule: whether a key may be generated comes from permissions.keys,
whether a number is shared from permissions.service. This module only collects and phrases,
in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from onboarding.models import ApiKey, Channel, Client, GrantedVia, Permission, Side
from onboarding.pages import worded
from onboarding.permissions.keys import live_keys, refusal
from onboarding.permissions.service import default_grant, is_shared

# How a number came to be shared, in the words of the settings page.
VIA_WORDS = {
    GrantedVia.BILLING_DEFAULT: _l("Billing default"),
    GrantedVia.PERMISSION_SCREEN: _l("Permission screen"),
    GrantedVia.CLIENT_HUB: _l("Client Hub"),
    GrantedVia.ALL_CHANNELS: _l("“All numbers”"),
    GrantedVia.OPERATOR: _l("Hub operator"),
}
VIA_HINTS = {
    GrantedVia.BILLING_DEFAULT: _l("shared when the number was added, as your partner pays for it"),
    GrantedVia.PERMISSION_SCREEN: _l("allowed on your partner's permission screen"),
    GrantedVia.CLIENT_HUB: _l("shared here in the Client Hub"),
    GrantedVia.ALL_CHANNELS: _l("shared when it was added, as “All numbers” was on"),
    GrantedVia.OPERATOR: _l("set by the hub's support team"),
}


@dataclass(frozen=True)
class ChannelRow:
    channel: Channel
    shared: bool
    refusal: str | None  # why the client may not generate a key now (R7, not running), or None
    key: ApiKey | None  # the channel's key that works now, whoever made it

    @property
    def own_key_while_shared(self) -> bool:
        """The client's own key still works on a shared number, until the partner makes one."""
        return self.shared and self.key is not None and self.key.created_by == Side.CLIENT


def channel_rows(session: Session, channels: list[Channel]) -> list[ChannelRow]:
    """One page of the client's numbers (onboarding.clients.numbers), ready to show."""
    keys = live_keys(session, channels)
    rows = []
    for channel in channels:
        refused = refusal(channel, Side.CLIENT)
        rows.append(
            ChannelRow(
                channel=channel,
                shared=is_shared(channel),
                refusal=worded(refused) if refused else None,
                key=keys.get(channel.id),
            )
        )
    return rows


def via_words(permission: Permission) -> str:
    return str(VIA_WORDS.get(GrantedVia(permission.granted_via), permission.granted_via))


def via_hint(permission: Permission) -> str:
    return str(VIA_HINTS.get(GrantedVia(permission.granted_via), ""))


def new_number_sharing(client: Client) -> str:
    """What happens to the next number the client adds (R2 and "all numbers"), in a sentence."""
    brand = client.partner.brand_name
    via = default_grant(client)
    if via == GrantedVia.BILLING_DEFAULT:
        return str(
            _(
                "Numbers you add are shared with %(brand)s automatically, because %(brand)s pays "
                "for your WhatsApp use. You can remove its permission for any number afterwards.",
                brand=brand,
            )
        )
    if via == GrantedVia.ALL_CHANNELS:
        return str(
            _(
                "Numbers you add are shared with %(brand)s automatically (“All numbers” is on).",
                brand=brand,
            )
        )
    return str(
        _("Numbers you add are not shared with %(brand)s until you share them.", brand=brand)
    )
