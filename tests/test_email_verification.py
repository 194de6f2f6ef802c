"""E-mail verification of clients who sign up (SPEC §5.4): a link by mail after signup, the consent
working before it, the link working without a login, a resend button, and `email_verified` in
the Partner API and the Partner Hub."""

from __future__ import annotations

import html as markup
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.accounts import limits, service
from onboarding.models import Client, ClientUser, Partner, PartnerUser
from onboarding.partners.service import create_partner, create_partner_user
from tests.conftest import csrf_token, submit_login
from tests.factories import PASSWORD, REDIRECT_URL, make_client, make_partner
from tests.mailbox import Mailbox

EMAIL = "founder@newbiz.example"


def sign_up(client: FlaskClient, partner: Partner, email: str = EMAIL) -> str:
    """Through the permission link: returns the flow token."""
    start = client.get(f"/partners/{partner.public_id}/permission?next=signup")
    flow = parse_qs(urlsplit(start.headers["Location"]).query)["flow"][0]
    page = client.get(start.headers["Location"]).text
    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_token(page),
            "flow": flow,
            "company": "New Biz Ltd",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303, response.text
    return flow


def user(db: Session, email: str = EMAIL) -> ClientUser:
    db.expire_all()
    return db.scalars(select(ClientUser).where(ClientUser.email == email)).one()


def test_signup_mails_a_link_that_verifies_without_a_login(
    app: Flask, client: FlaskClient, db: Session, mailbox: Mailbox
) -> None:
    partner = make_partner(db)
    db.commit()
    flow = sign_up(client, partner)
    numbers = markup.unescape(client.get(f"/signup/numbers?flow={flow}").text)
    assert f"We sent a link to {EMAIL} to verify your address." in numbers
    assert user(db).email_verified_at is None

    mail = mailbox.last(EMAIL)
    assert mail.subject == "Verify your email address for New Biz Ltd"
    assert "7 days" in mail.text and partner.brand_name in mail.text
    stranger = app.test_client()  # another browser, not logged in
    page = stranger.get(mail.link())
    assert page.status_code == 200 and "Your email address is verified" in page.text
    verified_at = user(db).email_verified_at
    assert verified_at is not None
    assert stranger.get(mail.link()).status_code == 200  # again: fine, and the time stays
    assert user(db).email_verified_at == verified_at


