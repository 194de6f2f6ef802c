"""Concurrent users: no 500, no lost or doubled change, no broken rule (issue 8, item 1).

These tests need several connections that really commit at the same time, so they run against a
database of their own (a SQLite file, and a PostgreSQL schema when one answers), not inside the
rolled-back test transaction: the app binds its sessions to that database's engine, and each
request runs in its own thread with its own connection, started together at a barrier.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, got_request_exception
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, exists, func, select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from onboarding.clients.service import EMAIL_MAY_EXIST
from onboarding.models import (
    ApiKey,
    AuditEvent,
    Channel,
    Client,
    ClientUser,
    Consent,
    Partner,
    PartnerRedirectUrl,
    PartnerUser,
    Permission,
    Side,
)
from onboarding.partners import team
from onboarding.partners.service import create_partner_user
from onboarding.permissions.client_settings import VIA
from onboarding.permissions.service import NUMBER_ADDED_ALREADY, add_channel, set_shared
from onboarding.refusals import TEXTS
from tests.api import api_headers, make_account
from tests.conftest import csrf_token, flow_token, submit_login
from tests.factories import PASSWORD, REDIRECT_URL, make_channel, make_client, new_number
from tests.standalone import empty, standalone_app
from tests.test_client_hub import CONFIRM
from tests.test_consent_http import CONSENT, callback, start

T = TypeVar("T")


@pytest.fixture
def live_app(committed: tuple[str, Engine], tmp_path: Path) -> Iterator[Flask]:
    """An app whose sessions commit for real, on a database emptied before each test."""
    url, engine = committed
    empty(engine)
    with standalone_app(
        url,
        BASE_URL="https://hub.test",
        API_RATE_LIMIT=100_000,
        # Writes take turns on SQLite; on a busy test machine 50 of them may take longer
        # than the 5 s default. How long one waits is capacity, not correctness: a plain
        # BEGIN fails at once whatever the timeout.
        SQLITE_BUSY_TIMEOUT=30.0,
        # An exception becomes the 500 a user would see, to be counted (and shown, below).
        PROPAGATE_EXCEPTIONS=False,
    ) as app:
        app.instance_path = str(tmp_path)
        raised: list[str] = []

        def log(_sender: Flask, exception: BaseException, **_extra: object) -> None:
            raised.append(f"{type(exception).__name__}: {str(exception).splitlines()[0]}")

        got_request_exception.connect(log, app)
        yield app
    assert raised == [], "requests raised"


def sessions(app: Flask) -> sessionmaker[Session]:
    maker: sessionmaker[Session] = app.extensions["db"].sessionmaker
    return maker


def together(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads of their own, released at once by a barrier; their results in
    order (an exception in any is raised here)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=120) for future in futures]


def statuses(responses: list[TestResponse]) -> list[int]:
    return sorted(response.status_code for response in responses)


# --- consents ------------------------------------------------------------------------------------


def consent_page(browser: FlaskClient, partner_id: str, email: str) -> str:
    """Follow the partner's link through login; the consent page (its flow token inside)."""
    started = start(browser, partner_id, {"redirect_url": REDIRECT_URL})
    assert started.status_code == 303
    logged_in = submit_login(browser, started.headers["Location"], email)
    assert logged_in.status_code == 303, logged_in.get_data(as_text=True)
    page = browser.get(logged_in.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def allow(browser: FlaskClient, page: str, channel_ids: list[str]) -> Callable[[], TestResponse]:
    form: dict[str, Any] = {
        "csrf_token": csrf_token(page),
        "flow": flow_token(page),
        "channels": channel_ids,
        "action": "allow",
    }
    return lambda: browser.post(CONSENT, data=form)


class EventPoller:
    """A partner polling its feed with `after=<last id seen>` while the consents commit, as a
    partner's integration does; it must end up with every event, each once, in id order."""

    def __init__(self, browser: FlaskClient, account: Any) -> None:
        self.browser = browser
        self.account = account
        self.seen: list[tuple[str, str]] = []  # (event id, type)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def poll(self) -> None:
        while True:
            after = {"after": self.seen[-1][0]} if self.seen else {}
            response = self.browser.get(
                self.account.path("/events"),
                query_string={**after, "limit": 500},
                headers=api_headers(self.account),
            )
            assert response.status_code == 200, response.get_data(as_text=True)
            body = response.get_json()
            self.seen += [(event["id"], event["type"]) for event in body["events"]]
            if not body["next_cursor"]:
                return

    def _run(self) -> None:
        while not self.stop.is_set():
            self.poll()

    def __enter__(self) -> EventPoller:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(30)
        self.poll()  # whatever committed after its last round


CLIENTS = 50


def test_fifty_clients_of_one_partner_allow_at_once(live_app: Flask) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup, webhook_url="https://hooks.partner.example/in")
        users = []
        for _ in range(CLIENTS):
            customer, user = make_client(setup, account.partner)
            users.append((user.email, make_channel(setup, customer).public_id))
        setup.commit()
    answers = []
    for email, channel_id in users:
        browser = live_app.test_client()
        answers.append(allow(browser, consent_page(browser, account.id, email), [channel_id]))

    with EventPoller(live_app.test_client(), account) as poller:
        began = time.monotonic()
        responses = together(answers)
        took = time.monotonic() - began

    assert statuses(responses) == [303] * CLIENTS, [
        r.get_data(as_text=True) for r in responses if r.status_code != 303
    ]
    for response in responses:
        callback(response, account.partner)
    with sessions(live_app)() as check:
        channel_ids = [channel_id for _email, channel_id in users]
        assert check.scalar(select(func.count()).select_from(Consent)) == CLIENTS
        shared = check.scalars(
            select(Channel.public_id).join(Permission).where(Channel.public_id.in_(channel_ids))
        )
        assert sorted(shared) == sorted(channel_ids)
        events = check.execute(
            select(AuditEvent.public_id, AuditEvent.type)
            .where(AuditEvent.partner_id == account.partner.id)
            .order_by(AuditEvent.id)
        ).all()
    assert [type for _id, type in events].count("permission.granted") == CLIENTS
    assert poller.seen == [tuple(event) for event in events]  # none skipped, none twice
    print(f"{CLIENTS} consents at once: {took:.2f} s")


