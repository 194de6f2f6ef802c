"""Password reset by mail (SPEC §5.4), at both doors and inside the permission flow: the mails
arrive at a real SMTP server; the tests follow the links in them."""

from __future__ import annotations

import html as markup
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.accounts import limits
from onboarding.models import ClientUser, LoginSession, PartnerUser
from onboarding.partners.service import create_partner_user
from onboarding.security import verify_password
from tests.api import table_rows
from tests.conftest import csrf_token, submit_login
from tests.factories import PASSWORD, make_channel, make_client, make_partner
from tests.mailbox import Mailbox

NEW_PASSWORD = "a brand new passphrase"


@dataclass(frozen=True)
class Door:
    forgot: str
    login: str
    page: str  # behind the login
    landing: str  # where a reset leaves the user


CLIENT = Door("/password/forgot", "/login", "/client/", "/client/")
PARTNER = Door("/hub/password/forgot", "/hub/login", "/hub/clients", "/hub/clients")
DOORS = pytest.mark.parametrize("door", [CLIENT, PARTNER], ids=["client", "partner"])


@dataclass
class Users:
    client_user: ClientUser
    partner_user: PartnerUser

    def at(self, door: Door) -> ClientUser | PartnerUser:
        return self.client_user if door is CLIENT else self.partner_user


@pytest.fixture
def users(db: Session) -> Users:
    partner = make_partner(db)
    client, client_user = make_client(db, partner, email="client@biz.example")
    make_channel(db, client)
    partner_user = create_partner_user(
        db, partner, email="staff@partner.example", password=PASSWORD, role="owner"
    )
    db.commit()
    return Users(client_user, partner_user)


def ask(client: FlaskClient, door: Door, email: str, query: str = "") -> tuple[int, str]:
    page = client.get(door.forgot + query)
    assert page.status_code == 200, page.text
    response = client.post(
        door.forgot + query, data={"csrf_token": csrf_token(page.text), "email": email}
    )
    return response.status_code, markup.unescape(response.text)


def reset(client: FlaskClient, link: str, password: str = NEW_PASSWORD) -> tuple[int, str]:
    page = client.get(link)
    if page.status_code != 200:
        return page.status_code, markup.unescape(page.text)
    data = {"csrf_token": csrf_token(page.text), "password": password}
    flow = parse_qs(urlsplit(link).query).get("flow")
    if flow:
        data["flow"] = flow[0]
    response = client.post(urlsplit(link).path, data=data)
    return response.status_code, response.headers.get("Location") or markup.unescape(response.text)


def log_in(client: FlaskClient, door: Door, email: str, password: str) -> int:
    return submit_login(client, door.login, email, password).status_code


def visible(html: str) -> str:
    """The page's words, without markup, the CSRF token or the address typed."""
    text = re.sub(r"<[^>]+>", " ", re.sub(r'value="[^"]*"', "", html))
    return re.sub(r"\s+", " ", text)


# -- the journey ---------------------------------------------------------------------------------


@DOORS
def test_forgot_password_mail_link_new_password_logged_in(
    client: FlaskClient, db: Session, users: Users, mailbox: Mailbox, door: Door
) -> None:
    user = users.at(door)
    assert "Forgot password?" in client.get(door.login).text
    status, html = ask(client, door, user.email.upper())
    assert status == 200 and "Check your email" in html

    mail = mailbox.last(user.email)
    assert "password" in mail.subject.lower()
    assert "30 minutes" in mail.text and "30 minutes" in mail.html
    status, location = reset(client, mail.link())
    assert (status, location) == (303, door.landing)
    assert client.get(door.page).status_code == 200  # logged in on this browser

    db.expire_all()
    assert verify_password(db.get_one(type(user), user.id).password_hash, NEW_PASSWORD)
    other = client.application.test_client()
    assert log_in(other, door, user.email, PASSWORD) == 401
    assert log_in(other, door, user.email, NEW_PASSWORD) == 303


