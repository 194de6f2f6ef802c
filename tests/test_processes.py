"""Several processes on one PostgreSQL (issue 8, item 2): two servers and two webhook workers.

Real subprocesses, as production runs them (`onboarding serve`, which is waitress, and
`onboarding webhooks work`), on one PostgreSQL schema of their own, driven over HTTP: consents
and key generations spread over both servers, every webhook received by a local endpoint that
notes which worker process sent it. Then one worker is killed (`kill -9`) in the middle of a
POST, and the other delivers that event once the lease has run out.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from onboarding import create_app
from onboarding.models import ClientUser, Partner, WebhookAttempt, WebhookOutbox
from onboarding.webhooks.delivery import LEASE_MARGIN
from tests.api import PartnerAccount, add_client, add_line, make_account
from tests.conftest import CSRF, FLOW
from tests.databases import backends, migrated_database
from tests.factories import PASSWORD, REDIRECT_URL
from tests.test_concurrency import together

pytestmark = pytest.mark.skipif(
    "postgresql" not in backends(), reason="several processes need PostgreSQL"
)

DEADLINE = 3  # ONBOARDING_WEBHOOK_DEADLINE; a lease lasts this plus LEASE_MARGIN
SECRET_KEY = "processes-test-secret-key-shared-by-both-servers"
PARTNERS, CLIENTS = 3, 3


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Processes:
    """The subprocesses a test started; every one is ended when the test ends, pass or fail."""

    workdir: Path
    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        command = [sys.executable, "-c", "from onboarding.cli import main; main()", *args]
        process = subprocess.Popen(  # noqa: S603  (our own interpreter, fixed arguments)
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()  # the child holds its own copy
        self.started.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.workdir.glob("*.log"))
        )

    def tracebacks(self) -> list[str]:
        """The logs in which a process reported an exception (a 500, a failed pass)."""
        return [
            path.name
            for path in sorted(self.workdir.glob("*.log"))
            if "Traceback" in path.read_text(errors="replace")
        ]

    def end_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    with migrated_database("postgresql", tmp_path_factory.mktemp("processes")) as database:
        yield database


@pytest.fixture
def processes(database: tuple[str, Engine], tmp_path: Path) -> Iterator[Processes]:
    url, _engine = database
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONBOARDING_")}
    env.update(
        ONBOARDING_DATABASE_URL=url,
        ONBOARDING_SECRET_KEY=SECRET_KEY,  # one key: a login on one server holds on the other
        ONBOARDING_BASE_URL="https://hub.test",
        ONBOARDING_INSTANCE_PATH=str(tmp_path / "instance"),
        ONBOARDING_WEBHOOK_ALLOW_PRIVATE="1",  # the receiver listens on 127.0.0.1
        ONBOARDING_WEBHOOK_DEADLINE=str(DEADLINE),
        # Real argon2 on a loaded machine: wait for a hashing slot rather than answer 503 (busy);
        # capacity is not what this test is about.
        ONBOARDING_PASSWORD_HASH_WAIT="30",
        PYTHONUNBUFFERED="1",
    )
    running = Processes(tmp_path, env)
    try:
        yield running
    finally:
        running.end_all()


def serve(processes: Processes, name: str) -> str:
    port = free_port()
    processes.start(name, "serve", "--port", str(port), "--threads", "8")
    return f"http://127.0.0.1:{port}"


def wait_until(ready: Callable[[], bool], timeout: float, what: str, logs: Processes) -> None:
    end = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout} s\n{logs.logs()}")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/login", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


# --- the partners' webhook endpoint --------------------------------------------------------------


def sender_of(connection: tuple[str, int], port: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the TCP connection from `connection` to our `port` (Linux /proc):
    the socket's inode from the connection table, then the process with that socket open."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:]
        for fields in (line.split() for line in lines):
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == connection[1] and (
                int(remote.rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(f"socket:[{inode}]")
    for pid in pids:
        try:
            if any(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
        except OSError:
            continue  # the process has ended, or the descriptor closed meanwhile
    return None


@dataclass
class Delivery:
    path: str
    event_id: str
    pid: int | None
    at: float


class Receiver:
    """Partners' webhook endpoints at http://127.0.0.1:<port>/<name>: verifies each delivery's
    signature, notes it and which worker process sent it, and answers 200 after a moment (so
    that the workers overlap). The first POST to /slow hangs until released."""

    def __init__(self, workers: list[int]) -> None:
        self.workers = workers
        self.secrets: dict[str, str] = {}
        self.deliveries: list[Delivery] = []
        self.problems: list[str] = []  # what a handler found wrong (it cannot fail the test)
        self.lock = threading.Lock()
        self.hanging = threading.Event()  # the first /slow POST has arrived and waits
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def of(self, name: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.path == f"/{name}"]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                pid = sender_of(self.client_address, receiver.port, receiver.workers)
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    Webhook(receiver.secrets[self.path]).verify(body, headers)
                except WebhookVerificationError as error:
                    receiver.problems.append(f"{self.path}: {error!r}")
                event_id = json.loads(body)["id"]
                if event_id != headers["webhook-id"]:
                    receiver.problems.append(f"{self.path}: {event_id} != {headers['webhook-id']}")
                delivery = Delivery(self.path, event_id, pid, time.monotonic())
                with receiver.lock:
                    first_slow = self.path == "/slow" and not receiver.hanging.is_set()
                    receiver.deliveries.append(delivery)
                    if first_slow:
                        receiver.hanging.set()
                if first_slow:
                    receiver.release.wait(60)  # the sender is killed meanwhile
                    return  # and no answer comes
                time.sleep(0.05)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


# --- driving the servers -------------------------------------------------------------------------


def form_fields(html: str) -> dict[str, str]:
    fields = {}
    if match := CSRF.search(html):
        fields["csrf_token"] = match.group(1)
    if match := FLOW.search(html):
        fields["flow"] = match.group(1)
    return fields


def consent(servers: list[str], n: int, partner_id: str, email: str, channel_id: str) -> None:
    """The permission flow of one client, each step on the other server than the step before:
    the login session and the flow token live in the database, not in a process."""
    browser = requests.Session()
    one, other = servers[n % 2], servers[(n + 1) % 2]
    link = f"{one}/partners/{partner_id}/permission"
    started = browser.get(link, params={"redirect_url": REDIRECT_URL}, allow_redirects=False)
    assert started.status_code == 303, started.text
    login_page = browser.get(other + started.headers["Location"])
    login = {**form_fields(login_page.text), "email": email, "password": PASSWORD}
    logged_in = browser.post(f"{other}/login", data=login, allow_redirects=False)
    assert logged_in.status_code == 303, logged_in.text
    page = browser.get(one + logged_in.headers["Location"])
    assert page.status_code == 200, page.text
    answer = {**form_fields(page.text), "channels": [channel_id], "action": "allow"}
    allowed = browser.post(f"{other}/permission/consent", data=answer, allow_redirects=False)
    assert allowed.status_code == 303, allowed.text
    assert allowed.headers["Location"].startswith(REDIRECT_URL)


def new_key(server: str, account: PartnerAccount, channel_id: str) -> None:
    path = f"{server}{account.path(f'/channels/{channel_id}/api_keys')}"
    response = requests.post(path, headers={"X-API-Key": account.api_key}, timeout=30)
    assert response.status_code == 201, response.text


def expected_events(session: Session, partner: Partner) -> list[str]:
    """The partner's webhook events in the order they must arrive (the outbox's)."""
    rows = session.scalars(
        select(WebhookOutbox)
        .where(WebhookOutbox.partner_id == partner.id)
        .order_by(WebhookOutbox.id)
    )
    return [row.event.public_id for row in rows]


def first_arrivals(deliveries: list[Delivery]) -> list[str]:
    """Event ids in the order they first arrived (at least once: a repeat is allowed)."""
    seen: list[str] = []
    for delivery in deliveries:
        if delivery.event_id not in seen:
            seen.append(delivery.event_id)
    return seen


def customer_email(session: Session, client_id: int) -> str:
    email: str = session.scalars(
        select(ClientUser.email).where(ClientUser.client_id == client_id)
    ).one()
    return email


def pending(engine: Engine) -> int:
    with engine.connect() as connection:
        count = select(func.count()).where(WebhookOutbox.status == "pending")
        return connection.scalar(count) or 0


@contextmanager
def app_here(url: str) -> Iterator[Flask]:
    """The app in this process, to arrange data and read results in the same database."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "WEBHOOK_ALLOW_PRIVATE": True})
    try:
        yield app
    finally:
        app.extensions["db"].engine.dispose()