def test_one_client_answering_in_two_tabs_at_once(live_app: Flask) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup)
        customer, user = make_client(setup, account.partner)
        a, b = (make_channel(setup, customer).public_id for _ in range(2))
        setup.commit()
        email, client_id = user.email, customer.id
    tabs = [live_app.test_client() for _ in range(2)]
    pages = [consent_page(tab, account.id, email) for tab in tabs]

    responses = together([allow(tabs[0], pages[0], [a]), allow(tabs[1], pages[1], [a, b])])

    assert statuses(responses) == [303, 303]
    with sessions(live_app)() as check:
        first, last = check.scalars(
            select(Consent).where(Consent.client_id == client_id).order_by(Consent.id)
        )
        shared = check.scalars(
            select(Channel.public_id).join(Permission).where(Channel.client_id == client_id)
        )
        assert sorted(shared) == sorted(last.channels)  # the later answer holds
        assert sorted(first.channels + last.channels) == sorted([a, a, b])
        assert sorted(last.revoked) == sorted(set(first.channels) - set(last.channels))


# --- grant, revoke and key generation on one channel ---------------------------------------------


def broken_rules(engine: Engine) -> list[str]:
    """What is wrong with the keys right now, read in one statement each: a live partner key on a
    channel without permission (R1, R3), or more than one live key on a channel (R8)."""
    without_permission = (
        select(func.count())
        .select_from(ApiKey)
        .where(
            ApiKey.created_by == Side.PARTNER,
            ApiKey.revoked_at.is_(None),
            ~exists().where(Permission.channel_id == ApiKey.channel_id),
        )
    )
    live = (
        select(ApiKey.channel_id)
        .where(ApiKey.revoked_at.is_(None))
        .group_by(ApiKey.channel_id)
        .having(func.count() > 1)
    )
    with engine.connect() as connection:
        wrong = []
        if connection.scalar(without_permission):
            wrong.append("a live partner key on a channel without permission")
        if connection.execute(live).first():
            wrong.append("two live keys on one channel")
        return wrong