@DOORS
def test_a_reset_ends_every_other_session_of_the_user(
    app: Flask, db: Session, users: Users, mailbox: Mailbox, door: Door
) -> None:
    user = users.at(door)
    elsewhere = app.test_client()
    assert log_in(elsewhere, door, user.email, PASSWORD) == 303
    here = app.test_client()
    ask(here, door, user.email)
    reset(here, mailbox.last(user.email).link())
    assert elsewhere.get(door.page).status_code == 303  # sent to log in again
    assert here.get(door.page).status_code == 200
    column = LoginSession.client_user_id if door is CLIENT else LoginSession.partner_user_id
    assert len(db.scalars(select(LoginSession).where(column == user.id)).all()) == 1


@DOORS
def test_the_link_works_once(
    client: FlaskClient, users: Users, mailbox: Mailbox, door: Door
) -> None:
    user = users.at(door)
    ask(client, door, user.email)
    link = mailbox.last(user.email).link()
    assert reset(client, link)[0] == 303
    status, html = reset(client.application.test_client(), link, "yet another passphrase")
    assert status == 400
    assert "used already" in html
    assert log_in(client.application.test_client(), door, user.email, NEW_PASSWORD) == 303


def test_a_link_dies_when_the_password_changes_another_way(
    client: FlaskClient, db: Session, users: Users, mailbox: Mailbox
) -> None:
    ask(client, CLIENT, users.client_user.email)
    ask(client, CLIENT, users.client_user.email)
    first, second = (mail.link() for mail in mailbox.to(users.client_user.email))
    assert reset(client, second)[0] == 303
    assert reset(client.application.test_client(), first)[0] == 400


def test_an_expired_link_is_refused_and_offers_a_new_one(
    client: FlaskClient, users: Users, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as past:
        past.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 31 * 60)
        ask(client, CLIENT, users.client_user.email)
    status, html = reset(client, mailbox.last(users.client_user.email).link())
    assert status == 400
    assert "This link has expired" in html and "30 minutes" in html
    assert 'href="/password/forgot"' in html


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "x" + token,
        lambda token: "not-a-token",
    ],
    ids=["signature", "payload", "garbage"],
)
def test_a_tampered_link_is_refused(
    client: FlaskClient, db: Session, users: Users, mailbox: Mailbox, mangle: object
) -> None:
    ask(client, CLIENT, users.client_user.email)
    link = mailbox.last(users.client_user.email).link()
    token = link.rsplit("/", 1)[1]
    before = table_rows(db)
    status, html = reset(client, f"/password/reset/{mangle(token)}")  # type: ignore[operator]
    assert status == 400 and "This link can't be used" in html
    assert table_rows(db) == before