# --- the test ------------------------------------------------------------------------------------


def test_two_servers_and_two_workers_on_one_database_and_a_worker_killed_mid_post(
    database: tuple[str, Engine], processes: Processes
) -> None:
    began = time.monotonic()
    url, engine = database
    servers = [serve(processes, "server-a"), serve(processes, "server-b")]
    workers = [
        processes.start(f"worker-{n}", "webhooks", "work", "--interval", "0.1").pid for n in (1, 2)
    ]
    with Receiver(workers) as receiver, app_here(url) as app:
        with app.app_context(), app.extensions["db"].sessionmaker() as setup:
            accounts, clients = [], []
            for n in range(PARTNERS):
                account = make_account(setup, webhook_url=receiver.url(f"p{n}"))
                receiver.secrets[f"/p{n}"] = account.partner.signing_secret
                accounts.append(account)
                for _ in range(CLIENTS):
                    customer = add_client(setup, account)
                    channel = add_line(setup, customer)  # running, not shared yet
                    email = customer_email(setup, customer.id)
                    clients.append((account, email, channel.public_id))
            slow = make_account(setup)  # its webhook URL comes later
            receiver.secrets["/slow"] = slow.partner.signing_secret
            slow_channel = add_line(setup, add_client(setup, slow), shared=True).public_id
            setup.commit()
        wait_until(lambda: all(map(answers, servers)), 20, "both servers serving", processes)

        # Both servers at once: each client's consent, then a key from each server (R8).
        def flow(n: int) -> Callable[[], None]:
            account, email, channel_id = clients[n]

            def run() -> None:
                consent(servers, n, account.id, email, channel_id)
                new_key(servers[n % 2], account, channel_id)
                new_key(servers[(n + 1) % 2], account, channel_id)

            return run

        together([flow(n) for n in range(len(clients))])
        wait_until(lambda: pending(engine) == 0, 30, "every webhook delivered", processes)

        with app.extensions["db"].sessionmaker() as check:
            for n, account in enumerate(accounts):
                expected = expected_events(check, account.partner)
                assert len(expected) == CLIENTS * 5  # client, channel, granted, two keys
                assert first_arrivals(receiver.of(f"p{n}")) == expected  # all, in order
        assert receiver.problems == []
        senders = {delivery.pid for delivery in receiver.deliveries}
        assert senders == set(workers), senders  # both workers delivered, and only they

        # kill -9 a worker in the middle of a POST: the slow partner's endpoint hangs.
        with app.extensions["db"].sessionmaker() as change:
            change.execute(
                update(Partner)
                .where(Partner.id == slow.partner.id)
                .values(webhook_url=receiver.url("slow"))
            )
            change.commit()
        new_key(servers[0], slow, slow_channel)
        assert receiver.hanging.wait(15), processes.logs()
        (cut,) = receiver.of("slow")
        assert cut.pid in workers
        (survivor,) = set(workers) - {cut.pid}
        os.kill(cut.pid, signal.SIGKILL)
        victim = next(p for p in processes.started if p.pid == cut.pid)
        assert victim.wait(5) == -signal.SIGKILL
        receiver.release.set()
        with app.extensions["db"].sessionmaker() as look:
            (row,) = look.scalars(
                select(WebhookOutbox).where(WebhookOutbox.partner_id == slow.partner.id)
            )
            assert (row.status, row.attempts, row.leased_until is not None) == ("pending", 0, True)

        # Meanwhile the other worker goes on with other partners...
        account, _email, channel_id = clients[0]
        new_key(servers[1], account, channel_id)
        wait_until(
            lambda: len(first_arrivals(receiver.of("p0"))) == CLIENTS * 5 + 1,
            10,
            "another partner's event delivered while the slow one is leased",
            processes,
        )
        assert receiver.of("p0")[-1].pid == survivor
        assert len(receiver.of("slow")) == 1  # the lease holds the slow partner's line

        # ...and takes the killed worker's row over once the lease has run out.
        lease = DEADLINE + LEASE_MARGIN.total_seconds()
        wait_until(lambda: len(receiver.of("slow")) == 2, lease + 15, "redelivery", processes)
        again = receiver.of("slow")[1]
        assert again.event_id == cut.event_id
        assert again.pid == survivor
        assert again.at - cut.at >= lease - 1  # not before the lease ran out
        wait_until(lambda: pending(engine) == 0, 10, "the slow row recorded", processes)
        with app.extensions["db"].sessionmaker() as check:
            row = check.get_one(WebhookOutbox, row.id)
            attempts = check.scalars(
                select(WebhookAttempt).where(WebhookAttempt.outbox_id == row.id)
            )
            assert (row.status, row.attempts, row.leased_until) == ("delivered", 1, None)
            assert [a.status_code for a in attempts] == [200]  # the cut attempt left no record
        assert receiver.problems == []
        assert processes.tracebacks() == [], processes.logs()  # no 500, no failed pass
    shares = [sum(1 for d in receiver.deliveries if d.pid == pid) for pid in workers]
    print(
        f"two servers, two workers, a kill -9: {time.monotonic() - began:.1f} s; deliveries by"
        f" worker: {shares}; redelivered {again.at - cut.at:.1f} s after the cut"
    )
