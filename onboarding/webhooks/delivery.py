"""Delivering the webhook outbox to partners' endpoints.

Guarantees:

- **No transaction across network I/O.** An attempt is three steps: a short transaction claims
  the row (sets `leased_until` to now + deadline + `LEASE_MARGIN`) and reads everything the
  request needs (URL, secrets, body, headers), and commits; the POST runs with no transaction
  open; a second short transaction records the `WebhookAttempt` and the outcome and clears the
  lease. A slow endpoint therefore holds no lock that any other write waits for (issue 7, hole 1).
- **A deadline per attempt.** Name lookup, connect, TLS, sending and reading the status line
  together take at most `WEBHOOK_DEADLINE` seconds (15 by default); a slower endpoint's attempt is
  cut there and recorded as "timed out" (`transport.py`).
- **At least once.** An outbox row is written in the same transaction as the change it reports
  (`permissions.events.record`), so no committed change goes unannounced. A row is final only after
  a 2xx answer (or giving up); an attempt whose answer is lost is repeated, so receivers must
  deduplicate on `webhook-id` (the event id, the same on every attempt). A worker that dies
  mid-POST leaves its lease behind, unrecorded; once the lease runs out any worker tries the row
  again.
- **In order per partner.** Only a partner's oldest pending row (by outbox id) is ever attempted,
  and only while it is not leased: a partner whose first row is out with a worker waits, its
  later rows included. The rows behind the first wait until it is delivered or has failed for
  good. Different partners never wait for each other: every round gives each partner with a due
  row one attempt. (Outbox ids follow insertion, not commit: two transactions for the same
  partner that overlap in time may commit in the other order, and a row that commits late behind
  a delivered one is then late.)
- **One worker per row, any number of workers.** The claim is a single conditional UPDATE (the
  row must be pending, due and not leased), on PostgreSQL over `FOR UPDATE SKIP LOCKED`, so two
  workers never both claim a row, and on PostgreSQL never wait for each other: several workers
  deliver in parallel across partners and still in order within one. SQLite serialises the
  claims on its write lock (short), so several workers are correct there too.
- **Every attempt recorded.** Each attempt adds a `WebhookAttempt` (URL, status code or a fixed
  error text, duration), committed with its outcome, so a crash loses at most the attempt in
  flight. The partner sees only "destination not allowed", "could not connect", "timed out",
  "TLS error", "redirect not followed (HTTP 3xx)" or the status; the detail goes to the log.

Each attempt POSTs to the partner's webhook URL as it is *now*, to an address checked again at
that moment (`destination.py`: no loopback, private, link-local, metadata... addresses unless
`WEBHOOK_ALLOW_PRIVATE`), and follows no redirect (a 3xx counts as a failure). Without a webhook URL
any more the row fails.

Backoff after the n-th failed attempt: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every 2 h,
until 24 h after the event was written; the last retry happens at that deadline, and a failure then
marks the row `failed` and lets the partner's next row go: 19 attempts for an event that never
gets a 2xx. A row that waited behind others past its own deadline gets one attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from onboarding.db import utcnow
from onboarding.models import Partner, WebhookAttempt, WebhookOutbox
from onboarding.observability import metrics
from onboarding.webhooks import signing
from onboarding.webhooks.transport import Transport, describe_failure

logger = logging.getLogger(__name__)

Post = Callable[[str, bytes, dict[str, str], float], int]
"""`(url, body, headers, deadline) -> status code`: the whole call ends within `deadline`
seconds; raises OSError (`transport.DeliveryFailed` says what the partner may see) when no
status came."""

DEADLINE = 15.0
LEASE_MARGIN = timedelta(seconds=30)  # for recording the outcome after the deadline
RETRY_FOR = timedelta(hours=24)
BACKOFF = tuple(timedelta(seconds=s) for s in (5, 30, 2 * 60, 10 * 60, 30 * 60, 60 * 60))
THEN_EVERY = timedelta(hours=2)
MAX_ERROR = 500  # WebhookAttempt.error's length
URL_REMOVED = "webhook URL removed"

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def backoff(failures: int) -> timedelta:
    """How long to wait after the `failures`-th failed attempt of a row (1-based)."""
    return BACKOFF[failures - 1] if failures <= len(BACKOFF) else THEN_EVERY


def redirect_not_followed(status: int) -> str:
    return f"redirect not followed (HTTP {status})"


@dataclass(frozen=True)
class _Claim:
    """What one attempt needs, read in the claiming transaction."""

    outbox_id: int
    lease: datetime
    attempts: int  # before this one
    created_at: datetime
    event_id: str
    event_type: str
    url: str | None
    body: bytes
    headers: dict[str, str]
    started: datetime


@dataclass(frozen=True)
class _Answer:
    status_code: int | None
    error: str | None
    detail: str
    duration_ms: int


def deliver_due(
    session: Session,
    *,
    clock: Callable[[], datetime] = utcnow,
    post: Post | None = None,
    deadline: float = DEADLINE,
) -> int:
    """Attempt every row that is due and first in its partner's line, until none is; return the
    number of attempts made. `post` defaults to a `Transport` that refuses private addresses.

    `clock` is read at each attempt (not once per pass), so a slow pass never sends a stale
    `webhook-timestamp` that receivers would refuse.
    """
    post = post or Transport()
    made = 0
    while True:
        made_this_round = 0
        heads = _due_heads(session, clock())
        session.commit()  # end the read: nothing stays open while posting
        for outbox_id in heads:
            claim = _claim(session, outbox_id, clock(), deadline)
            if claim is None:  # another worker has it, or delivered it since the round began
                continue
            answer = _send(claim, post, deadline)
            _record(session, claim, answer, clock)
            made_this_round += 1
        if not made_this_round:
            return made
        made += made_this_round


def _due_heads(session: Session, now: datetime) -> list[int]:
    """Each partner's oldest pending row, if it is due and not leased; longest waiting first."""
    heads = (
        select(func.min(WebhookOutbox.id))
        .where(WebhookOutbox.status == PENDING)
        .group_by(WebhookOutbox.partner_id)
    )
    return list(
        session.scalars(
            select(WebhookOutbox.id)
            .where(WebhookOutbox.id.in_(heads), WebhookOutbox.next_attempt_at <= now, _free(now))
            .order_by(WebhookOutbox.next_attempt_at, WebhookOutbox.id)
        )
    )


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(WebhookOutbox.leased_until.is_(None), WebhookOutbox.leased_until <= now)


