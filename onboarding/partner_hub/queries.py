"""What the hub's lists show, read within one partner. Reading only: no rule is decided here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

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
