"""Webhooks (SPEC §7): Standard Webhooks signatures, the outbox, delivery in order with backoff."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from onboarding.db import utcnow
from onboarding.errors import InvalidInput
from onboarding.models import (
    AuditEvent,
    BillingModel,
    Client,
    Partner,
    Side,
    WebhookAttempt,
    WebhookOutbox,
)
from onboarding.partners.redirects import check_webhook_url
from onboarding.permissions.keys import generate_api_key
from onboarding.webhooks import worker
from onboarding.webhooks.delivery import DEADLINE, RETRY_FOR, backoff, deliver_due
from onboarding.webhooks.service import rotate_signing_secret, send_test_event, set_webhook_url
from onboarding.webhooks.signing import headers, payload, sign
from onboarding.webhooks.transport import DeliveryFailed, Transport
from tests.factories import make_channel, make_client, make_partner

DOWN_URL = "https://down.partner.example/hook"
UP_URL = "https://up.partner.example/hook"
# The receivers below listen on 127.0.0.1, which only a transport for development may reach.
LOCAL = Transport(allow_private=True)


# --- a partner's endpoint, for real -------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Answers 500 to the first `fail_first` requests and 200 afterwards; keeps every request."""

    url: str = ""
    fail_first: int = 0
    redirect_to: str | None = None
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    got_one: threading.Event = field(default_factory=threading.Event)

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.status == 200]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            with receiver.lock:
                status = 500 if len(receiver.requests) < receiver.fail_first else 200
                receiver.requests.append(
                    Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body, status
                    )
                )
            if receiver.redirect_to:
                status = 307
                receiver.requests[-1].status = status
            self.send_response(status)
            if receiver.redirect_to:
                self.send_header("location", receiver.redirect_to)
            self.send_header("content-length", "0")
            self.end_headers()
            receiver.got_one.set()

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep the test output to what the tests print

    return Handler


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    """A local endpoint. The test runs in an app context, so that registering its URL follows
    the test app's WEBHOOK_ALLOW_PRIVATE (on)."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    with app.app_context():
        yield receiver
    server.shutdown()
    server.server_close()
    thread.join()


# --- helpers -------------------------------------------------------------------------------------


class Clock:
    """A fake `now` that only moves when a test moves it."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def drive(db: Session, clock: Clock, post: Any = LOCAL, passes: int = 100) -> None:
    """Run delivery passes, jumping the clock to the next retry, until nothing is pending."""
    for _ in range(passes):
        deliver_due(db, clock=clock, post=post)
        if not db.scalar(select(func.count()).where(WebhookOutbox.status == "pending")):
            return
        # Rows waiting behind their partner's first are due already; the first one's retry is not.
        clock.now = db.scalars(
            select(func.min(WebhookOutbox.next_attempt_at)).where(
                WebhookOutbox.status == "pending", WebhookOutbox.next_attempt_at > clock.now
            )
        ).one()
    pytest.fail(f"still pending after {passes} passes")


def outbox(db: Session, partner: Partner) -> list[WebhookOutbox]:
    return list(
        db.scalars(
            select(WebhookOutbox)
            .where(WebhookOutbox.partner_id == partner.id)
            .order_by(WebhookOutbox.id)
            .execution_options(populate_existing=True)
        )
    )


def attempts(db: Session, row: WebhookOutbox) -> list[WebhookAttempt]:
    return list(
        db.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.outbox_id == row.id)
            .order_by(WebhookAttempt.id)
        )
    )


def event_ids(db: Session, partner: Partner) -> list[str]:
    return [row.event.public_id for row in outbox(db, partner)]


def busy_partner(db: Session, url: str) -> tuple[Partner, Client]:
    """A partner with four events: client.created, channel.created, permission.granted and
    api_key.created."""
    partner = make_partner(db, billing=BillingModel.PARTNER_PAYMENT, webhook_url=url)
    client, _user = make_client(db, partner)
    channel = make_channel(db, client)
    generate_api_key(db, channel, side=Side.PARTNER, actor="test")
    db.flush()
    return partner, client


def verify(secret: str, request: Received) -> Any:
    return Webhook(secret).verify(request.body, request.headers)


# --- signatures ----------------------------------------------------------------------------------