ROUNDS = 25


def test_grant_revoke_and_key_generation_on_one_channel_never_leave_a_key_unshared(
    live_app: Flask,
) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup)
        customer, user = make_client(setup, account.partner)
        channel = make_channel(setup, customer)
        setup.commit()
        channel_id, client_id, email = channel.public_id, customer.id, user.email
    engine: Engine = live_app.extensions["db"].engine
    hub = live_app.test_client()
    submit_login(hub, "/login", email)
    hub_token = csrf_token(hub.get("/client/settings/partner").get_data(as_text=True))
    client_keys = live_app.test_client()
    submit_login(client_keys, "/login", email)
    answers: dict[str, list[int]] = {}
    broken: list[str] = []
    stop = threading.Event()
    partner_done = threading.Event()

    def check(after: str) -> None:
        broken.extend(f"{wrong} (after {after})" for wrong in broken_rules(engine))

    def rounds() -> Iterator[int]:  # ROUNDS at least, and on while the partner asks for keys
        n = 0
        while n < ROUNDS or not partner_done.is_set():
            yield n
            n += 1

    def by_hub() -> None:  # the Client Hub's confirmation page: share, then remove
        for n in rounds():
            which = "share" if n % 2 == 0 else "remove"
            data = {"csrf_token": hub_token, which: [channel_id]}
            answers.setdefault("hub", []).append(hub.post(CONFIRM, data=data).status_code)
            check(f"hub {which}")

    def by_domain() -> None:  # set_shared, as the permission screen and "all numbers" call it
        for n in rounds():
            with live_app.app_context(), sessions(live_app)() as session:
                customer = session.get_one(Client, client_id)
                ids = [channel_id] if n % 2 else []
                set_shared(session, customer, ids, all_channels=False, via=VIA, actor="test")
                session.commit()
            check("set_shared")

    def by_partner() -> None:  # POST api_keys through the Partner API
        # Until a key was made at least once (while the others toggle the permission), so that
        # both outcomes are raced however the threads happen to be scheduled.
        browser = live_app.test_client()
        path = account.path(f"/channels/{channel_id}/api_keys")
        try:
            for attempt in range(ROUNDS * 20):
                status = browser.post(path, headers=api_headers(account)).status_code
                answers.setdefault("partner", []).append(status)
                check("partner key")
                if attempt >= ROUNDS * 2 and 201 in answers["partner"]:
                    break
        finally:
            partner_done.set()

    def by_client() -> None:  # the client's own "Generate API Key" (R6: only while not shared)
        path = f"/client/numbers/{channel_id}/api-key"
        for _ in range(ROUNDS):
            token = csrf_token(client_keys.get("/client/").get_data(as_text=True))
            status = client_keys.post(path, data={"csrf_token": token}).status_code
            answers.setdefault("client", []).append(status)
            check("client key")

    def watch() -> None:
        while not stop.is_set():
            check("a look in between")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        together([by_hub, by_domain, by_partner, by_client])
    finally:
        stop.set()
        watcher.join(30)

    check("the end")
    assert broken == []
    assert set(answers["hub"]) == {303}
    assert set(answers["partner"]) <= {201, 403} and 201 in answers["partner"]
    assert set(answers["client"]) <= {200, 303}


# --- every IntegrityError branch, reached by a real race -----------------------------------------


