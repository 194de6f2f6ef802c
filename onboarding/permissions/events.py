"""The audit trail, which is also the partner's events feed and the webhook outbox's source."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from onboarding.models import AuditEvent, Client, Partner, WebhookOutbox


def record(
    session: Session,
    type: str,
    *,
    partner: Partner,
    client: Client | None,
    actor: str,
    **data: Any,
) -> AuditEvent:
    """Add an event (and its webhook delivery) to the caller's transaction."""
    if client is not None:
        data = {"client_id": client.public_id, **data}
    event = AuditEvent(
        partner_id=partner.id,
        client_id=client.id if client else None,
        type=type,
        actor=actor,
        data=data,
    )
    session.add(event)
    if partner.webhook_url:
        session.flush()
        session.add(WebhookOutbox(event_id=event.id, partner_id=partner.id))
    return event
