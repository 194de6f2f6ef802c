"""Numbers and e-mails reveal nothing (issue 7, hole 9; SPEC R9).

A number held by another client, pending or running, of this partner or another, neither blocks a
client nor shows in any message; only the client's own copy is refused. Numbers are unique across
the hub only once running (a partial unique index). The signup e-mail message is the same whoever
holds the address. Races that the database decides get the same words.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.auth import views as auth_views
from onboarding.client_hub import views as client_hub_views
from onboarding.clients.service import EMAIL_MAY_EXIST
from onboarding.consent import flow as flows
from onboarding.consent.request import PermissionRequest
from onboarding.errors import Conflict
from onboarding.models import (
    AuditEvent,
    Channel,
    ChannelStatus,
    Client,
    ClientUser,
    Partner,
    WebhookOutbox,
)
from onboarding.permissions.service import NUMBER_ADDED_ALREADY, add_channel
from onboarding.phones import readable
from tests.conftest import csrf_token
from tests.factories import (
    PASSWORD,
    REDIRECT_URL,
    make_channel,
    make_client,
    make_partner,
    new_number,
)

# Who else holds the number: (same partner?, status of their copy).
HOLDERS = pytest.mark.parametrize(
    ("same_partner", "status"),
    [
        (True, ChannelStatus.PENDING),
        (True, ChannelStatus.RUNNING),
        (False, ChannelStatus.PENDING),
        (False, ChannelStatus.RUNNING),
    ],
    ids=["same-partner-pending", "same-partner-running", "other-partner-pending", "other-running"],
)


def copies(db: Session, number: str) -> list[tuple[int, str]]:
    db.expire_all()
    query = select(Channel.client_id, Channel.status).where(Channel.phone_number == number)
    return sorted((client_id, status) for client_id, status in db.execute(query))


def counts(db: Session) -> dict[str, int]:
    db.expire_all()
    tables = (Client, ClientUser, Channel, AuditEvent, WebhookOutbox)
    return {t.__tablename__: db.scalar(select(func.count()).select_from(t)) or 0 for t in tables}


def flashes(page: str) -> list[str]:
    found = re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', page)
    return [" ".join(html.unescape(message).split()) for message in found]


def errors(page: str) -> str:
    """The page's words, entities decoded, white space collapsed."""
    return " ".join(html.unescape(page).split())


# -- the domain: add_channel ------------------------------------------------------------------


class TestAddChannel:
    def test_the_clients_own_copy_is_refused(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db))
        number = new_number()
        add_channel(db, client, number, "A", actor="t")
        with pytest.raises(Conflict, match=r"^You have added this number already\.$"):
            add_channel(db, client, number, "B", actor="t")

    @HOLDERS
    def test_another_clients_copy_blocks_nothing(
        self, db: Session, same_partner: bool, status: ChannelStatus
    ) -> None:
        partner = make_partner(db)
        holder, _ = make_client(db, partner if same_partner else make_partner(db))
        number = new_number()
        add_channel(db, holder, number, "theirs", actor="t", status=status)
        newcomer, _ = make_client(db, partner)

        channel = add_channel(db, newcomer, number, "mine", actor="t")

        assert channel.status == ChannelStatus.PENDING
        assert copies(db, number) == sorted([(holder.id, status), (newcomer.id, "pending")])

    def test_two_pending_copies_coexist_but_only_one_may_run(self, db: Session) -> None:
        number = new_number()
        first, _ = make_client(db, make_partner(db))
        second, _ = make_client(db, make_partner(db))
        a = add_channel(db, first, number, "A", actor="t")
        b = add_channel(db, second, number, "B", actor="t")
        db.flush()

        a.status = ChannelStatus.RUNNING
        db.flush()  # one running copy is fine
        running_twice = r"uq_channel_running_phone_number|failed: channel\.phone_number\n"
        with pytest.raises(IntegrityError, match=running_twice), db.begin_nested():
            b.status = ChannelStatus.RUNNING
            db.flush()
        assert copies(db, number) == sorted([(first.id, "running"), (second.id, "pending")])

    def test_the_database_refuses_a_clients_second_copy(self, db: Session) -> None:
        """What decides when two requests of one client race past the check."""
        client, _ = make_client(db, make_partner(db))
        number = new_number()
        add_channel(db, client, number, "A", actor="t")
        db.flush()
        same_client = r"uq_channel_client_id_phone_number|failed: channel\.client_id, channel\.ph"
        with pytest.raises(IntegrityError, match=same_client), db.begin_nested():
            db.add(Channel(client=client, phone_number=number, name="B", status="pending"))
            db.flush()