class Race:
    """Makes two requests race to a write: each thread about to run a statement that starts with
    `sql` waits until the other is there too, so both have made their checks before either
    writes. On SQLite the second request is still waiting for the write lock at its BEGIN
    IMMEDIATE, so the first goes on alone after half a second (well within the busy timeout).
    Also records the unique violations the database raised."""

    def __init__(self, engine: Engine, sql: str) -> None:
        self.engine = engine
        self.sql = sql
        wait = 0.5 if engine.dialect.name == "sqlite" else 15.0  # PostgreSQL: the other comes
        self.barrier = threading.Barrier(2, timeout=wait)
        self.waited = threading.local()
        self.violations: list[str] = []

    def __enter__(self) -> Race:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "handle_error", self._error)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "handle_error", self._error)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(self.sql) and not getattr(self.waited, "done", False):
            self.waited.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                self.barrier.wait()

    def _error(self, context: ExceptionContext) -> None:
        if isinstance(context.sqlalchemy_exception, IntegrityError):
            self.violations.append(str(context.original_exception).splitlines()[0])

    @property
    def decided_by_constraint(self) -> bool:
        """On PostgreSQL both checks pass and the unique constraint decides; on SQLite the
        second check already sees the first's row."""
        return bool(self.violations)


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["db"].engine
    return engine


def expect_constraint(race: Race, app: Flask) -> None:
    assert race.decided_by_constraint == (engine_of(app).dialect.name == "postgresql"), (
        race.violations
    )


def one_each(responses: list[TestResponse], *wanted: int) -> tuple[TestResponse, ...]:
    ordered = tuple(sorted(responses, key=lambda r: r.status_code))
    assert [r.status_code for r in ordered] == sorted(wanted), [
        r.get_data(as_text=True) for r in ordered
    ]
    return ordered


def test_the_flow_nonce_decides_a_double_answer_on_every_engine(live_app: Flask) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup)
        customer, user = make_client(setup, account.partner)
        channel_id = make_channel(setup, customer).public_id
        setup.commit()
        email = user.email
    browser = live_app.test_client()
    post = allow(browser, consent_page(browser, account.id, email), [channel_id])

    with Race(engine_of(live_app), "INSERT INTO used_flow_nonce") as race:
        _done, refused = one_each(together([post, post]), 303, 400)

    assert "This permission request was already answered." in refused.get_data(as_text=True)
    assert len(race.violations) == 1  # no check before the insert: the key decides, everywhere
    with sessions(live_app)() as check:
        assert check.scalar(select(func.count()).select_from(Consent)) == 1
        assert check.scalar(select(func.count()).select_from(Permission)) == 1


def signup_form(browser: FlaskClient, partner_id: str) -> dict[str, str]:
    started = start(browser, partner_id, {"redirect_url": REDIRECT_URL, "next": "signup"})
    assert started.status_code == 303
    page = browser.get(started.headers["Location"]).get_data(as_text=True)
    return {"csrf_token": csrf_token(page), "flow": flow_token(page)}


def test_two_signups_with_one_email_at_once(live_app: Flask) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup)
        setup.commit()
    browsers = [live_app.test_client() for _ in range(2)]
    forms = [signup_form(browser, account.id) for browser in browsers]
    data = {"company": "Same Co", "email": "same@race.example", "password": PASSWORD}

    def sign_up(browser: FlaskClient, form: dict[str, str]) -> Callable[[], TestResponse]:
        return lambda: browser.post("/signup", data={**form, **data})

    with Race(engine_of(live_app), "INSERT INTO client_user") as race:
        _done, refused = one_each(
            together([sign_up(*pair) for pair in zip(browsers, forms, strict=True)]), 303, 400
        )

    expect_constraint(race, live_app)
    assert EMAIL_MAY_EXIST in html.unescape(refused.get_data(as_text=True))
    with sessions(live_app)() as check:
        assert check.scalar(select(func.count()).select_from(ClientUser)) == 1
        assert check.scalar(select(func.count()).select_from(Client)) == 1  # none half-made


def two_logins(app: Flask, email: str) -> list[FlaskClient]:
    browsers = [app.test_client() for _ in range(2)]
    for browser in browsers:
        submit_login(browser, "/login", email)
    return browsers


