"""Reading the audit trail: a partner's (all its clients) and a client's own."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import AuditEvent, Client, Partner

# What the screens call each event.
DESCRIPTIONS = {
    "client.created": "Client created",
    "channel.created": "Number added",
    "permission.granted": "Permission granted",
    "permission.revoked": "Permission removed",
    "api_key.created": "API key generated",
    "webhook.test": "Test webhook sent",
}

# How a permission changed, in the activity pages' words ("Permission granted via ...").
VIA = {
    "billing_default": "billing default",
    "permission_screen": "permission screen",
    "client_hub": "Client Hub",
    "all_channels": "“all numbers”",
    "operator": "hub operator",
}


def partner_trail(
    session: Session, partner: Partner, *, before: int | None = None, limit: int = 50
) -> Sequence[AuditEvent]:
    """The partner's events, newest first, `limit` at a time below event id `before`."""
    query = select(AuditEvent).where(AuditEvent.partner_id == partner.id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()


def client_trail(
    session: Session, client: Client, *, before: int | None = None, limit: int = 50
) -> Sequence[AuditEvent]:
    """The client's own events (its numbers, permissions and keys), newest first."""
    query = select(AuditEvent).where(AuditEvent.client_id == client.id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()


def describe(event: AuditEvent) -> str:
    return DESCRIPTIONS.get(event.type, event.type)
