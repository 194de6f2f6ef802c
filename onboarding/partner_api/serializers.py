"""The JSON shapes of the API: declared in contract.py (the document is generated from it), and
every answer the tests receive is checked against that document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onboarding.models import ApiKey, Channel, Client, Consent, Partner
from onboarding.permissions.events import as_document, iso8601
from onboarding.permissions.service import is_shared
from onboarding.webhooks.deliveries import Delivery


def timestamp(value: datetime | None) -> str | None:
    return iso8601(value) if value else None


def partner_json(partner: Partner) -> dict[str, Any]:
    return {
        "id": partner.public_id,
        "name": partner.name,
        "brand_name": partner.brand_name,
        "billing_model": partner.billing_model,
        "sandbox": partner.sandbox,
        "redirect_urls": [entry.url for entry in partner.redirect_urls],
        "webhook_url": partner.webhook_url,
        "created_at": timestamp(partner.created_at),
    }


def client_json(client: Client, *, email_verified: bool) -> dict[str, Any]:
    return {
        "id": client.public_id,
        "name": client.name,
        "partner_payload": client.partner_payload,
        "all_channels": client.all_channels,
        "email_verified": email_verified,
        "created_at": timestamp(client.created_at),
    }


def channel_json(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.public_id,
        "client_id": channel.client.public_id,
        "phone_number": channel.phone_number,
        "name": channel.name,
        "status": channel.status,
        "permission": "shared" if is_shared(channel) else "missing",
        "created_at": timestamp(channel.created_at),
    }


def api_key_json(key: ApiKey, channel: Channel) -> dict[str, Any]:
    return {
        "id": key.public_id,
        "prefix": key.prefix,
        "channel_id": channel.public_id,
        "created_by": key.created_by,
        "created_at": timestamp(key.created_at),
        "revoked_at": timestamp(key.revoked_at),
    }


def consent_json(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.public_id,
        "client_id": consent.client.public_id,
        "action": consent.action,
        "channels": list(consent.channels),
        "revoked": list(consent.revoked),
        "all_channels": consent.all_channels,
        "state": consent.state,
        "created_at": timestamp(consent.created_at),
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """One webhook delivery: the payload sent (the event document) and every attempt."""
    row = delivery.row
    return {
        "id": delivery.event.public_id,
        "type": delivery.event.type,
        "status": row.status,
        "payload": as_document(delivery.event),
        "created_at": timestamp(row.created_at),
        "next_attempt_at": timestamp(row.next_attempt_at) if row.status == "pending" else None,
        "delivered_at": timestamp(row.delivered_at),
        "attempts": [
            {
                "attempted_at": timestamp(attempt.attempted_at),
                "url": attempt.url,
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            }
            for attempt in delivery.attempts
        ],
    }
