"""Each event type's `data`, declared once (SPEC §7): the feed, the webhooks and the OpenAPI
document's `webhooks` section all come from these models, and so do both hubs' activity pages
(`channel_ids`, `actor`).

One vocabulary: every event about numbers carries `channel_ids`, a list even for one (events
stored before kept `channel_id` alone; `of` reads both); whoever did it is one `Actor`.
A new event type is a model here and its label in `onboarding/labels.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from onboarding.models import AuditEvent

ActorType = Literal[
    "client_user",  # the client, on the permission screen or in the Client Hub
    "partner_user",  # someone of the partner's team, in the Partner Hub
    "partner_api_key",  # the Partner API with an API key
    "oauth_client",  # the Partner API with an OAuth client's token
    "operator",  # the hub's operator (CLI)
    "operator_api",  # the operator's provisioning system (/ops/v1)
    "hub",  # the hub itself
]
# The actor strings the services record, before their colon (`partner_user:pu_…`).
_KNOWN: frozenset[str] = frozenset(get_args(ActorType))
# Whose ids the partner may see: its own staff and credentials.
_PARTNER_SIDE = frozenset({"partner_user", "partner_api_key", "oauth_client"})
Via = Literal["billing_default", "permission_screen", "client_hub", "all_channels", "operator"]
Status = Literal["pending", "running"]


class Actor(BaseModel):
    """Who did it: one shape for every event."""

    model_config = ConfigDict(frozen=True)

    type: ActorType
    id: str | None = Field(
        description="The partner user, API key or OAuth client id; null for anyone else"
    )

    @classmethod
    def parse(cls, actor: str) -> Actor:
        kind, _, ident = actor.partition(":")
        if kind not in _KNOWN:
            return cls(type="hub", id=None)
        return cls(type=kind, id=ident or None)  # type: ignore[arg-type]

    def public(self) -> Actor:
        """As the partner sees it: ids of its own side only."""
        return self if self.type in _PARTNER_SIDE else Actor(type=self.type, id=None)


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelsData(_Data):
    client_id: str
    channel_ids: list[str] = Field(description="Every channel the event is about (at least one)")


class ClientCreated(_Data):
    client_id: str
    name: str
    partner_payload: str | None


class ClientUpdated(_Data):
    client_id: str
    all_channels: bool = Field(
        description='The client\'s choice now: true for "All numbers, now and later" (every '
        'number, and each number it adds later, is shared with you), false for "Only the '
        'numbers I select"'
    )


class ChannelCreated(ChannelsData):
    channel_id: str = Field(deprecated=True, description="The one entry of channel_ids")
    phone_number: str


class PermissionChanged(ChannelsData):
    via: Via


class ApiKeyCreated(ChannelsData):
    channel_id: str = Field(deprecated=True, description="The one entry of channel_ids")
    api_key_id: str
    prefix: str
    created_by: Literal["partner", "client"]


class StatusChanged(ChannelsData):
    channel_id: str = Field(deprecated=True, description="The one entry of channel_ids")
    from_: Status = Field(alias="from")
    to: Status


class ChannelRemoved(ChannelsData):
    phone_number: str
    permission_removed: bool = Field(
        description="The number was shared with you (by the billing default only) and that "
        "permission went with it; no separate permission.revoked is sent"
    )


class WebhookTest(_Data):
    message: str


class StaffData(_Data):
    email: str
    invite_id: str | None = None
    user_id: str | None = None
    role: str | None = None
    expires_at: datetime | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None


# Sent as webhooks and in the feed.
WEBHOOK_EVENTS: dict[str, type[_Data]] = {
    "client.created": ClientCreated,
    "client.updated": ClientUpdated,
    "channel.created": ChannelCreated,
    "permission.granted": PermissionChanged,
    "permission.revoked": PermissionChanged,
    "api_key.created": ApiKeyCreated,
    "channel.status_changed": StatusChanged,
    "channel.removed": ChannelRemoved,
    "webhook.test": WebhookTest,
}
# The partner's own staff changing: in the feed only, never sent as webhooks.
FEED_ONLY_EVENTS: dict[str, type[_Data]] = {
    name: StaffData
    for name in (
        "staff.invited",
        "staff.invite_revoked",
        "staff.joined",
        "staff.removed",
        "staff.role_changed",
    )
}
EVENTS = {**WEBHOOK_EVENTS, **FEED_ONLY_EVENTS}


def channel_ids(data: dict[str, Any]) -> list[str]:
    """The channels an event is about, whichever way it was stored."""
    ids = data.get("channel_ids") or ([data["channel_id"]] if data.get("channel_id") else [])
    return [str(i) for i in ids]


def data_of(event: AuditEvent) -> dict[str, Any]:
    """The event's `data` in today's vocabulary (`channel_ids` added to older events)."""
    data = dict(event.data)
    if "channel_id" in data and "channel_ids" not in data:
        data["channel_ids"] = channel_ids(data)
    return data
