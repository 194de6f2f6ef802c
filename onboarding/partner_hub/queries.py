"""What the hub's lists show, read within one partner. Reading only: no rule is decided here."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from onboarding.activity import Row, for_partner
from onboarding.clients.service import search_condition
from onboarding.models import (
    Channel,
    Client,
    Partner,
    Permission,
    WebhookAttempt,
    WebhookOutbox,
)
from onboarding.permissions.audit import client_trail, partner_trail
from onboarding.permissions.events import as_document
from onboarding.webhooks import deliveries

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
class LogEntry:
    """One delivery as the webhook log shows it: the domain's delivery (row, event, attempts),
    the client it concerns and the payload it sends, pretty-printed."""

    delivery: deliveries.Delivery
    client: Client | None
    payload: str

    @property
    def row(self) -> WebhookOutbox:
        return self.delivery.row

    @property
    def attempts(self) -> list[WebhookAttempt]:
        return self.delivery.attempts

    @property
    def failed_attempts(self) -> int:
        return sum(not ok(attempt) for attempt in self.attempts)

    @property
    def phase(self) -> str:
        """delivered, failed, retrying (pending after a failed attempt), resent (pending after a
        delivered one) or pending (not attempted yet)."""
        if self.row.status != "pending":
            return self.row.status
        if not self.attempts:
            return "pending"
        return "resent" if ok(self.attempts[-1]) else "retrying"


def ok(attempt: WebhookAttempt) -> bool:
    return attempt.status_code is not None and 200 <= attempt.status_code < 300


def webhook_log(session: Session, partner: Partner, number: int) -> Page[LogEntry]:
    """The partner's deliveries, newest first: the same domain query the API's log reads."""
    query = deliveries.deliveries_query(partner).order_by(WebhookOutbox.id.desc())
    page = _page(session, query, number)
    found = deliveries.with_attempts(session, page.items)
    ids = {d.event.client_id for d in found if d.event.client_id is not None}
    clients = {
        client.id: client
        for client in session.scalars(
            select(Client).where(Client.id.in_(ids), Client.partner_id == partner.id)
        )
    }
    items = [
        LogEntry(
            delivery=d,
            client=clients.get(d.event.client_id) if d.event.client_id else None,
            payload=json.dumps(as_document(d.event), indent=2, ensure_ascii=False),
        )
        for d in found
    ]
    return Page(items=items, number=page.number, has_next=page.has_next)


# -- the audit trail ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trail:
    entries: list[Row]  # as the activity page shows them (onboarding/activity.py)
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
    return Trail(entries=for_partner(session, partner, events), older=older)