# -- HTTP: the Client Hub's add-number form ---------------------------------------------------


def client_hub_login(client: FlaskClient, user: ClientUser) -> None:
    page = client.get("/login").text
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/client/"


def hub_add(client: FlaskClient, phone: str) -> TestResponse:
    token = csrf_token(client.get("/client/numbers/new").text)
    return client.post("/client/numbers/new", data={"csrf_token": token, "phone": phone})


def added(client: FlaskClient, response: TestResponse, number: str) -> list[str]:
    """The flash after adding, with the number itself blanked out."""
    assert response.status_code == 303, errors(response.text)
    page = client.get(response.headers["Location"]).text
    return [message.replace(readable(number), "NUMBER") for message in flashes(page)]


@HOLDERS
def test_client_hub_adds_a_number_held_elsewhere_exactly_like_a_free_one(
    client: FlaskClient, db: Session, same_partner: bool, status: ChannelStatus
) -> None:
    partner = make_partner(db)
    customer, user = make_client(db, partner)
    holder, _ = make_client(db, partner if same_partner else make_partner(db))
    taken = make_channel(db, holder, status=status).phone_number
    db.commit()
    client_hub_login(client, user)
    free = new_number()

    as_free = added(client, hub_add(client, free), free)
    as_taken = added(client, hub_add(client, taken), taken)

    assert as_taken == as_free
    assert as_free and "pending" in as_free[0]
    assert (customer.id, "pending") in copies(db, taken)


def test_client_hub_refuses_the_clients_own_number_and_changes_nothing(
    client: FlaskClient, db: Session
) -> None:
    customer, user = make_client(db, make_partner(db))
    own = make_channel(db, customer).phone_number
    db.commit()
    client_hub_login(client, user)
    before = counts(db)

    response = hub_add(client, own)

    assert response.status_code == 400
    assert NUMBER_ADDED_ALREADY in errors(response.text)
    assert counts(db) == before


def racing(real: Callable[..., Any], twin: Callable[[Session], None]) -> Callable[..., Any]:
    """`real`, with another request's insert landing just after it passed its check: the
    database's unique constraint then refuses the flush, as in a real race."""

    def wrapped(session: Session, *args: Any, **kwargs: Any) -> Any:
        result = real(session, *args, **kwargs)
        twin(session)
        session.flush()
        return result

    return wrapped


def same_number_again(session: Session) -> None:
    channel = session.scalars(select(Channel).order_by(Channel.id.desc())).first()
    assert channel is not None
    session.add(
        Channel(
            client_id=channel.client_id,
            phone_number=channel.phone_number,
            name="twin",
            status="pending",
        )
    )