def test_the_consent_works_before_the_address_is_verified(
    client: FlaskClient, db: Session, mailbox: Mailbox
) -> None:
    partner = make_partner(db)
    db.commit()
    flow = sign_up(client, partner)
    page = client.get(f"/permission/consent?flow={flow}")
    assert page.status_code == 200
    response = client.post(
        "/permission/consent",
        data={"csrf_token": csrf_token(page.text), "flow": flow, "action": "allow"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith(REDIRECT_URL)
    assert user(db).email_verified_at is None


def test_a_signup_whose_mail_fails_still_works_and_says_so(
    client: FlaskClient, db: Session, no_mail_server: None
) -> None:
    partner = make_partner(db)
    db.commit()
    flow = sign_up(client, partner)
    page = markup.unescape(client.get(f"/signup/numbers?flow={flow}").text)
    assert "We could not send the mail to verify your address just now" in page


@pytest.mark.parametrize("mangle", ["tamper", "other purpose", "old address"])
def test_a_bad_link_verifies_nothing(
    app: Flask, client: FlaskClient, db: Session, mangle: str
) -> None:
    _client, found = make_client(db, make_partner(db))
    db.commit()
    with app.test_request_context():
        token = {
            "tamper": service.verify_token(found)[:-3] + "xyz",
            "other purpose": service.reset_token(found),
            "old address": service.tokens.verify_token(found.public_id, "old@address.example"),
        }[mangle]
    page = client.get(f"/verify-email/{token}")
    assert page.status_code == 400 and "This link can" in page.text
    assert user(db, found.email).email_verified_at is None


def test_an_expired_link_says_how_to_get_a_new_one(
    app: Flask, client: FlaskClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _client, found = make_client(db, make_partner(db))
    db.commit()
    with app.test_request_context(), monkeypatch.context() as past:
        past.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 8 * 86400)
        token = service.verify_token(found)
    page = client.get(f"/verify-email/{token}")
    assert page.status_code == 400
    assert "This link has expired" in page.text and "7 days" in page.text
    assert user(db, found.email).email_verified_at is None


# -- the Client Hub's resend button ---------------------------------------------------------------


def log_in(client: FlaskClient, email: str) -> None:
    assert submit_login(client, "/login", email).status_code == 303


def test_the_account_page_resends_the_link_while_unverified(
    client: FlaskClient, db: Session, mailbox: Mailbox
) -> None:
    _client, found = make_client(db, make_partner(db))
    db.commit()
    log_in(client, found.email)
    page = client.get("/client/account").text
    assert "Not verified" in page and "Send the link again" in page
    response = client.post("/client/account/verify-email", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert f"We sent a new link to {found.email}" in markup.unescape(
        client.get("/client/account").text
    )
    assert client.get(mailbox.last(found.email).link()).status_code == 200
    page = client.get("/client/account").text
    assert "Verified" in page and "Send the link again" not in page


def test_resending_needs_the_csrf_token_and_is_limited(
    client: FlaskClient, db: Session, mailbox: Mailbox
) -> None:
    _client, found = make_client(db, make_partner(db))
    db.commit()
    log_in(client, found.email)
    response = client.post("/client/account/verify-email")
    assert response.status_code == 400
    assert mailbox.mails == []
    token = csrf_token(client.get("/client/account").text)
    allowed = limits.RULES["verify_per_user"].limit
    for _ in range(allowed + 1):
        client.post("/client/account/verify-email", data={"csrf_token": token})
    assert len(mailbox.to(found.email)) == allowed
    assert "Too many requests" in client.get("/client/account").text


# -- what the partner sees ------------------------------------------------------------------------


def test_the_partner_api_and_hub_show_email_verified(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    partner, credentials = create_partner(
        db,
        name="P",
        billing_model="direct_payment",
        redirect_urls=[REDIRECT_URL],  # type: ignore[arg-type]
    )
    staff = create_partner_user(
        db, partner, email="staff@p.example", password=PASSWORD, role="owner"
    )
    verified, verified_user = make_client(db, partner)
    unverified, _ = make_client(db, partner)
    db.commit()
    with app.test_request_context():
        client.get(f"/verify-email/{service.verify_token(verified_user)}")

    headers = {"X-API-Key": credentials.api_key}
    listed = client.get(f"/api/v1/partners/{partner.public_id}/clients", headers=headers).json
    assert listed is not None
    flags = {item["id"]: item["email_verified"] for item in listed["clients"]}
    assert flags == {verified.public_id: True, unverified.public_id: False}
    one = client.get(
        f"/api/v1/partners/{partner.public_id}/clients/{unverified.public_id}", headers=headers
    ).json
    assert one is not None and one["email_verified"] is False

    hub = app.test_client()
    page = hub.get("/hub/login").text
    hub.post(
        "/hub/login",
        data={"csrf_token": csrf_token(page), "email": staff.email, "password": PASSWORD},
    )
    assert "Verified" in hub.get(f"/hub/clients/{verified.public_id}").text
    assert "Not verified" in hub.get(f"/hub/clients/{unverified.public_id}").text


def test_clients_made_by_the_operator_cli_start_unverified(app: Flask, db: Session) -> None:
    partner = make_partner(db)
    db.commit()
    result = app.test_cli_runner().invoke(
        args=[
            "create-client",
            "--partner",
            partner.public_id,
            "--name",
            "Cli Co",
            "--email",
            "cli@co.example",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert user(db, "cli@co.example").email_verified_at is None
    assert db.scalar(select(Client).where(Client.name == "Cli Co")) is not None
    assert db.scalar(select(PartnerUser).where(PartnerUser.email == "cli@co.example")) is None
