"""No transaction is open while a request does slow work (issue 8): a webhook host's DNS lookup,
an argon2 password hash or verification, an SMTP conversation. On SQLite a request that may write
holds the database's write lock from its first read (BEGIN IMMEDIATE), so slow work inside its
transaction would hold up every other writer; on PostgreSQL its row locks.

The fixtures wrap the real slow function: they note whether the request's session had a
transaction open when it ran, then call through. The last tests run a real second writer, on a
database committed for real, while a login verifies its password.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, has_request_context
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from onboarding import mail, security
from onboarding.db import get_session
from onboarding.models import ClientUser, Partner, PartnerUser
from onboarding.partners.service import create_partner_user
from tests import test_password_reset as resets
from tests.api import api_headers, make_account
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_client, make_partner
from tests.mailbox import Mailbox
from tests.standalone import empty, standalone_app
from tests.test_account_pages import CLIENT, DOORS, PARTNER, Door, change, log_in

NEW_PASSWORD = "another long passphrase"
HOOK = "https://hooks.partner.example/v1"
UPDATE = text("UPDATE partner_user SET role = role WHERE id = :id")


def transaction_open() -> bool:
    """Whether the request's session has a transaction under way (in an after_commit hook the
    session still names the one that has just committed, no longer active)."""
    transaction = get_session().get_transaction()
    return transaction is not None and transaction.is_active


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether a transaction was open at each DNS lookup of a request; each is answered as the
    real resolver answers for localhost (127.0.0.1, ::1)."""
    real = socket.getaddrinfo
    seen: list[bool] = []

    def getaddrinfo(_host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if has_request_context():
            seen.append(transaction_open())
        return real("localhost", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


def wrap_hashing(monkeypatch: pytest.MonkeyPatch, note: Callable[[], None]) -> None:
    """Call `note` at each argon2 hash or verification of a request (each takes a hashing slot),
    then do the real work."""
    real = security._hashing_slot

    @contextmanager
    def slot() -> Iterator[None]:
        if has_request_context():
            note()
        with real():
            yield

    monkeypatch.setattr(security, "_hashing_slot", slot)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether a transaction was open at each password hash or verification of a request."""
    seen: list[bool] = []
    wrap_hashing(monkeypatch, lambda: seen.append(transaction_open()))
    return seen


# --- a webhook URL's DNS lookup -------------------------------------------------------------------


def test_the_api_looks_a_webhook_host_up_with_no_transaction_open(
    client: FlaskClient, db: Session, lookups: list[bool]
) -> None:
    account = make_account(db)
    db.commit()
    response = client.patch(
        account.path(),
        json={"webhook_url": HOOK, "brand_name": " Renamed "},
        headers=api_headers(account),
    )
    assert response.status_code == 200, response.text
    assert lookups == [False]
    db.expire_all()
    partner = db.get_one(Partner, account.partner.id)
    assert (partner.webhook_url, partner.brand_name) == (HOOK, "Renamed")


def test_the_api_refusal_after_a_lookup_is_unchanged_and_changes_nothing(
    app: Flask, client: FlaskClient, db: Session, lookups: list[bool]
) -> None:
    account = make_account(db)
    account.partner.webhook_url = HOOK
    db.commit()
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False  # the name resolves to loopback: refused
    response = client.patch(
        account.path(),
        json={"webhook_url": "https://internal.partner.example/hook", "brand_name": "Renamed"},
        headers=api_headers(account),
    )
    assert response.status_code == 409
    assert "must point to a public internet host" in response.get_json()["detail"]
    assert lookups == [False]
    db.expire_all()
    partner = db.get_one(Partner, account.partner.id)
    assert (partner.webhook_url, partner.brand_name) != (HOOK, "Renamed")
    assert partner.webhook_url == HOOK


def hub_owner(client: FlaskClient, db: Session) -> Partner:
    partner = make_partner(db)
    owner = create_partner_user(
        db, partner, email="owner@slow.example", password=PASSWORD, role="owner"
    )
    db.commit()
    assert log_in(client, PARTNER, owner.email) == 303
    return partner


@pytest.mark.parametrize("public", [True, False], ids=["saved", "refused"])
def test_the_partner_hub_looks_a_webhook_host_up_with_no_transaction_open(
    app: Flask, client: FlaskClient, db: Session, lookups: list[bool], public: bool
) -> None:
    partner = hub_owner(client, db)
    app.config["WEBHOOK_ALLOW_PRIVATE"] = public  # else the loopback answer is refused
    page = client.get("/hub/settings").text
    response = client.post(
        "/hub/settings/webhook", data={"csrf_token": csrf_token(page), "webhook_url": HOOK}
    )
    assert lookups == [False]
    db.expire_all()
    stored = db.get_one(Partner, partner.id).webhook_url
    if public:
        assert (response.status_code, stored) == (303, HOOK)
    else:
        assert response.status_code == 400
        assert "must point to a public internet host" in response.text
        assert stored is None


# --- password hashes ------------------------------------------------------------------------------


@pytest.fixture
def users(db: Session) -> dict[Door, ClientUser | PartnerUser]:
    partner = make_partner(db)
    _client, client_user = make_client(db, partner)
    partner_user = create_partner_user(db, partner, email="me@partner.example", password=PASSWORD)
    db.commit()
    return {CLIENT: client_user, PARTNER: partner_user}


@DOORS
def test_a_login_verifies_the_password_with_no_transaction_open(
    client: FlaskClient, users: dict[Door, ClientUser | PartnerUser], hashes: list[bool], door: Door
) -> None:
    assert log_in(client, door, users[door].email) == 303
    assert log_in(client.application.test_client(), door, users[door].email, "wrong!") == 401
    assert hashes == [False, False]


@DOORS
def test_a_login_rehashes_an_outdated_hash_with_no_transaction_open(
    client: FlaskClient,
    db: Session,
    users: dict[Door, ClientUser | PartnerUser],
    hashes: list[bool],
    door: Door,
) -> None:
    user = users[door]
    outdated = security.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    user.password_hash = outdated.hash(PASSWORD)
    db.commit()
    assert log_in(client, door, user.email) == 303
    assert hashes == [False, False]  # the verification, then the new hash
    db.expire_all()
    assert not security.password_needs_rehash(db.get_one(type(user), user.id).password_hash)


@DOORS
def test_a_password_change_hashes_with_no_transaction_open(
    client: FlaskClient, users: dict[Door, ClientUser | PartnerUser], hashes: list[bool], door: Door
) -> None:
    assert log_in(client, door, users[door].email) == 303
    hashes.clear()
    assert change(client, door, "not the password", NEW_PASSWORD)[0] == 400
    assert change(client, door, PASSWORD, NEW_PASSWORD)[0] == 303
    assert hashes == [False, False, False]  # a wrong verification, a right one, the new hash
    other = client.application.test_client()
    assert log_in(other, door, users[door].email, NEW_PASSWORD) == 303


@resets.DOORS
def test_a_password_reset_hashes_and_mails_with_no_transaction_open(
    monkeypatch: pytest.MonkeyPatch,
    client: FlaskClient,
    users: dict[Door, ClientUser | PartnerUser],
    mailbox: Mailbox,
    hashes: list[bool],
    door: resets.Door,
) -> None:
    real_send = mail._send
    sending: list[bool] = []

    def send(delivery: mail.Delivery) -> bool:
        sending.append(transaction_open())
        return real_send(delivery)

    monkeypatch.setattr(mail, "_send", send)
    user = users[CLIENT if door is resets.CLIENT else PARTNER]
    assert resets.ask(client, door, user.email)[0] == 200
    assert sending == [False]
    assert resets.reset(client, mailbox.last(user.email).link(), NEW_PASSWORD)[0] == 303
    assert hashes == [False]
    other = client.application.test_client()
    assert resets.log_in(other, door, user.email, NEW_PASSWORD) == 303


# --- a real second writer -------------------------------------------------------------------------


@pytest.fixture
def live_app(committed: tuple[str, Engine]) -> Iterator[Flask]:
    url, engine = committed
    empty(engine)
    with standalone_app(url, BASE_URL="https://hub.test") as app:
        yield app


def other_writer(engine: Engine, user_id: int) -> Callable[[], str]:
    """A write on a connection of its own that must not wait: "wrote", or why it could not."""

    def write() -> str:
        if engine.dialect.name == "sqlite":
            with sqlite3.connect(engine.url.database or "", timeout=0) as other:
                try:
                    other.execute("BEGIN IMMEDIATE")  # the write lock, or SQLITE_BUSY at once
                except sqlite3.OperationalError as error:
                    return str(error)
                other.execute("UPDATE partner_user SET role = role WHERE id = ?", (user_id,))
                other.rollback()
            return "wrote"
        with engine.connect() as other:
            other.execute(text("SET lock_timeout = '100ms'"))
            try:
                other.execute(
                    text("UPDATE partner_user SET role = role WHERE id = :id"), {"id": user_id}
                )
            except Exception as error:
                return str(error).splitlines()[0]
            finally:
                other.rollback()
            return "wrote"

    return write


def test_a_writer_never_waits_for_a_login_verifying_its_password(
    monkeypatch: pytest.MonkeyPatch, live_app: Flask
) -> None:
    engine = live_app.extensions["db"].engine
    with live_app.app_context(), live_app.extensions["db"].sessionmaker() as setup:
        user = create_partner_user(
            setup, make_partner(setup), email="busy@slow.example", password=PASSWORD
        )
        setup.commit()
        user_id = user.id
    outcomes: list[str] = []
    write = other_writer(engine, user_id)
    wrap_hashing(monkeypatch, lambda: outcomes.append(write()))

    browser = live_app.test_client()
    assert log_in(browser, PARTNER, "busy@slow.example") == 303
    assert outcomes == ["wrote"]
