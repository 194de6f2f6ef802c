"""The words both hubs' activity pages use for events, how a permission changed, and who did it:
one table each, so that the Partner Hub and the Client Hub never name a thing two ways. An event
type added in `permissions/payloads.py` gets its label here."""

from __future__ import annotations

from onboarding.refusals import N_

# What the screens call each event (marked: a screen words it with `_()`).
EVENTS = {
    "client.created": N_("Client created"),
    "channel.created": N_("Number added"),
    "permission.granted": N_("Permission granted"),
    "permission.revoked": N_("Permission removed"),
    "api_key.created": N_("API key generated"),
    "channel.status_changed": N_("Status changed"),
    "channel.removed": N_("Number removed"),
    "webhook.test": N_("Test webhook sent"),
    "staff.invited": N_("Invited to the team"),
    "staff.invite_revoked": N_("Invitation withdrawn"),
    "staff.joined": N_("Joined the team"),
    "staff.removed": N_("Removed from the team"),
    "staff.role_changed": N_("Role changed"),
}

# How a permission changed ("Permission granted via ...").
VIA = {
    "billing_default": N_("billing default"),
    "permission_screen": N_("permission screen"),
    "client_hub": N_("Client Hub"),
    "all_channels": N_("“all numbers”"),
    "operator": N_("hub operator"),
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
    "operator": N_("Operator (hub staff)"),
    "operator_api": N_("Operator (provisioning system)"),
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
