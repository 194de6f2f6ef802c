"""The words both hubs' activity pages use for events, how a permission changed, and who did it:
one table each, so that the Partner Hub and the Client Hub never name a thing two ways. An event
type added in `permissions/payloads.py` gets its label here. Marked for translation (lazy: they
are worded when shown, in the reader's language)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# What the screens call each event.
EVENTS = {
    "client.created": _l("Client created"),
    "client.updated": _l("Sharing choice changed"),
    "channel.created": _l("Number added"),
    "permission.granted": _l("Permission granted"),
    "permission.revoked": _l("Permission removed"),
    "api_key.created": _l("API key generated"),
    "channel.status_changed": _l("Status changed"),
    "channel.removed": _l("Number removed"),
    "webhook.test": _l("Test webhook sent"),
    "staff.invited": _l("Invited to the team"),
    "staff.invite_revoked": _l("Invitation withdrawn"),
    "staff.joined": _l("Joined the team"),
    "staff.removed": _l("Removed from the team"),
    "staff.role_changed": _l("Role changed"),
}

# How a permission changed ("Permission granted via ...").
VIA = {
    "billing_default": _l("billing default"),
    "permission_screen": _l("permission screen"),
    "client_hub": _l("Client Hub"),
    "all_channels": _l("“all numbers”"),
    "operator": _l("hub operator"),
}

# The door a partner-side actor came through (payloads.Actor.type).
PARTNER_DOORS = {
    "partner_api_key": _l("Partner API"),
    "oauth_client": _l("Partner API"),
    "partner_user": _l("Partner Hub"),
}
# Who the hub's own operator is, to a client, and to the partner's team.
OPERATOR = _l("Hub support team")
OPERATOR_TO_PARTNER = {
    "operator": _l("Operator (hub staff)"),
    "operator_api": _l("Operator (provisioning system)"),
}
HUB = _l("Onboarding Hub")

# channel.status_changed, in the client's words: what the new status means for it.
STATUS_NOW = {
    "running": _l("now running: connected to WhatsApp, API keys can be generated"),
    "pending": _l("now pending: being connected to WhatsApp, no new API keys until it runs"),
}

# client.updated: the client's choice now, named as the screens offer it.
ALL_NUMBERS = {
    True: _l("All numbers, now and later"),
    False: _l("Only the numbers I select"),
}

# A number's status and a team member's role, as the screens name them.
STATUSES = {"running": _l("Running"), "pending": _l("Pending")}
ROLES = {"owner": _l("Owner"), "member": _l("Member")}


def named(names: dict[str, object], value: object) -> str:
    """A stored value in the reader's words; one the table does not know, as it is."""
    return str(names.get(str(value), value))


def event_label(event_type: str) -> str:
    return str(EVENTS.get(event_type, event_type))


def via_label(via: str) -> str:
    return str(VIA.get(via, via))
