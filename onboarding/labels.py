"""The words both hubs' activity pages use for events, how a permission changed, and who did it:
one table each, so that the Partner Hub and the Client Hub never name a thing two ways. An event
type added in `permissions/payloads.py` gets its label here."""

from __future__ import annotations

# What the screens call each event.
EVENTS = {
    "client.created": "Client created",
    "channel.created": "Number added",
    "permission.granted": "Permission granted",
    "permission.revoked": "Permission removed",
    "api_key.created": "API key generated",
    "channel.status_changed": "Status changed",
    "channel.removed": "Number removed",
    "webhook.test": "Test webhook sent",
    "staff.invited": "Invited to the team",
    "staff.invite_revoked": "Invitation withdrawn",
    "staff.joined": "Joined the team",
    "staff.removed": "Removed from the team",
    "staff.role_changed": "Role changed",
}

# How a permission changed ("Permission granted via ...").
VIA = {
    "billing_default": "billing default",
    "permission_screen": "permission screen",
    "client_hub": "Client Hub",
    "all_channels": "“all numbers”",
    "operator": "hub operator",
}

# The door a partner-side actor came through (payloads.Actor.type).
PARTNER_DOORS = {
    "partner_api_key": "Partner API",
    "oauth_client": "Partner API",
    "partner_user": "Partner Hub",
}
# Who the hub's own operator is, to a client, and to the partner's team.
OPERATOR = "Hub support team"
OPERATOR_TO_PARTNER = {
    "operator": "Operator (hub staff)",
    "operator_api": "Operator (provisioning system)",
}
HUB = "Onboarding Hub"

# channel.status_changed, in the client's words: what the new status means for it.
STATUS_NOW = {
    "running": "now running: connected to WhatsApp, API keys can be generated",
    "pending": "now pending: being connected to WhatsApp, no new API keys until it runs",
}


def event_label(event_type: str) -> str:
    return EVENTS.get(event_type, event_type)


def via_label(via: str) -> str:
    return VIA.get(via, via)
