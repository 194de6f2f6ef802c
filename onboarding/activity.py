"""One presenter for both hubs' activity pages: an audit event as a row (what, detail, numbers,
who, when), in the words of its reader. The Partner Hub's reader is the partner's team, the
Client Hub's is one of the client's users; the labels are `labels.py`'s, the payload vocabulary
(`channel_ids`, `Actor`) `permissions/payloads.py`'s. Reading only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding import labels
from onboarding.models import AuditEvent, Channel, Client, ClientUser, Partner, PartnerUser
from onboarding.permissions.events import iso8601
from onboarding.permissions.payloads import Actor, channel_ids


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    what: str
    detail: str
    numbers: list[str]
    who: str
    client: Client | None
    at: datetime
    iso: str


def for_partner(session: Session, partner: Partner, events: list[AuditEvent]) -> list[Row]:
    """Rows for the partner's team: clients and staff named, details inline in `what`."""
    clients = {
        client.id: client
        for client in session.scalars(
            select(Client).where(
                Client.id.in_({e.client_id for e in events if e.client_id is not None}),
                Client.partner_id == partner.id,
            )
        )
    }
    numbers = _numbers(session, events, Client.partner_id == partner.id)
    names = _partner_names(session, partner, events)
    return [
        _row(
            event,
            what=_partner_what(event),
            detail="",
            numbers=numbers,
            who=names.get(event.actor, event.actor),
            client=clients.get(event.client_id) if event.client_id else None,
        )
        for event in events
    ]


def for_client(
    session: Session, client: Client, viewer: ClientUser, events: list[AuditEvent]
) -> list[Row]:
    """Rows for a user of the client: "You", the partner's brand, details in plain words."""
    numbers = _numbers(session, events, Channel.client_id == client.id)
    users = dict(
        session.execute(
            select(ClientUser.public_id, ClientUser.email).where(ClientUser.client_id == client.id)
        ).all()
    )
    return [
        _row(
            event,
            what=labels.event_label(event.type),
            detail=_client_detail(event.data, client),
            numbers=numbers,
            who=_client_who(Actor.parse(event.actor), client, viewer, users),
            client=client,
        )
        for event in events
    ]


def _row(
    event: AuditEvent,
    *,
    what: str,
    detail: str,
    numbers: dict[str, str],
    who: str,
    client: Client | None,
) -> Row:
    return Row(
        event=event,
        what=what,
        detail=detail,
        numbers=[
            numbers.get(cid) or _recorded_number(event, cid) for cid in channel_ids(event.data)
        ],
        who=who,
        client=client,
        at=event.created_at,
        iso=iso8601(event.created_at),
    )


def _numbers(session: Session, events: list[AuditEvent], scope: Any) -> dict[str, str]:
    """The phone numbers of the channels the events name, in one query, within the reader's
    own channels (an id outside them stays an id)."""
    mentioned = {cid for event in events for cid in channel_ids(event.data)}
    if not mentioned:
        return {}
    return dict(
        session.execute(
            select(Channel.public_id, Channel.phone_number)
            .join(Client)
            .where(Channel.public_id.in_(mentioned), scope)
        ).all()
    )


def _recorded_number(event: AuditEvent, channel_id: str) -> str:
    """A channel that is gone (removed, `channel.removed`) is named by the number its one-channel
    events recorded; otherwise it stays an id."""
    data = event.data
    if channel_ids(data) == [channel_id] and data.get("phone_number"):
        return str(data["phone_number"])
    return channel_id


