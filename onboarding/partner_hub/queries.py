"""What the hub's lists show, read within one partner. Reading only: no rule is decided here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from onboarding import labels
from onboarding.clients.service import search_condition
from onboarding.models import (
    AuditEvent,
    Channel,
    Client,
    ClientUser,
    Partner,
    PartnerUser,
    Permission,
    WebhookAttempt,
    WebhookOutbox,
)
from onboarding.permissions.audit import client_trail, describe, partner_trail
from onboarding.permissions.payloads import channel_ids

PER_PAGE = 25
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _page(session: Session, query: Select[Any], number: int) -> Page[Any]:
    rows = session.scalars(query.offset((number - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    return Page(items=rows[:PER_PAGE], number=number, has_next=len(rows) > PER_PAGE)


def find_clients(session: Session, partner: Partner, q: str, number: int) -> Page[Client]:
    """The partner's clients whose name or partner_payload contains `q`, newest first."""
    query = select(Client).where(Client.partner_id == partner.id).order_by(Client.id.desc())
    if q:
        query = query.where(search_condition(q))
    return _page(session, query, number)


@dataclass(frozen=True)
class NumberCounts:
    numbers: int = 0
    shared: int = 0


def number_counts(session: Session, clients: Sequence[Client]) -> dict[int, NumberCounts]:
    """How many numbers each client has, and how many it shares: counted by the database in one
    query, so that a page of clients costs the same whatever their number counts."""
    rows = session.execute(
        select(Channel.client_id, func.count(Channel.id), func.count(Permission.id))
        .outerjoin(Permission, Permission.channel_id == Channel.id)
        .where(Channel.client_id.in_([client.id for client in clients]))
        .group_by(Channel.client_id)
    )
    counts: defaultdict[int, NumberCounts] = defaultdict(NumberCounts)  # no numbers: 0 of 0
    counts.update({client_id: NumberCounts(n, shared) for client_id, n, shared in rows})
    return counts


# -- webhook deliveries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    row: WebhookOutbox
    attempts: list[WebhookAttempt]


def deliveries(session: Session, partner: Partner, number: int) -> Page[Delivery]:
    """The partner's outbox, newest first, each row with its attempts in the order made."""
    page = _page(
        session,
        select(WebhookOutbox)
        .where(WebhookOutbox.partner_id == partner.id)
        .options(selectinload(WebhookOutbox.event))
        .order_by(WebhookOutbox.id.desc()),
        number,
    )
    attempts: dict[int, list[WebhookAttempt]] = {row.id: [] for row in page.items}
    for attempt in session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.outbox_id.in_(attempts))
        .order_by(WebhookAttempt.id)
    ):
        attempts[attempt.outbox_id].append(attempt)
    items = [Delivery(row=row, attempts=attempts[row.id]) for row in page.items]
    return Page(items=items, number=page.number, has_next=page.has_next)


# -- the audit trail ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One audit event as the activity page shows it."""

    event: AuditEvent
    what: str
    who: str
    client: Client | None
    numbers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Trail:
    entries: list[Entry]
    older: str | None  # the public id to continue below, when there are older events


def activity(
    session: Session,
    partner: Partner,
    *,
    before: str | None = None,
    client: Client | None = None,
    limit: int = PER_PAGE,
) -> Trail:
    """The partner's events (or one client's), newest first, `limit` below event `before`."""
    if client is None:
        found = partner_trail(session, partner, before=before, limit=limit + 1)
    else:
        found = client_trail(session, client, before=before, limit=limit + 1)
    events = list(found[:limit])
    older = events[-1].public_id if len(found) > limit else None
    return Trail(entries=_entries(session, partner, events), older=older)


def _entries(session: Session, partner: Partner, events: list[AuditEvent]) -> list[Entry]:
    client_ids = {event.client_id for event in events if event.client_id is not None}
    clients = {
        client.id: client
        for client in session.scalars(
            select(Client).where(Client.id.in_(client_ids), Client.partner_id == partner.id)
        )
    }
    mentioned = {cid for event in events for cid in channel_ids(event.data)}
    numbers = dict(
        session.execute(
            select(Channel.public_id, Channel.phone_number)
            .join(Client)
            .where(Channel.public_id.in_(mentioned), Client.partner_id == partner.id)
        ).all()
    )
    names = _actor_names(session, partner, {event.actor for event in events})
    return [
        Entry(
            event=event,
            what=_what(event),
            who=names.get(event.actor, event.actor),
            client=clients.get(event.client_id) if event.client_id else None,
            numbers=[numbers.get(cid, cid) for cid in channel_ids(event.data)],
        )
        for event in events
    ]


def _what(event: AuditEvent) -> str:
    text = describe(event)
    data = event.data
    if via := data.get("via"):
        return f"{text} (via {labels.via_label(via)})"
    if event.type == "api_key.created":
        return f"{text} ({data.get('prefix', '')}…, by the {data.get('created_by', '')})"
    if event.type == "channel.status_changed":
        return f"{text}: {data.get('from', '?')} → {data.get('to', '?')}"
    if event.type == "staff.role_changed":
        return f"{text}: {data.get('email', '')}, {data.get('from', '')} → {data.get('to', '')}"
    if event.type.startswith("staff.") and "role" in data:
        return f"{text}: {data.get('email', '')} ({data['role']})"
    if event.type.startswith("staff."):
        return f"{text}: {data.get('email', '')}"
    return text


def _actor_names(session: Session, partner: Partner, actors: set[str]) -> dict[str, str]:
    """Readable names for actor strings such as `partner_user:pu_…`; unknown ones stay as they
    are (and a user of another partner is never named)."""
    ids: dict[str, list[str]] = {}
    for actor in actors:
        kind, _, public_id = actor.partition(":")
        ids.setdefault(kind, []).append(public_id)
    names = {
        "operator": "Operator (hub staff)",
        "operator_api": "Operator (provisioning system)",
    }
    for public_id, email in session.execute(
        select(PartnerUser.public_id, PartnerUser.email).where(
            PartnerUser.public_id.in_(ids.get("partner_user", [])),
            PartnerUser.partner_id == partner.id,
        )
    ):
        names[f"partner_user:{public_id}"] = email
    for public_id, email in session.execute(
        select(ClientUser.public_id, ClientUser.email)
        .join(Client)
        .where(
            ClientUser.public_id.in_(ids.get("client_user", [])),
            Client.partner_id == partner.id,
        )
    ):
        names[f"client_user:{public_id}"] = f"{email} (client)"
    for public_id in ids.get("partner_api_key", []):
        names[f"partner_api_key:{public_id}"] = f"Partner API (key {public_id})"
    for client_id in ids.get("oauth_client", []):
        names[f"oauth_client:{client_id}"] = f"Partner API (OAuth client {client_id})"
    return names