def _claim(session: Session, outbox_id: int, now: datetime, deadline: float) -> _Claim | None:
    """Lease the row and read what its attempt needs, in one short committed transaction.

    The UPDATE comes first so that SQLite takes its write lock at the start of the transaction
    (a read first, then a write, fails at once if another writer committed in between).
    """
    lease = now + timedelta(seconds=deadline) + LEASE_MARGIN
    claimable = (
        select(WebhookOutbox.id)
        .where(
            WebhookOutbox.id == outbox_id,
            WebhookOutbox.status == PENDING,
            WebhookOutbox.next_attempt_at <= now,
            _free(now),
        )
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has no row locks
    )
    claimed = session.scalar(
        update(WebhookOutbox)
        .where(WebhookOutbox.id.in_(claimable))
        .values(leased_until=lease)
        .returning(WebhookOutbox.id)
        .execution_options(synchronize_session=False)
    )
    if claimed is None:
        session.rollback()
        return None
    # populate_existing: the session may hold these from earlier rounds, changed since.
    row = session.get_one(WebhookOutbox, outbox_id, populate_existing=True)
    partner = session.get_one(Partner, row.partner_id, populate_existing=True)
    event = row.event
    body = signing.payload(event)
    headers = (
        signing.headers(partner, event.public_id, int(now.timestamp()), body, now)
        if partner.webhook_url
        else {}
    )
    claim = _Claim(
        outbox_id=row.id,
        lease=lease,
        attempts=row.attempts,
        created_at=row.created_at,
        event_id=event.public_id,
        event_type=event.type,
        url=partner.webhook_url,
        body=body,
        headers=headers,
        started=now,
    )
    session.commit()
    return claim


def _send(claim: _Claim, post: Post, deadline: float) -> _Answer:
    """The POST, with no transaction open."""
    if claim.url is None:
        return _Answer(None, URL_REMOVED, URL_REMOVED, 0)
    began = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        status = post(claim.url, claim.body, claim.headers, deadline)
        detail = f"HTTP {status}"
        if 300 <= status < 400:
            error = detail = redirect_not_followed(status)
    except OSError as failure:
        error, detail = describe_failure(failure)
    duration_ms = round((time.monotonic() - began) * 1000)
    return _Answer(status, error and error[:MAX_ERROR], detail, duration_ms)


def _record(
    session: Session, claim: _Claim, answer: _Answer, clock: Callable[[], datetime]
) -> None:
    """Add the attempt, set the outcome and drop the lease, in one short transaction."""
    now = clock()
    attempts = claim.attempts + 1
    outcome: dict[str, object] = {"leased_until": None}
    if answer.status_code is not None and 200 <= answer.status_code < 300:
        outcome.update(status=DELIVERED, delivered_at=now)
    elif answer.error == URL_REMOVED or now >= claim.created_at + RETRY_FOR:
        outcome.update(status=FAILED)
    else:
        outcome.update(next_attempt_at=min(now + backoff(attempts), claim.created_at + RETRY_FOR))
    # Only while the lease is still ours: had it run out, another worker owns the outcome now.
    kept = session.scalar(
        update(WebhookOutbox)
        .where(WebhookOutbox.id == claim.outbox_id, WebhookOutbox.leased_until == claim.lease)
        .values(attempts=WebhookOutbox.attempts + 1, **outcome)
        .returning(WebhookOutbox.id)
        .execution_options(synchronize_session="fetch")
    )
    if kept is None:
        session.execute(
            update(WebhookOutbox)
            .where(WebhookOutbox.id == claim.outbox_id)
            .values(attempts=WebhookOutbox.attempts + 1)
            .execution_options(synchronize_session="fetch")
        )
    session.add(
        WebhookAttempt(
            outbox_id=claim.outbox_id,
            attempted_at=claim.started,
            url=claim.url or "",
            status_code=answer.status_code,
            error=answer.error,
            duration_ms=answer.duration_ms,
        )
    )
    session.commit()
    _log(claim, answer, attempts, outcome if kept is not None else None)


def _log(claim: _Claim, answer: _Answer, attempts: int, outcome: dict[str, object] | None) -> None:
    if outcome is None:
        result = "lease had run out; another worker decides the outcome"
    elif outcome.get("status") == DELIVERED:
        result = "delivered"
    elif outcome.get("status") == FAILED:
        result = "gave up"
    else:
        result = f"retry at {outcome['next_attempt_at']:%Y-%m-%d %H:%M:%S}Z"
    if outcome is not None:
        metrics.webhook_attempted(str(outcome.get("status", PENDING)))
    level = logging.INFO if result == "delivered" else logging.WARNING
    logger.log(
        level,
        "webhook %s (%s, attempt %d) to %s: %s in %d ms; %s",
        claim.event_id,
        claim.event_type,
        attempts,
        claim.url or "(no URL)",
        answer.detail
        if answer.error in (None, answer.detail)
        else f"{answer.error} ({answer.detail})",
        answer.duration_ms,
        result,
    )