@pytest.mark.parametrize("where", ["signup numbers step", "client hub"])
def test_one_number_added_twice_at_once(live_app: Flask, where: str) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup)
        _customer, user = make_client(setup, account.partner)
        setup.commit()
        email = user.email
    browsers = two_logins(live_app, email)
    number = new_number()
    if where == "client hub":
        path = "/client/numbers/new"
        pages = [b.get(path).get_data(as_text=True) for b in browsers]
        forms = [{"csrf_token": csrf_token(page), "phone": number} for page in pages]
    else:
        started = start(browsers[0], account.id, {"redirect_url": REDIRECT_URL})
        flow = parse_qs(urlsplit(started.headers["Location"]).query)["flow"][0]
        path = f"/signup/numbers?flow={flow}"
        pages = [b.get(path).get_data(as_text=True) for b in browsers]
        forms = [{"csrf_token": csrf_token(p), "phone": number, "flow": flow} for p in pages]

    def add(browser: FlaskClient, form: dict[str, str]) -> Callable[[], TestResponse]:
        return lambda: browser.post(path, data=form)

    with Race(engine_of(live_app), "INSERT INTO channel ") as race:
        _done, refused = one_each(
            together([add(*pair) for pair in zip(browsers, forms, strict=True)]), 303, 400
        )

    expect_constraint(race, live_app)
    assert NUMBER_ADDED_ALREADY in refused.get_data(as_text=True)
    with sessions(live_app)() as check:
        assert check.scalar(select(func.count()).select_from(Channel)) == 1
        events = check.scalars(select(AuditEvent.type).where(AuditEvent.type == "channel.created"))
        assert len(list(events)) == 1  # the refused request left nothing behind


OPERATOR_TOKEN = "operator-token-" + "x" * 32


def test_one_number_set_running_twice_at_once(live_app: Flask) -> None:
    live_app.config["OPERATOR_TOKEN"] = OPERATOR_TOKEN
    number = new_number()
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup)
        channels = []
        for _ in range(2):  # the same number added by two clients (R9: both pending)
            customer, _user = make_client(setup, account.partner)
            channels.append(add_channel(setup, customer, number, "Line", actor="test"))
        setup.commit()
        ids = [channel.public_id for channel in channels]
    browser = live_app.test_client()
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}

    def run(channel_id: str) -> Callable[[], TestResponse]:
        path = f"/ops/v1/channels/{channel_id}/status"
        return lambda: browser.put(path, json={"status": "running"}, headers=headers)

    with Race(engine_of(live_app), "UPDATE channel SET status") as race:
        responses = together([run(channel_id) for channel_id in ids])
    done, refused = one_each(responses, 200, 409)

    expect_constraint(race, live_app)
    winner = done.get_json()["id"]
    assert refused.mimetype == "application/problem+json"
    assert f"is already running as channel {winner}" in refused.get_json()["detail"]
    with sessions(live_app)() as check:
        running = check.scalars(select(Channel.public_id).where(Channel.status == "running"))
        assert list(running) == [winner]


def hub_owner(app: Flask) -> tuple[Any, list[FlaskClient]]:
    with app.app_context(), sessions(app)() as setup:
        account = make_account(setup)
        owner = create_partner_user(
            setup, account.partner, email="owner@race.example", password=PASSWORD, role="owner"
        )
        setup.commit()
    browsers = [app.test_client() for _ in range(2)]
    for browser in browsers:
        page = browser.get("/hub/login").get_data(as_text=True)
        form = {"csrf_token": csrf_token(page), "email": owner.email, "password": PASSWORD}
        assert browser.post("/hub/login", data=form).status_code == 303
    return account, browsers