def test_signature_is_the_reference_implementations(db: Session) -> None:
    partner = make_partner(db)
    body = b'{"id":"ev_1","type":"webhook.test"}'
    timestamp = int(utcnow().timestamp())

    ours = sign(partner.signing_secret, "ev_1", timestamp, body)

    theirs = Webhook(partner.signing_secret).sign(
        "ev_1", datetime.fromtimestamp(timestamp, UTC), body.decode()
    )
    assert ours == theirs
    sent = headers(partner, "ev_1", timestamp, body, utcnow())
    assert verify(partner.signing_secret, Received("/", sent, body, 200))["type"] == "webhook.test"


def test_a_changed_body_or_another_secret_does_not_verify(db: Session) -> None:
    partner, other = make_partner(db), make_partner(db)
    body = b'{"id":"ev_1"}'
    sent = headers(partner, "ev_1", int(utcnow().timestamp()), body, utcnow())
    with pytest.raises(WebhookVerificationError):
        verify(partner.signing_secret, Received("/", sent, b'{"id":"ev_2"}', 200))
    with pytest.raises(WebhookVerificationError):
        verify(other.signing_secret, Received("/", sent, body, 200))


def test_both_secrets_verify_during_the_overlap_and_only_the_new_one_after(db: Session) -> None:
    partner = make_partner(db)
    old = partner.signing_secret
    new = rotate_signing_secret(db, partner, overlap=timedelta(hours=24))
    assert new != old and new.startswith("whsec_")
    assert partner.previous_signing_secret == old
    until = partner.previous_signing_secret_until
    assert until is not None
    body = b'{"id":"ev_1"}'
    timestamp = int(utcnow().timestamp())

    during = Received("/", headers(partner, "ev_1", timestamp, body, until - timedelta(1)), body, 0)
    after = Received("/", headers(partner, "ev_1", timestamp, body, until), body, 0)

    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verify(old, during)
    verify(new, during)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verify(new, after)
    with pytest.raises(WebhookVerificationError):
        verify(old, after)


def test_rotating_without_overlap_drops_the_old_secret_at_once(db: Session) -> None:
    partner = make_partner(db)
    old = partner.signing_secret
    rotate_signing_secret(db, partner, overlap=timedelta(0))
    body = b"{}"
    sent = Received(
        "/", headers(partner, "ev_1", int(utcnow().timestamp()), body, utcnow()), body, 0
    )
    assert partner.previous_signing_secret is None
    with pytest.raises(WebhookVerificationError):
        verify(old, sent)


def test_payload_is_compact_stable_and_standard(db: Session) -> None:
    partner, client = busy_partner(db, UP_URL)
    event = outbox(db, partner)[0].event

    first = payload(event)
    db.expire(event)  # read back from the database: the same bytes on every engine
    again = payload(event)

    assert first == again
    document = json.loads(first)
    assert document == {
        "id": event.public_id,
        "type": "client.created",
        "created_at": document["created_at"],
        "actor": {"type": "hub", "id": None},  # made by "test", an actor the hub does not know
        "data": {"client_id": client.public_id, "name": client.name, "partner_payload": None},
    }
    assert document["created_at"].endswith("Z")
    assert datetime.fromisoformat(document["created_at"]) == event.created_at
    assert first == json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


# --- the outbox ----------------------------------------------------------------------------------


def test_a_rolled_back_change_leaves_no_outbox_row(db: Session) -> None:
    partner = make_partner(db, webhook_url=UP_URL)
    db.commit()

    make_client(db, partner)
    db.flush()
    assert len(outbox(db, partner)) == 1  # the row is there while the change is
    db.rollback()

    assert outbox(db, partner) == []
    assert db.scalars(select(AuditEvent).where(AuditEvent.partner_id == partner.id)).all() == []


