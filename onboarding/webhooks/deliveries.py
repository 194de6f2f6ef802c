"""A partner's webhook deliveries: the log (each event sent, its payload and every attempt) and
redelivery. Called by the Partner API and meant for the Partner Hub's webhook page too.

A delivery is named by its event's id (`ev_…`): an event is delivered through one outbox row, and
that id is also the `webhook-id` the receiver saw. Like the other services these add to the
caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, contains_eager

from onboarding.db import utcnow
from onboarding.errors import Conflict, NotFound
from onboarding.models import AuditEvent, Partner, WebhookAttempt, WebhookOutbox
from onboarding.webhooks.delivery import PENDING

STATUSES = ("pending", "delivered", "failed")


@dataclass(frozen=True)
class Delivery:
    row: WebhookOutbox
    attempts: list[WebhookAttempt]

    @property
    def event(self) -> AuditEvent:
        return self.row.event


def deliveries_query(partner: Partner, status: str | None = None) -> Select[Any]:
    """The partner's outbox rows with their events (for a page keyed on WebhookOutbox.id)."""
    query = (
        select(WebhookOutbox)
        .join(WebhookOutbox.event)
        .where(WebhookOutbox.partner_id == partner.id)
        .options(contains_eager(WebhookOutbox.event))
    )
    if status is not None:
        query = query.where(WebhookOutbox.status == status)
    return query


def with_attempts(session: Session, rows: Sequence[WebhookOutbox]) -> list[Delivery]:
    """Each row with its attempts in the order made, in one query for the whole page."""
    attempts: dict[int, list[WebhookAttempt]] = {row.id: [] for row in rows}
    for attempt in session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.outbox_id.in_(attempts))
        .order_by(WebhookAttempt.id)
    ):
        attempts[attempt.outbox_id].append(attempt)
    return [Delivery(row=row, attempts=attempts[row.id]) for row in rows]


def find_delivery(session: Session, partner: Partner, event_id: str) -> Delivery:
    """The partner's delivery of event `event_id`; another partner's is not found, as is an event
    that was never sent as a webhook (a staff event, or one from before a webhook URL was set)."""
    row = session.scalar(deliveries_query(partner).where(AuditEvent.public_id == event_id))
    if row is None:
        raise NotFound("delivery.unknown", id=event_id)
    return with_attempts(session, [row])[0]


def redeliver(session: Session, partner: Partner, event_id: str) -> Delivery:
    """Send a delivered or failed event again, as soon as a worker is free.

    The row becomes pending again, with its attempts kept. It is older than the partner's other
    pending rows, so it goes first (order per partner is by event). Retries follow the usual
    backoff until a day after the event; past that day it gets this one attempt. A row that is
    still pending is refused (409): it is already on its way, and resetting it would skip its
    backoff.
    """
    delivery = find_delivery(session, partner, event_id)
    if not partner.webhook_url:
        raise Conflict("delivery.no_url")
    # Conditional, so that a worker's claim of a pending row and this change never cross.
    reopened = session.scalar(
        update(WebhookOutbox)
        .where(WebhookOutbox.id == delivery.row.id, WebhookOutbox.status != PENDING)
        .values(status=PENDING, next_attempt_at=utcnow(), leased_until=None)
        .returning(WebhookOutbox.id)
        .execution_options(synchronize_session="fetch")
    )
    if reopened is None:
        raise Conflict("delivery.pending", id=event_id)
    session.refresh(delivery.row)
    return delivery