def test_a_verification_link_is_no_reset_link(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    """Each purpose signs with its own salt: a token made for another purpose is refused."""
    from onboarding.accounts import service

    with app.test_request_context():
        token = service.verify_token(users.client_user)
    assert client.get(f"/password/reset/{token}").status_code == 400


# -- the same answer whether or not the address has an account ------------------------------------


@DOORS
def test_an_unknown_address_gets_the_same_answer_and_a_mail_saying_so(
    client: FlaskClient, db: Session, users: Users, mailbox: Mailbox, door: Door
) -> None:
    known_status, known = ask(client, door, users.at(door).email)
    before = table_rows(db)
    unknown_status, unknown = ask(client, door, "nobody@nowhere.example")
    assert unknown_status == known_status == 200
    assert visible(unknown).replace("nobody@nowhere.example", "X") == visible(known).replace(
        users.at(door).email, "X"
    )
    assert table_rows(db) == before
    mail = mailbox.last("nobody@nowhere.example")
    assert "no such" in mail.text and "nothing was changed" in mail.text
    assert "/password/reset/" not in mail.text


def test_the_client_door_knows_no_partner_user_and_the_other_way_round(
    client: FlaskClient, users: Users, mailbox: Mailbox
) -> None:
    ask(client, CLIENT, users.partner_user.email)
    ask(client, PARTNER, users.client_user.email)
    assert "/password/reset/" not in mailbox.last(users.partner_user.email).text
    assert "/password/reset/" not in mailbox.last(users.client_user.email).text


def test_a_failing_mail_server_answers_503_alike_for_every_address(
    client: FlaskClient, users: Users, no_mail_server: None
) -> None:
    for email in (users.client_user.email, "nobody@nowhere.example"):
        status, html = ask(client, CLIENT, email)
        assert status == 503
        assert "could not send the mail just now" in html


# -- refusals -------------------------------------------------------------------------------------


@DOORS
def test_the_forms_need_their_csrf_token(
    client: FlaskClient, db: Session, users: Users, mailbox: Mailbox, door: Door
) -> None:
    response = client.post(door.forgot, data={"email": users.at(door).email})
    assert response.status_code == 400 and "Your form expired" in response.text
    assert mailbox.mails == []
    ask(client, door, users.at(door).email)
    link = mailbox.last(users.at(door).email).link()
    before = table_rows(db)
    response = client.post(link, data={"password": NEW_PASSWORD})
    assert response.status_code == 400 and "Your form expired" in response.text
    assert table_rows(db) == before
    db.expire_all()
    assert verify_password(
        db.get_one(type(users.at(door)), users.at(door).id).password_hash, PASSWORD
    )


def test_a_short_new_password_is_refused_and_the_link_still_works(
    client: FlaskClient, users: Users, mailbox: Mailbox
) -> None:
    ask(client, CLIENT, users.client_user.email)
    link = mailbox.last(users.client_user.email).link()
    status, html = reset(client, link, "short")
    assert status == 400 and "between 12 and 200 characters" in html
    assert reset(client, link)[0] == 303


def test_an_invalid_address_is_refused_without_a_mail(
    client: FlaskClient, mailbox: Mailbox
) -> None:
    status, html = ask(client, CLIENT, "not an address")
    assert status == 400 and "not valid" in html
    assert mailbox.mails == []


def test_reset_mails_are_limited_per_address(
    client: FlaskClient, users: Users, mailbox: Mailbox
) -> None:
    allowed = limits.RULES["reset_per_email"].limit
    for _ in range(allowed):
        assert ask(client, CLIENT, users.client_user.email)[0] == 200
    page = client.get(CLIENT.forgot).text
    response = client.post(
        CLIENT.forgot, data={"csrf_token": csrf_token(page), "email": users.client_user.email}
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many requests. Try again in " in response.text
    german = client.post(
        CLIENT.forgot + "?lang=de",
        data={"csrf_token": csrf_token(page), "email": users.client_user.email},
    )
    assert german.status_code == 429
    assert "Zu viele Anfragen. Versuchen Sie es in " in german.text
    assert len(mailbox.to(users.client_user.email)) == allowed
    # An unknown address is counted the same way, so the limit tells nothing either.
    for _ in range(allowed):
        assert ask(client, CLIENT, "nobody@nowhere.example")[0] == 200
    assert ask(client, CLIENT, "nobody@nowhere.example")[0] == 429


def test_reset_mails_are_limited_per_client_address(client: FlaskClient, mailbox: Mailbox) -> None:
    allowed = limits.RULES["reset_per_address"].limit
    for n in range(allowed):
        assert ask(client, CLIENT, f"someone{n}@nowhere.example")[0] == 200
    assert ask(client, CLIENT, "one-more@nowhere.example")[0] == 429
    assert len(mailbox.mails) == allowed


# -- inside the permission flow -------------------------------------------------------------------


def test_the_permission_flow_survives_a_reset(
    client: FlaskClient, db: Session, users: Users, mailbox: Mailbox
) -> None:
    partner = users.client_user.client.partner
    start = client.get(f"/partners/{partner.public_id}/permission")
    login = start.headers["Location"]
    flow = parse_qs(urlsplit(login).query)["flow"][0]
    login_page = client.get(login).text
    forgot = f"/password/forgot?flow={flow}"
    assert f'href="{forgot}"' in login_page
    assert partner.brand_name in client.get(forgot).text

    status, html = ask(client, CLIENT, users.client_user.email, f"?flow={flow}")
    assert status == 200 and partner.brand_name in html
    link = mailbox.last(users.client_user.email).link()
    assert parse_qs(urlsplit(link).query)["flow"] == [flow]
    assert partner.brand_name in client.get(link).text
    status, location = reset(client, link)
    assert (status, location) == (303, f"/permission/consent?flow={flow}")
    consent = client.get(location)
    assert consent.status_code == 200
    assert "Allow" in consent.text and users.client_user.client.channels[0].phone_number in (
        consent.text
    )


def test_a_broken_flow_on_the_forgot_page_is_refused(client: FlaskClient) -> None:
    response = client.get("/password/forgot?flow=not-a-flow")
    assert response.status_code == 400
    assert "This permission request can&#39;t be used" in response.text