def test_backoff_schedule() -> None:
    minutes = [backoff(n) / timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [5 / 60, 0.5, 2, 10, 30, 60, 120, 120, 120]


# --- delivery ------------------------------------------------------------------------------------


def test_every_event_arrives_once_in_order_despite_failures(
    db: Session, receiver: Receiver
) -> None:
    receiver.fail_first = 3
    partner, _client = busy_partner(db, receiver.url)
    expected = event_ids(db, partner)
    types = [row.event.type for row in outbox(db, partner)]
    assert types == ["client.created", "channel.created", "permission.granted", "api_key.created"]

    drive(db, Clock())

    # Nothing overtook the first event while it was being retried.
    assert [r.event_id for r in receiver.requests] == [expected[0]] * 4 + expected[1:]
    assert [r.event_id for r in receiver.accepted] == expected
    assert [json.loads(r.body)["id"] for r in receiver.accepted] == expected
    assert {r.path for r in receiver.requests} == {"/hook"}
    for request in receiver.requests:
        # Real time is within the verifier's 5 minutes: the retries took 2 min 35 s of fake time.
        verify(partner.signing_secret, request)
    rows = outbox(db, partner)
    assert {row.status for row in rows} == {"delivered"}
    first = attempts(db, rows[0])
    assert [a.status_code for a in first] == [500, 500, 500, 200]
    assert all(a.url == receiver.url and a.error is None for a in first)
    delays = [b.attempted_at - a.attempted_at for a, b in pairwise(first)]
    assert delays == [backoff(1), backoff(2), backoff(3)]
    assert delays == sorted(delays) and len(set(delays)) == 3
    assert rows[0].attempts == 4 and rows[0].delivered_at == first[-1].attempted_at
    assert [[a.status_code for a in attempts(db, row)] for row in rows[1:]] == [[200]] * 3


def test_a_failing_endpoint_holds_back_only_its_own_partner(db: Session) -> None:
    down = make_partner(db, webhook_url=DOWN_URL)
    up = make_partner(db, webhook_url=UP_URL)
    for partner in (down, up, down, up):
        make_client(db, partner)
    calls: list[str] = []

    def post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        calls.append(url)
        assert deadline == DEADLINE == 15
        if url == DOWN_URL:
            raise ConnectionRefusedError("connection refused")
        return 204

    db.flush()
    clock = Clock()
    assert deliver_due(db, clock=clock, post=post) == 3

    assert sorted(calls) == [DOWN_URL, UP_URL, UP_URL]
    assert [row.status for row in outbox(db, up)] == ["delivered", "delivered"]
    head, behind = outbox(db, down)
    assert (head.status, head.attempts, behind.attempts) == ("pending", 1, 0)
    (attempt,) = attempts(db, head)
    assert attempt.status_code is None
    assert attempt.error == "could not connect"
    assert head.next_attempt_at == clock.now + backoff(1)


def test_a_redirect_is_a_failure_and_not_followed(db: Session, receiver: Receiver) -> None:
    receiver.redirect_to = receiver.url.replace("/hook", "/elsewhere")
    partner = make_partner(db, webhook_url=receiver.url)
    make_client(db, partner)
    db.flush()

    assert deliver_due(db, post=LOCAL) == 1

    assert [r.path for r in receiver.requests] == ["/hook"]
    (row,) = outbox(db, partner)
    assert row.status == "pending"
    (attempt,) = attempts(db, row)
    assert (attempt.status_code, attempt.error) == (307, "redirect not followed (HTTP 307)")


def test_no_answer_is_an_os_error_recorded_as_a_fixed_text_and_logged_in_full(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(OSError) as refused:
        LOCAL(f"http://127.0.0.1:{port}/hook", b"{}", {}, 1)
    assert isinstance(refused.value, DeliveryFailed)
    assert refused.value.shown == "could not connect"
    assert "ConnectionRefusedError" in refused.value.detail

    partner = make_partner(db, webhook_url=DOWN_URL)
    make_client(db, partner)

    def post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        raise TimeoutError("read timed out at 10.1.2.3 " * 100)

    db.flush()
    with caplog.at_level(logging.WARNING, logger="onboarding.webhooks"):
        assert deliver_due(db, clock=Clock(), post=post) == 1
    (row,) = outbox(db, partner)
    (attempt,) = attempts(db, row)
    assert (attempt.error, attempt.status_code) == ("timed out", None)
    assert "timed out (TimeoutError: read timed out at 10.1.2.3" in caplog.text


def test_gives_up_after_a_day_then_delivers_the_next_event(db: Session) -> None:
    partner = make_partner(db, webhook_url=UP_URL)
    make_client(db, partner)
    make_client(db, partner)
    doomed, next_one = outbox(db, partner)
    calls: list[str] = []

    def post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        calls.append(headers["webhook-id"])
        return 400 if headers["webhook-id"] == doomed.event.public_id else 200

    drive(db, Clock(), post)

    doomed, next_one = outbox(db, partner)
    assert doomed.status == "failed" and next_one.status == "delivered"
    tried = attempts(db, doomed)
    assert calls == [doomed.event.public_id] * len(tried) + [next_one.event.public_id]
    assert tried[-1].attempted_at == doomed.created_at + RETRY_FOR  # the last try, at the deadline
    delays = [b.attempted_at - a.attempted_at for a, b in pairwise(tried)]
    assert delays[:-1] == [backoff(n) for n in range(1, len(delays))]
    assert delays[-1] <= backoff(len(delays))
    assert len(tried) == doomed.attempts == 19
    assert all(a.status_code == 400 for a in tried)


def test_attempts_go_to_the_current_url_and_fail_once_it_is_removed(
    db: Session, receiver: Receiver
) -> None:
    partner = make_partner(db, webhook_url=UP_URL)
    make_client(db, partner)
    set_webhook_url(db, partner, check_webhook_url(receiver.url))

    assert deliver_due(db, post=LOCAL) == 1
    assert len(receiver.accepted) == 1

    make_client(db, partner)
    set_webhook_url(db, partner, None)

    def post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        pytest.fail("posted although the partner has no webhook URL")

    assert deliver_due(db, post=post) == 1
    _done, removed = outbox(db, partner)
    assert removed.status == "failed"
    (attempt,) = attempts(db, removed)
    assert (attempt.error, attempt.status_code, attempt.url) == ("webhook URL removed", None, "")


def test_a_url_changed_elsewhere_is_used_by_a_worker_that_saw_the_old_one(
    app: Flask, db: Session
) -> None:
    partner = make_partner(db, webhook_url=DOWN_URL)
    make_client(db, partner)
    db.commit()
    urls: list[str] = []

    def post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        urls.append(url)
        return 200

    with app.extensions["db"].sessionmaker() as worker_session:
        held = worker_session.get(Partner, partner.id)  # the session keeps it, with DOWN_URL
        deliver_due(worker_session, post=post)
        set_webhook_url(db, partner, check_webhook_url(UP_URL))
        make_client(db, partner)
        db.commit()
        deliver_due(worker_session, post=post)

    assert urls == [DOWN_URL, UP_URL]
    assert held is not None and held.webhook_url == UP_URL


def test_a_worker_counts_attempts_another_worker_made(app: Flask, db: Session) -> None:
    partner = make_partner(db, webhook_url=DOWN_URL)
    make_client(db, partner)
    (row,) = outbox(db, partner)
    # Both sessions share the test's connection: each must finish its savepoint before the other
    # (opened earlier) goes on.
    db.commit()

    def refuse(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        return 503

    clock = Clock()
    with app.extensions["db"].sessionmaker() as worker_session:
        held = worker_session.get(WebhookOutbox, row.id)  # attempts 0, as this session saw it
        deliver_due(db, clock=clock, post=refuse)  # the other worker's attempt
        db.commit()
        clock.now += backoff(1)
        deliver_due(worker_session, clock=clock, post=refuse)

    assert held is not None and held.attempts == 2
    assert held.next_attempt_at == clock.now + backoff(2)


@pytest.mark.parametrize(
    "url", ["http://partner.example/hook", "ftp://partner.example/hook", "/hook", " https://x.io"]
)
def test_only_valid_webhook_urls_are_set(db: Session, url: str) -> None:
    partner = make_partner(db, webhook_url=UP_URL)
    with pytest.raises(InvalidInput):
        set_webhook_url(db, partner, check_webhook_url(url))
    assert partner.webhook_url == UP_URL


def test_a_test_event_needs_a_url(db: Session) -> None:
    partner = make_partner(db)
    with pytest.raises(InvalidInput):
        send_test_event(db, partner, actor="partner_user:pu_1")
    assert db.scalars(select(AuditEvent).where(AuditEvent.partner_id == partner.id)).all() == []


def test_a_test_event_is_delivered_and_retries_the_backlog_now(
    db: Session, receiver: Receiver
) -> None:
    partner = make_partner(db, webhook_url=receiver.url)
    make_client(db, partner)
    db.flush()  # the row's next_attempt_at is set now, before deliver_due reads the clock
    receiver.fail_first = 1
    assert deliver_due(db, post=LOCAL) == 1
    (waiting,) = outbox(db, partner)
    assert waiting.next_attempt_at > utcnow()

    event = send_test_event(db, partner, actor="partner_user:pu_1")
    assert deliver_due(db, post=LOCAL) == 2

    assert [r.event_id for r in receiver.accepted] == [waiting.event.public_id, event.public_id]
    assert json.loads(receiver.accepted[-1].body)["type"] == "webhook.test"


def test_a_row_being_delivered_is_skipped_by_another_worker(database: tuple[str, Engine]) -> None:
    _url, engine = database
    # Two workers need two connections, so this test commits, and removes its rows afterwards.
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as setup:
        partner = make_partner(setup, webhook_url=UP_URL)
        make_client(setup, partner)
        setup.commit()
    second_worker: list[int] = []

    def ok(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        return 200

    def post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        # While the first worker posts, the row is leased (and no transaction is open): a second
        # worker runs a whole pass and leaves it alone.
        with sessions() as other:
            if engine.dialect.name == "postgresql":
                # Were anything still locked, it would wait; fail instead of hanging.
                other.execute(text("SET LOCAL lock_timeout = '2s'"))
            row = other.scalars(select(WebhookOutbox).where(WebhookOutbox.partner_id == partner.id))
            leased_until = row.one().leased_until
            assert leased_until is not None and leased_until > utcnow()
            second_worker.append(deliver_due(other, post=ok))
        return 200

    try:
        with sessions() as first:
            assert deliver_due(first, post=post) == 1
            (row,) = outbox(first, partner)
        assert second_worker == [0]
        assert (row.status, row.attempts, row.leased_until) == ("delivered", 1, None)
    finally:
        with sessions.begin() as cleanup:
            for table in (WebhookOutbox, AuditEvent, Client):
                cleanup.execute(delete(table).where(table.partner_id == partner.id))
            cleanup.execute(delete(Partner).where(Partner.id == partner.id))


# --- the worker and the CLI ----------------------------------------------------------------------


def test_work_once_delivers_and_logs_every_attempt(
    runner: FlaskCliRunner, db: Session, receiver: Receiver
) -> None:
    partner, _client = busy_partner(db, receiver.url)
    db.commit()

    result = runner.invoke(args=["webhooks", "work", "--once"])

    assert result.exit_code == 0, result.output
    assert "4 delivery attempt(s) made." in result.stdout
    assert result.stderr.count("HTTP 200") == 4 and result.stderr.count("; delivered") == 4
    assert [r.event_id for r in receiver.accepted] == event_ids(db, partner)
    assert [row.status for row in outbox(db, partner)] == ["delivered"] * 4


def test_work_once_stops_at_a_failure_and_logs_the_retry(
    runner: FlaskCliRunner, db: Session, receiver: Receiver
) -> None:
    receiver.fail_first = 1
    partner, _client = busy_partner(db, receiver.url)
    db.commit()

    result = runner.invoke(args=["webhooks", "work", "--once"])

    assert result.exit_code == 0, result.output
    assert "1 delivery attempt(s) made." in result.stdout
    assert "WARNING" in result.stderr and "HTTP 500" in result.stderr
    assert "retry at" in result.stderr
    assert [row.attempts for row in outbox(db, partner)] == [1, 0, 0, 0]


def test_worker_thread_delivers_until_stopped(app: Flask, db: Session, receiver: Receiver) -> None:
    partner = make_partner(db, webhook_url=receiver.url)
    make_client(db, partner)
    db.commit()

    stop = worker.start_in_thread(app)
    (thread,) = [t for t in threading.enumerate() if t.name == "webhook-worker"]
    assert thread.daemon
    assert receiver.got_one.wait(10)
    stop.set()
    thread.join(10)

    assert not thread.is_alive()
    assert [r.event_id for r in receiver.accepted] == event_ids(db, partner)
    assert [row.status for row in outbox(db, partner)] == ["delivered"]


def test_worker_survives_a_failed_pass(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()

    def broken_pass(*args: Any, **kwargs: Any) -> int:
        stop.set()
        raise RuntimeError("database is down")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(worker, "deliver_due", broken_pass)
        with caplog.at_level(logging.ERROR, logger="onboarding.webhooks"):
            assert worker.run(app, stop=stop, interval=0.01) == 0
        with pytest.raises(RuntimeError):
            worker.run(app, once=True)

    assert "Webhook delivery pass failed" in caplog.text


def test_rotate_secret_prints_the_new_secret(runner: FlaskCliRunner, db: Session) -> None:
    partner = make_partner(db)
    old = partner.signing_secret
    db.commit()

    result = runner.invoke(
        args=["webhooks", "rotate-secret", "--partner", partner.public_id, "--json"]
    )

    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    db.refresh(partner)
    assert out["partner_id"] == partner.public_id
    assert out["signing_secret"] == partner.signing_secret != old
    assert partner.previous_signing_secret == old
    until = datetime.fromisoformat(out["previous_secret_valid_until"])
    assert until == partner.previous_signing_secret_until
    assert timedelta(hours=23) < until - utcnow() <= timedelta(hours=24)


def test_rotate_secret_refuses_an_unknown_partner(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["webhooks", "rotate-secret", "--partner", "pa_nope"])
    assert result.exit_code == 1
    assert "No partner pa_nope." in result.output