def _partner_what(event: AuditEvent) -> str:
    """What happened, in the partner team's language (the labels are `labels.py`'s)."""
    text = str(labels.event_label(event.type))
    data = event.data
    if via := data.get("via"):
        return str(gettext("%(what)s (via %(via)s)", what=text, via=labels.via_label(via)))
    if event.type == "api_key.created":
        prefix = data.get("prefix", "")
        if data.get("created_by") == "client":
            return str(gettext("%(what)s (%(prefix)s…, by the client)", what=text, prefix=prefix))
        return str(gettext("%(what)s (%(prefix)s…, by the partner)", what=text, prefix=prefix))
    if event.type == "client.updated":
        return f"{text}: {labels.ALL_NUMBERS[bool(data.get('all_channels'))]}"
    if event.type == "channel.status_changed":
        was, now = (labels.named(labels.STATUSES, data.get(end, "?")) for end in ("from", "to"))
        return f"{text}: {was} → {now}"
    if event.type == "staff.role_changed":
        was, now = (labels.named(labels.ROLES, data.get(end, "")) for end in ("from", "to"))
        return f"{text}: {data.get('email', '')}, {was} → {now}"
    if event.type.startswith("staff.") and "role" in data:
        return f"{text}: {data.get('email', '')} ({labels.named(labels.ROLES, data['role'])})"
    if event.type.startswith("staff."):
        return f"{text}: {data.get('email', '')}"
    return text


def _client_detail(data: dict[str, Any], client: Client) -> str:
    """In the client's words; the partner named by its brand, as on the Numbers page."""
    if "via" in data:
        return str(gettext("via %(way)s", way=labels.via_label(str(data["via"]))))
    if "prefix" in data:
        if data.get("created_by") == "client":
            return str(gettext("key %(prefix)s… made by you", prefix=data["prefix"]))
        return str(
            gettext(
                "key %(prefix)s… made by %(brand)s",
                prefix=data["prefix"],
                brand=client.partner.brand_name,
            )
        )
    if "all_channels" in data:  # client.updated
        return str(labels.ALL_NUMBERS[bool(data["all_channels"])])
    if "to" in data:  # channel.status_changed
        now = labels.STATUS_NOW.get(str(data["to"]))
        return str(now) if now else str(gettext("now %(status)s", status=data["to"]))
    return ""


def _client_who(actor: Actor, client: Client, viewer: ClientUser, users: dict[str, str]) -> str:
    """One name per actor: "You", a colleague's e-mail, "<brand> (<door>)", the support team."""
    if actor.type == "client_user":
        if actor.id == viewer.public_id:
            return str(gettext("You"))
        return users.get(actor.id or "", str(gettext("A user of your account")))
    if actor.type in labels.PARTNER_DOORS:
        door = labels.PARTNER_DOORS[actor.type]
        return str(gettext("%(brand)s (%(door)s)", brand=client.partner.brand_name, door=door))
    if actor.type in ("operator", "operator_api"):
        return str(labels.OPERATOR)
    return str(labels.HUB)


def _partner_names(session: Session, partner: Partner, events: list[AuditEvent]) -> dict[str, str]:
    """Readable names for the actors, by their recorded strings; unknown ones stay as they are
    (and a user of another partner is never named)."""
    actors = [(event.actor, Actor.parse(event.actor)) for event in events]
    ids: dict[str, set[str]] = {}
    for _recorded, actor in actors:
        ids.setdefault(actor.type, set()).add(actor.id or "")
    names: dict[str, str] = {}
    for recorded, actor in actors:
        if actor.type in labels.OPERATOR_TO_PARTNER:
            names[recorded] = str(labels.OPERATOR_TO_PARTNER[actor.type])
        elif actor.type == "partner_api_key":
            names[recorded] = gettext("Partner API (key %(id)s)", id=actor.id)
        elif actor.type == "oauth_client":
            names[recorded] = gettext("Partner API (OAuth client %(id)s)", id=actor.id)
    for public_id, email in session.execute(
        select(PartnerUser.public_id, PartnerUser.email).where(
            PartnerUser.public_id.in_(ids.get("partner_user", set())),
            PartnerUser.partner_id == partner.id,
        )
    ):
        names[f"partner_user:{public_id}"] = email
    for public_id, email in session.execute(
        select(ClientUser.public_id, ClientUser.email)
        .join(Client)
        .where(
            ClientUser.public_id.in_(ids.get("client_user", set())),
            Client.partner_id == partner.id,
        )
    ):
        names[f"client_user:{public_id}"] = gettext("%(email)s (client)", email=email)
    return names
