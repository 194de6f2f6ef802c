"""Delivering the webhook outbox to partners' endpoints.

Guarantees:

- **At least once.** An outbox row is written in the same transaction as the change it reports
  (`permissions.events.record`), so no committed change goes unannounced. A row is final only after
  a 2xx answer (or giving up); an attempt whose answer is lost (timeout, crash after the POST) is
  repeated, so receivers must deduplicate on `webhook-id` (the event id, the same on every attempt).
- **In order per partner.** Only a partner's oldest pending row (by outbox id) is ever attempted;
  the rows behind it wait until it is delivered or has failed for good. Different partners never
  wait for each other: every round gives each partner with a due row one attempt. (Outbox ids
  follow insertion, not commit: two transactions for the same partner that overlap in time may
  commit in the other order, and a row that commits late behind a delivered one is then late.)
- **Every attempt recorded.** Each attempt adds a `WebhookAttempt` (URL, status code or error,
  duration) and is committed on its own, so a crash loses no recorded attempt.
- **One worker per row.** On PostgreSQL a row is locked (`FOR UPDATE SKIP LOCKED`) for its
  attempt; other workers skip it and, since it is still its partner's oldest, that partner too.
  SQLite ignores the lock: run a single worker there.

Each attempt POSTs to the partner's webhook URL as it is *now*, times out after 10 seconds and
follows no redirect (a 3xx counts as a failure). Without a webhook URL any more the row fails.

Backoff after the n-th failed attempt: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every 2 h,
until 24 h after the event was written; the last retry happens at that deadline, and a failure then
marks the row `failed` and lets the partner's next row go: 19 attempts for an event that never
gets a 2xx. A row that waited behind others past its own deadline gets one attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onboarding.db import utcnow
from onboarding.models import Partner, WebhookAttempt, WebhookOutbox
from onboarding.observability import metrics
from onboarding.webhooks import signing

logger = logging.getLogger(__name__)

Post = Callable[[str, bytes, dict[str, str], float], int]
"""`(url, body, headers, timeout) -> status code`; raises OSError (requests' errors are ones)
when no answer came."""

TIMEOUT = 10.0
RETRY_FOR = timedelta(hours=24)
BACKOFF = tuple(timedelta(seconds=s) for s in (5, 30, 2 * 60, 10 * 60, 30 * 60, 60 * 60))
THEN_EVERY = timedelta(hours=2)
MAX_ERROR = 500  # WebhookAttempt.error's length
USER_AGENT = "onboarding-hub-webhooks/1"

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def backoff(failures: int) -> timedelta:
    """How long to wait after the `failures`-th failed attempt of a row (1-based)."""
    return BACKOFF[failures - 1] if failures <= len(BACKOFF) else THEN_EVERY


def post_with_requests(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    # stream=True: only the status line matters, so a large answer body is never downloaded.
    with requests.post(
        url,
        data=body,
        headers={"user-agent": USER_AGENT, **headers},
        timeout=timeout,
        allow_redirects=False,
        stream=True,
    ) as response:
        return response.status_code


def deliver_due(
    session: Session,
    *,
    clock: Callable[[], datetime] = utcnow,
    post: Post = post_with_requests,
) -> int:
    """Attempt every row that is due and first in its partner's line, until none is; return the
    number of attempts made.

    `clock` is read at each attempt (not once per pass), so a slow pass never sends a stale
    `webhook-timestamp` that receivers would refuse.
    """
    made = 0
    while True:
        made_this_round = 0
        for outbox_id in _due_heads(session, clock()):
            row = _lock(session, outbox_id, clock())
            if row is None:  # another worker has it, or delivered it since the round began
                continue
            _attempt(session, row, clock, post)
            session.commit()
            made_this_round += 1
        if not made_this_round:
            return made
        made += made_this_round


def _due_heads(session: Session, now: datetime) -> list[int]:
    """Each partner's oldest pending row, if it is due; longest waiting first."""
    heads = (
        select(func.min(WebhookOutbox.id))
        .where(WebhookOutbox.status == PENDING)
        .group_by(WebhookOutbox.partner_id)
    )
    return list(
        session.scalars(
            select(WebhookOutbox.id)
            .where(WebhookOutbox.id.in_(heads), WebhookOutbox.next_attempt_at <= now)
            .order_by(WebhookOutbox.next_attempt_at, WebhookOutbox.id)
        )
    )


def _lock(session: Session, outbox_id: int, now: datetime) -> WebhookOutbox | None:
    # populate_existing: the session keeps rows from earlier rounds, which another worker may
    # have changed since; the locked row's current values must win.
    return session.scalar(
        select(WebhookOutbox)
        .where(
            WebhookOutbox.id == outbox_id,
            WebhookOutbox.status == PENDING,
            WebhookOutbox.next_attempt_at <= now,
        )
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def _attempt(
    session: Session, row: WebhookOutbox, clock: Callable[[], datetime], post: Post
) -> None:
    # The partner as it is now: its URL or secret may have changed since the session loaded it.
    partner = session.get_one(Partner, row.partner_id, populate_existing=True)
    started = clock()
    attempt = WebhookAttempt(outbox_id=row.id, attempted_at=started, url=partner.webhook_url or "")
    session.add(attempt)
    row.attempts += 1
    if partner.webhook_url is None:
        attempt.error = "webhook URL removed"
        row.status = FAILED
        _log(row, attempt)
        return

    event = row.event
    body = signing.payload(event)
    headers = signing.headers(partner, event.public_id, int(started.timestamp()), body, started)
    began = time.monotonic()
    try:
        attempt.status_code = post(partner.webhook_url, body, headers, TIMEOUT)
    except OSError as error:
        attempt.error = f"{type(error).__name__}: {error}"[:MAX_ERROR]
    attempt.duration_ms = round((time.monotonic() - began) * 1000)

    if attempt.status_code is not None and 200 <= attempt.status_code < 300:
        row.status = DELIVERED
        row.delivered_at = clock()
    else:
        _retry_or_give_up(row, clock())
    _log(row, attempt)


def _retry_or_give_up(row: WebhookOutbox, now: datetime) -> None:
    deadline = row.created_at + RETRY_FOR
    if now >= deadline:
        row.status = FAILED
    else:
        row.next_attempt_at = min(now + backoff(row.attempts), deadline)


def _log(row: WebhookOutbox, attempt: WebhookAttempt) -> None:
    metrics.webhook_attempted(row.status)
    answer = attempt.error or f"HTTP {attempt.status_code}"
    outcome = {
        DELIVERED: "delivered",
        FAILED: "gave up",
        PENDING: f"retry at {row.next_attempt_at:%Y-%m-%d %H:%M:%S}Z",
    }[row.status]
    level = logging.INFO if row.status == DELIVERED else logging.WARNING
    logger.log(
        level,
        "webhook %s (%s, attempt %d) to %s: %s in %d ms; %s",
        row.event.public_id,
        row.event.type,
        row.attempts,
        attempt.url or "(no URL)",
        answer,
        attempt.duration_ms,
        outcome,
    )
