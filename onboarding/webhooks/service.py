"""A partner's webhook settings: the URL, the signing secret, and a test event.

Like the permission services these add to the caller's session and never commit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from onboarding.db import utcnow
from onboarding.errors import InvalidInput
from onboarding.models import AuditEvent, Partner, WebhookOutbox
from onboarding.partners.redirects import WebhookUrl
from onboarding.partners.service import lock_partner
from onboarding.permissions import events
from onboarding.security import new_signing_secret

DEFAULT_OVERLAP = timedelta(hours=24)
SECRETS = ("signing_secret", "previous_signing_secret", "previous_signing_secret_until")


def rotate_signing_secret(
    session: Session, partner: Partner, *, overlap: timedelta = DEFAULT_OVERLAP
) -> str:
    """Give the partner a new secret and return it.

    Webhooks carry a second signature with the old secret for `overlap` (none when zero, e.g.
    after a leak). Rotating again within an overlap drops the older secret at once. Callbacks
    (SPEC §5.3) carry one signature and switch to the new secret immediately.
    """
    if overlap < timedelta(0):
        raise InvalidInput("webhook.overlap_negative")
    # Two rotations at once must chain (the second keeps the first's secret as the previous
    # one), or the first's secret, shown once, would be valid nowhere.
    lock_partner(session, partner, *SECRETS)
    if overlap:
        partner.previous_signing_secret = partner.signing_secret
        partner.previous_signing_secret_until = utcnow() + overlap
    else:
        partner.previous_signing_secret = None
        partner.previous_signing_secret_until = None
    partner.signing_secret = new_signing_secret()
    session.flush()
    return partner.signing_secret


def set_webhook_url(session: Session, partner: Partner, url: WebhookUrl | None) -> None:
    """Set (or with None remove) the URL, checked by `check_webhook_url` before the transaction
    began. Pending deliveries go to the URL current at each attempt; once removed they fail at
    their next attempt."""
    partner.webhook_url = url
    session.flush()


def send_test_event(session: Session, partner: Partner, actor: str) -> AuditEvent:
    """Queue a `webhook.test` event like any other, so it proves the whole path end to end.

    It queues behind the partner's undelivered events (order per partner), so those are retried
    now rather than at their backoff time: a partner testing a fixed endpoint wants the backlog
    to flow.
    """
    if not partner.webhook_url:
        raise InvalidInput("webhook.no_url_for_test")
    now = utcnow()
    session.execute(
        update(WebhookOutbox)
        .where(
            WebhookOutbox.partner_id == partner.id,
            WebhookOutbox.status == "pending",
            WebhookOutbox.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
    )
    event = events.record(
        session,
        "webhook.test",
        partner=partner,
        client=None,
        actor=actor,
        message="A test event from the onboarding hub.",
    )
    session.flush()
    return event
