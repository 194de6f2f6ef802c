"""The client's audit trail as the Activity page lists it: what, which number, who, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import AuditEvent, Client, ClientUser
from onboarding.permissions.audit import VIA, client_trail, describe
from onboarding.permissions.events import iso8601

PAGE_SIZE = 25
# The prefixes of `actor` (see the callers of permissions.events.record) and who they are.
PARTNER_DOORS = {
    "partner_api_key": "Partner API",
    "oauth_client": "Partner API",
    "partner_user": "Partner Hub",
}

# channel.status_changed, in the client's words: what the new status means for it.
STATUS_NOW = {
    "running": "now running: connected to WhatsApp, API keys can be generated",
    "pending": "now pending: being connected to WhatsApp, no new API keys until it runs",
}


@dataclass(frozen=True)
class ActivityRow:
    what: str
    detail: str
    numbers: list[str]
    who: str
    at: datetime
    iso: str


@dataclass(frozen=True)
class ActivityPage:
    rows: list[ActivityRow]
    older: str | None  # the public id to pass as `before` for the next page, None at the end


def activity_page(
    session: Session, client: Client, viewer: ClientUser, before: str | None
) -> ActivityPage:
    """One page of the trail, newest first, below the event `before` (a public id).

    Cursors are event public ids, not integer keys, which never leave the database.
    """
    events = list(client_trail(session, client, before=before, limit=PAGE_SIZE + 1))
    page, more = events[:PAGE_SIZE], len(events) > PAGE_SIZE
    phones = {channel.public_id: channel.phone_number for channel in client.channels}
    users = {
        public_id: email
        for public_id, email in session.execute(
            select(ClientUser.public_id, ClientUser.email).where(ClientUser.client_id == client.id)
        )
    }
    rows = [_row(event, client, viewer, phones, users) for event in page]
    return ActivityPage(rows=rows, older=page[-1].public_id if more else None)


def _row(
    event: AuditEvent,
    client: Client,
    viewer: ClientUser,
    phones: dict[str, str],
    users: dict[str, str],
) -> ActivityRow:
    data = event.data
    ids = data["channel_ids"] if "channel_ids" in data else [data.get("channel_id")]
    numbers = [phones.get(i, i) for i in ids if i]
    return ActivityRow(
        what=describe(event),
        detail=_detail(data),
        numbers=numbers,
        who=who(event.actor, client, viewer, users),
        at=event.created_at,
        iso=iso8601(event.created_at),
    )


def _detail(data: dict[str, object]) -> str:
    if "via" in data:
        via = str(data["via"])
        return f"via {VIA.get(via, via)}"
    if "prefix" in data:
        maker = "you" if data.get("created_by") == "client" else "your partner"
        return f"key {data['prefix']}… made by {maker}"
    if "to" in data:  # channel.status_changed
        return STATUS_NOW.get(str(data["to"]), f"now {data['to']}")
    return ""


def who(actor: str, client: Client, viewer: ClientUser, users: dict[str, str]) -> str:
    kind, _, ident = actor.partition(":")
    if kind == "client_user":
        return "You" if ident == viewer.public_id else users.get(ident, "A user of your account")
    if kind in PARTNER_DOORS:
        return f"{client.partner.brand_name} ({PARTNER_DOORS[kind]})"
    if kind in ("operator", "operator_api"):
        return "Hub support team"
    return "Onboarding Hub"
