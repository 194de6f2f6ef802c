"""Webhook delivery holds no transaction across the network (issue 7, hole 1).

These tests need several connections that really commit, so they run against a database of their
own (a SQLite file, and a PostgreSQL schema when one answers), not inside the rolled-back test
transaction; the app under test binds its sessions to that database's engine.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from onboarding.db import make_engine, utcnow
from onboarding.models import WebhookAttempt, WebhookOutbox
from onboarding.webhooks import worker
from onboarding.webhooks.delivery import LEASE_MARGIN, deliver_due
from tests.api import PartnerAccount, add_client, add_line, api_headers, make_account
from tests.standalone import empty, standalone_app

DEADLINE = 2.0  # seconds; the app's WEBHOOK_DEADLINE in these tests
DRIP = 0.5  # seconds between the slow endpoint's bytes


@pytest.fixture
def live_app(committed: tuple[str, Engine], tmp_path: Path) -> Iterator[Flask]:
    """An app whose sessions commit for real, on a database emptied before each test."""
    url, engine = committed
    empty(engine)
    with standalone_app(
        url,
        BASE_URL="https://hub.test",
        WEBHOOK_ALLOW_PRIVATE=True,
        WEBHOOK_DEADLINE=DEADLINE,
        SQLITE_BUSY_TIMEOUT=3.0,
    ) as app:
        app.instance_path = str(tmp_path)
        yield app


def sessions(app: Flask) -> sessionmaker[Session]:
    maker: sessionmaker[Session] = app.extensions["db"].sessionmaker
    return maker


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def ok(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
    return 200


def rows(session: Session) -> list[WebhookOutbox]:
    return list(
        session.scalars(
            select(WebhookOutbox)
            .order_by(WebhookOutbox.id)
            .execution_options(populate_existing=True)
        )
    )


def attempts(session: Session) -> list[WebhookAttempt]:
    return list(session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))


# --- the slow endpoint ---------------------------------------------------------------------------


@dataclass
class Drip:
    """Reads the whole POST, then answers one byte every DRIP seconds (a status line that would
    take 19 s to arrive), until the client hangs up."""

    url: str = ""
    got_request: threading.Event = field(default_factory=threading.Event)
    hung_up: threading.Event = field(default_factory=threading.Event)
    sent: int = 0


@pytest.fixture
def drip() -> Iterator[Drip]:
    state = Drip()
    server = socket.create_server(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(next(v for k, v in _fields(head) if k == "content-length"))
            while len(body) < length:
                body += conn.recv(4096)
            state.got_request.set()
            for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n":
                if stop.wait(DRIP):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    break
                state.sent += 1
            state.hung_up.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield state
    stop.set()
    server.close()
    thread.join(5)


def _fields(head: bytes) -> Iterator[tuple[str, str]]:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        yield name.strip().lower(), value.strip()


def test_a_slow_endpoint_holds_up_no_one_and_is_cut_at_the_deadline(
    live_app: Flask, drip: Drip
) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        slow = make_account(setup, webhook_url=drip.url)
        add_client(setup, slow)
        other = make_account(setup)
        channel = add_line(setup, add_client(setup, other), shared=True)
        setup.commit()
    made: list[int] = []
    stuck = threading.Thread(target=lambda: made.append(worker.run(live_app, once=True)))
    began = time.monotonic()
    stuck.start()
    assert drip.got_request.wait(10)

    # While the worker waits on the endpoint, the row is leased and committed...
    with sessions(live_app)() as look:
        (row,) = rows(look)
        assert row.leased_until is not None and row.attempts == 0
    # ...and another partner's write goes through at once.
    client = live_app.test_client()
    started = time.monotonic()
    response = client.post(
        other.path(f"/channels/{channel.public_id}/api_keys"), headers=api_headers(other)
    )
    write_took = time.monotonic() - started
    assert response.status_code == 201, response.text
    assert write_took < 1.0
    assert not drip.hung_up.is_set()  # the worker was still waiting all along

    stuck.join(10)
    assert not stuck.is_alive() and made == [1]
    assert time.monotonic() - began < DEADLINE + 2
    with sessions(live_app)() as check:
        (row,) = rows(check)
        (attempt,) = attempts(check)
    assert (attempt.status_code, attempt.error) == (None, "timed out")
    assert DEADLINE * 1000 - 50 <= attempt.duration_ms <= DEADLINE * 1000 + 500
    assert (row.status, row.attempts, row.leased_until) == ("pending", 1, None)
    assert drip.sent <= DEADLINE / DRIP  # a handful of the status line's 38 bytes
    print(f"other partner's write: {write_took * 1000:.0f} ms; attempt: {attempt.duration_ms} ms")


# --- leases --------------------------------------------------------------------------------------


class Killed(BaseException):
    """The worker process dying mid-POST (nothing after the POST runs)."""


def test_a_worker_killed_mid_post_leaves_a_lease_that_runs_out(live_app: Flask) -> None:
    crashed_url = "https://crashed.partner.example/hook"
    with live_app.app_context(), sessions(live_app)() as setup:
        crashed = make_account(setup, webhook_url=crashed_url)
        add_client(setup, crashed)  # its first row: the oldest due, so attempted first
        add_client(setup, crashed)
        bystander = make_account(setup, webhook_url="https://bystander.partner.example/hook")
        add_client(setup, bystander)
        setup.commit()
    clock = Clock()
    posted: list[str] = []

    def die(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        posted.append(headers["webhook-id"])
        raise Killed

    def record(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        posted.append(headers["webhook-id"])
        return 204

    with sessions(live_app)() as first, pytest.raises(Killed):
        deliver_due(first, clock=clock, post=die, deadline=DEADLINE)
    lease = clock.now + timedelta(seconds=DEADLINE) + LEASE_MARGIN
    with sessions(live_app)() as look:
        head, behind, other = rows(look)
        events = [row.event.public_id for row in (head, behind, other)]
        assert posted == events[:1]
        assert (head.leased_until, head.attempts, head.status) == (lease, 0, "pending")
        assert attempts(look) == []  # the attempt in flight is lost, not half-recorded

    # Until the lease runs out that partner waits, its second row too (order per partner),
    # while other partners go on.
    posted.clear()
    clock.now = lease - timedelta(microseconds=1)
    with sessions(live_app)() as second:
        assert deliver_due(second, clock=clock, post=record, deadline=DEADLINE) == 1
    assert posted == events[2:]

    # Then any worker tries it again: at least once, still in order.
    posted.clear()
    clock.now = lease
    with sessions(live_app)() as third:
        assert deliver_due(third, clock=clock, post=record, deadline=DEADLINE) == 2
    assert posted == events[:2]
    with sessions(live_app)() as check:
        assert [(r.status, r.attempts, r.leased_until) for r in rows(check)] == [
            ("delivered", 1, None)
        ] * 3


def test_a_worker_whose_lease_ran_out_records_its_attempt_but_not_the_outcome(
    live_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup, webhook_url="https://late.partner.example/hook")
        add_client(setup, account)
        setup.commit()
    clock = Clock()

    def overrun(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        # This POST outlives its lease (a stalled process, say); meanwhile another worker takes
        # the row over and delivers it.
        clock.now += timedelta(seconds=deadline) + LEASE_MARGIN
        with sessions(live_app)() as other:
            assert deliver_due(other, clock=clock, post=ok, deadline=deadline) == 1
        return 503

    with sessions(live_app)() as late, caplog.at_level("WARNING", "onboarding.webhooks"):
        assert deliver_due(late, clock=clock, post=overrun, deadline=DEADLINE) == 1

    with sessions(live_app)() as check:
        (row,) = rows(check)
        assert (row.status, row.attempts, row.leased_until) == ("delivered", 2, None)
        assert sorted(a.status_code or 0 for a in attempts(check)) == [200, 503]
    assert "lease had run out" in caplog.text


# --- several workers -----------------------------------------------------------------------------


@dataclass
class Call:
    url: str
    event_id: str
    start: float
    end: float


def test_several_workers_deliver_in_parallel_across_partners_in_order_within_one(
    live_app: Flask,
) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        accounts: list[PartnerAccount] = []
        for n in range(3):
            account = make_account(setup, webhook_url=f"https://p{n}.partner.example/hook")
            for _ in range(3):
                add_client(setup, account)
            accounts.append(account)
        setup.commit()
        expected = {
            url: [r.event.public_id for r in rows(setup) if r.partner.webhook_url == url]
            for url in (a.partner.webhook_url for a in accounts)
        }
    calls: list[Call] = []
    lock = threading.Lock()

    def slow_ok(url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        start = time.monotonic()
        time.sleep(0.3)
        with lock:
            calls.append(Call(url, headers["webhook-id"], start, time.monotonic()))
        return 200

    def work() -> None:
        with sessions(live_app)() as session:
            deliver_due(session, post=slow_ok, deadline=DEADLINE)

    workers = [threading.Thread(target=work) for _ in range(3)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(30)

    assert sorted(c.event_id for c in calls) == sorted(
        e for events in expected.values() for e in events
    )  # once each
    for url, events in expected.items():
        mine = sorted((c for c in calls if c.url == url), key=lambda c: c.start)
        assert [c.event_id for c in mine] == events  # in order
        assert all(a.end <= b.start for a, b in pairwise(mine))  # one at a time
    overlapping = max(sum(1 for c in calls if c.start <= t.start < c.end) for t in calls)
    assert overlapping >= 2  # partners were served at the same time
    with sessions(live_app)() as check:
        assert {r.status for r in rows(check)} == {"delivered"}
        assert len(attempts(check)) == 9


# --- SQLite: write-ahead log and busy timeout ----------------------------------------------------


def test_sqlite_files_use_the_write_ahead_log_and_wait_for_locks(live_app: Flask) -> None:
    engine: Engine = live_app.extensions["db"].engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 3000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_in_memory_keeps_its_own_journal() -> None:
    engine = make_engine("sqlite://", sqlite_busy_timeout=1.5)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
