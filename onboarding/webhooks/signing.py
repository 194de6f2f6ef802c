"""Standard Webhooks payloads and signatures (https://www.standardwebhooks.com).

A partner verifies with any Standard Webhooks library, e.g. `Webhook(secret).verify(body, headers)`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

from onboarding.models import AuditEvent, Partner
from onboarding.permissions import events
from onboarding.security import signing_key


def payload(event: AuditEvent) -> bytes:
    """The body: `{id, type, created_at, data}`, compact with sorted keys, so every attempt of an
    event sends the same bytes whichever engine stored its data."""
    return json.dumps(events.as_document(event), separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "msg_id.timestamp.body">`, keyed with the decoded secret."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    partner: Partner, msg_id: str, timestamp: int, body: bytes, now: datetime
) -> dict[str, str]:
    """The request headers. During a rotation's overlap the old secret signs too, so a receiver
    still holding it keeps verifying until it switches."""
    secrets = [partner.signing_secret]
    until = partner.previous_signing_secret_until
    if partner.previous_signing_secret and until is not None and now < until:
        secrets.append(partner.previous_signing_secret)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
    }