def test_client_hub_race_for_the_same_number_gets_the_same_words(
    client: FlaskClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _customer, user = make_client(db, make_partner(db))
    db.commit()
    client_hub_login(client, user)
    before = counts(db)
    monkeypatch.setattr(
        client_hub_views, "add_channel", racing(client_hub_views.add_channel, same_number_again)
    )

    response = hub_add(client, new_number())

    assert response.status_code == 400
    assert NUMBER_ADDED_ALREADY in errors(response.text)
    assert counts(db) == before


# -- HTTP: signup and its numbers step ----------------------------------------------------------


def signup_flow(app: Flask, partner: Partner) -> str:
    with app.app_context():
        return flows.issue(
            PermissionRequest(
                partner_id=partner.public_id, redirect_url=REDIRECT_URL, next="signup"
            )
        )


def sign_up(client: FlaskClient, token: str, email: str) -> TestResponse:
    page = client.get(f"/signup?flow={token}").text
    return client.post(
        "/signup",
        data={
            "csrf_token": csrf_token(page),
            "flow": token,
            "company": "Newcomer Ltd",
            "email": email,
            "password": PASSWORD,
        },
    )


def refusal(response: TestResponse, email: str) -> str:
    """A refused signup page, with what differs by design (the typed e-mail, tokens) blanked."""
    assert response.status_code == 400
    page = errors(response.text).replace(email, "EMAIL")
    return re.sub(r'value="[^"]*"', 'value=""', page)


def test_signup_with_a_taken_email_says_the_same_whichever_partner_holds_it(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    partner = make_partner(db)
    _ours, ours = make_client(db, partner)
    _theirs, theirs = make_client(db, make_partner(db))
    db.commit()
    token = signup_flow(app, partner)
    before = counts(db)

    same = refusal(sign_up(client, token, ours.email.upper()), ours.email.upper())
    other = refusal(sign_up(client, token, theirs.email), theirs.email)

    assert same == other
    assert EMAIL_MAY_EXIST in same
    assert EMAIL_MAY_EXIST == (
        "An account with this email may already exist: log in, or use another address."
    )
    assert counts(db) == before


def test_signup_race_for_the_same_email_gets_the_same_words(
    app: Flask, client: FlaskClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner = make_partner(db)
    db.commit()
    token = signup_flow(app, partner)
    before = counts(db)

    def same_email_again(session: Session) -> None:
        user = session.scalars(select(ClientUser).order_by(ClientUser.id.desc())).first()
        assert user is not None
        session.add(ClientUser(client_id=user.client_id, email=user.email, password_hash="x"))

    monkeypatch.setattr(
        auth_views, "create_client", racing(auth_views.create_client, same_email_again)
    )
    response = sign_up(client, token, "racer@newcomer.example")

    assert response.status_code == 400
    assert EMAIL_MAY_EXIST in errors(response.text)
    assert counts(db) == before
    assert client.get(f"/signup/numbers?flow={token}").status_code == 303  # nobody logged in


def numbers_step(client: FlaskClient, token: str, phone: str) -> TestResponse:
    page = client.get(f"/signup/numbers?flow={token}").text
    return client.post(
        "/signup/numbers", data={"csrf_token": csrf_token(page), "flow": token, "phone": phone}
    )


@pytest.fixture
def signed_up(app: Flask, client: FlaskClient, db: Session) -> tuple[str, Partner]:
    """A newcomer signed up through a flow, on the numbers step."""
    partner = make_partner(db)
    db.commit()
    token = signup_flow(app, partner)
    response = sign_up(client, token, "new@newcomer.example")
    assert response.headers["Location"] == f"/signup/numbers?flow={token}"
    return token, partner


@HOLDERS
def test_numbers_step_adds_a_number_held_elsewhere_exactly_like_a_free_one(
    client: FlaskClient,
    db: Session,
    signed_up: tuple[str, Partner],
    same_partner: bool,
    status: ChannelStatus,
) -> None:
    token, partner = signed_up
    holder, _ = make_client(db, partner if same_partner else make_partner(db))
    taken = make_channel(db, holder, status=status).phone_number
    db.commit()
    free = new_number()

    as_free = added(client, numbers_step(client, token, free), free)
    as_taken = added(client, numbers_step(client, token, taken), taken)

    assert as_taken == as_free == ["Added NUMBER."]
    assert len(copies(db, taken)) == 2


def test_numbers_step_refuses_the_clients_own_number_and_changes_nothing(
    client: FlaskClient, db: Session, signed_up: tuple[str, Partner]
) -> None:
    token, _partner = signed_up
    number = new_number()
    assert numbers_step(client, token, number).status_code == 303
    before = counts(db)

    response = numbers_step(client, token, number)

    assert response.status_code == 400
    assert NUMBER_ADDED_ALREADY in errors(response.text)
    assert counts(db) == before


def test_numbers_step_race_for_the_same_number_gets_the_same_words(
    client: FlaskClient,
    db: Session,
    signed_up: tuple[str, Partner],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token, _partner = signed_up
    before = counts(db)
    monkeypatch.setattr(
        auth_views, "add_channel", racing(auth_views.add_channel, same_number_again)
    )

    response = numbers_step(client, token, new_number())

    assert response.status_code == 400
    assert NUMBER_ADDED_ALREADY in errors(response.text)
    assert counts(db) == before