def test_one_address_joining_two_partners_at_once(live_app: Flask) -> None:
    """Two partners invited the same address; both links are followed at the same moment."""
    tokens = []
    with live_app.app_context(), sessions(live_app)() as setup:
        for n in range(2):
            account = make_account(setup)
            owner = create_partner_user(
                setup,
                account.partner,
                email=f"owner{n}@race.example",
                password=PASSWORD,
                role="owner",
            )
            tokens.append(team.invite(setup, owner, email="joiner@race.example", role="member"))
        setup.commit()
    browsers = [live_app.test_client() for _ in tokens]
    links = [f"/hub/invite/{new.token}" for new in tokens]
    pages = [b.get(link).get_data(as_text=True) for b, link in zip(browsers, links, strict=True)]

    def join(browser: FlaskClient, link: str, page: str) -> Callable[[], TestResponse]:
        form = {"csrf_token": csrf_token(page), "password": PASSWORD}
        return lambda: browser.post(link, data=form)

    with Race(engine_of(live_app), "INSERT INTO partner_user") as race:
        _done, refused = one_each(
            together([join(*args) for args in zip(browsers, links, pages, strict=True)]), 303, 409
        )

    expect_constraint(race, live_app)
    assert TEXTS[team.EMAIL_HAS_LOGIN] in html.unescape(refused.get_data(as_text=True))
    with sessions(live_app)() as check:
        joined = check.scalars(
            select(PartnerUser.email).where(PartnerUser.email == "joiner@race.example")
        )
        assert list(joined) == ["joiner@race.example"]


def test_one_redirect_url_registered_twice_at_once(live_app: Flask) -> None:
    account, browsers = hub_owner(live_app)
    pages = [b.get("/hub/settings").get_data(as_text=True) for b in browsers]
    url = "https://race.partner.example/back"

    def add(browser: FlaskClient, page: str) -> Callable[[], TestResponse]:
        form = {"csrf_token": csrf_token(page), "url": url}
        return lambda: browser.post("/hub/settings/redirect-urls", data=form)

    with Race(engine_of(live_app), "INSERT INTO partner_redirect_url") as race:
        _done, refused = one_each(
            together([add(*pair) for pair in zip(browsers, pages, strict=True)]), 303, 400
        )

    expect_constraint(race, live_app)
    message = (
        "This changed at the same moment elsewhere. Reload and try again."
        if race.decided_by_constraint
        else "This redirect URL is registered already."
    )
    assert message in refused.get_data(as_text=True)
    with sessions(live_app)() as check:
        urls = check.scalars(
            select(PartnerRedirectUrl.url).where(
                PartnerRedirectUrl.partner_id == account.partner.id
            )
        )
        assert sorted(urls) == sorted([REDIRECT_URL, url])


# --- a partner's settings ------------------------------------------------------------------------


def test_two_redirect_url_lists_sent_at_once_take_turns(live_app: Flask) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup)
        setup.commit()
    browser = live_app.test_client()
    keep, other = "https://a.partner.example/back", "https://b.partner.example/back"

    def send(urls: list[str]) -> Callable[[], TestResponse]:
        body = {"redirect_urls": urls}
        return lambda: browser.patch(account.path(), json=body, headers=api_headers(account))

    for _ in range(ROUNDS // 5):
        assert send([REDIRECT_URL, keep])().status_code == 200
        # One keeps a URL (moving it up), the other replaces it: each changes rows the other
        # deletes.
        responses = together([send([keep]), send([other])])
        assert statuses(responses) == [200, 200]
        with sessions(live_app)() as check:
            stored = check.scalars(
                select(PartnerRedirectUrl.url)
                .where(PartnerRedirectUrl.partner_id == account.partner.id)
                .order_by(PartnerRedirectUrl.position)
            )
            assert list(stored) in ([keep], [other])  # one list whole: the later request's


def test_two_secret_rotations_at_once_chain(live_app: Flask) -> None:
    with live_app.app_context(), sessions(live_app)() as setup:
        account = make_account(setup)
        setup.commit()
    browser = live_app.test_client()

    def rotate() -> TestResponse:
        return browser.post(account.path("/signing_secret"), headers=api_headers(account))

    for _ in range(ROUNDS // 5):
        responses = together([rotate, rotate])
        assert statuses(responses) == [201, 201]
        shown = {response.get_json()["signing_secret"] for response in responses}
        with sessions(live_app)() as check:
            partner = check.get_one(Partner, account.partner.id)
            # Both secrets shown still sign: the later one, and the earlier as the previous.
            assert {partner.signing_secret, partner.previous_signing_secret} == shown
