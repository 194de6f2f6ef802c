"""The audit trail, which is also the partner's events feed and the webhook outbox's source."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import AuditEvent, Client, Partner, WebhookOutbox
from onboarding.permissions.payloads import Actor, data_of


def record(
    session: Session,
    type: str,
    *,
    partner: Partner,
    client: Client | None,
    actor: str,
    webhook: bool = True,
    **data: Any,
) -> AuditEvent:
    """Add an event (and, unless `webhook` is False, its webhook delivery) to the caller's
    transaction. Events without a webhook still show in the activity pages and the feed."""
    # Hold the partner's row until commit, so that its events get their ids (the feed's and the
    # outbox's order) in commit order: a poller reading `after=<id>` then never skips one.
    # FOR NO KEY UPDATE, not FOR UPDATE: inserting a row that references the partner (a
    # permission, a client) takes FOR KEY SHARE on it, which FOR UPDATE would wait for, so two
    # transactions that had each inserted one would wait for each other (a deadlock).
    session.execute(
        select(Partner.id).where(Partner.id == partner.id).with_for_update(key_share=True)
    )
    if client is not None:
        data = {"client_id": client.public_id, **data}
    if "channel_id" in data:  # one vocabulary: a list, even for one channel
        data["channel_ids"] = [data["channel_id"]]
    event = AuditEvent(
        partner_id=partner.id,
        client_id=client.id if client else None,
        type=type,
        actor=actor,
        data=data,
    )
    session.add(event)
    if webhook and partner.webhook_url:
        session.flush()
        session.add(WebhookOutbox(event_id=event.id, partner_id=partner.id))
    return event


def iso8601(value: datetime) -> str:
    """UTC with a Z, the one timestamp form of the API, the feed and the webhooks."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def as_document(event: AuditEvent) -> dict[str, Any]:
    """`{id, type, created_at, actor, data}`: an event in the feed and in a webhook body alike
    (typed in `payloads.py`)."""
    return {
        "id": event.public_id,
        "type": event.type,
        "created_at": iso8601(event.created_at),
        "actor": Actor.parse(event.actor).public().model_dump(),
        "data": data_of(event),
    }
