"""The client's audit trail as the Activity page lists it: what, which number, who, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding import labels
from onboarding.models import AuditEvent, Client, ClientUser
from onboarding.permissions.audit import client_trail, describe
from onboarding.permissions.events import iso8601
from onboarding.permissions.payloads import Actor, channel_ids

PAGE_SIZE = 25


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
    numbers = [phones.get(i, i) for i in channel_ids(data)]
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
        return f"via {labels.via_label(str(data['via']))}"
    if "prefix" in data:
        maker = "you" if data.get("created_by") == "client" else "your partner"
        return f"key {data['prefix']}… made by {maker}"
    if "to" in data:  # channel.status_changed
        return labels.STATUS_NOW.get(str(data["to"]), f"now {data['to']}")
    return ""


def who(actor: str, client: Client, viewer: ClientUser, users: dict[str, str]) -> str:
    found = Actor.parse(actor)
    if found.type == "client_user":
        return (
            "You"
            if found.id == viewer.public_id
            else users.get(found.id or "", "A user of your account")
        )
    if found.type in labels.PARTNER_DOORS:
        return f"{client.partner.brand_name} ({labels.PARTNER_DOORS[found.type]})"
    if found.type in ("operator", "operator_api"):
        return labels.OPERATOR
    return labels.HUB
