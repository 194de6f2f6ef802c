"""Client login and logout outside a permission flow, and the Client Hub's door."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onboarding.consent import flow as flows
from onboarding.consent.request import PermissionRequest
from onboarding.models import Client, ClientUser, LoginSession, Partner, Permission
from onboarding.phones import readable
from onboarding.security import hash_secret
from tests.conftest import csrf_token, submit_login
from tests.factories import PASSWORD, REDIRECT_URL, make_channel, make_client, make_partner


def arrange(db: Session) -> ClientUser:
    client, user = make_client(db, make_partner(db))
    make_channel(db, client)
    db.commit()
    return user


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    return submit_login(client, "/login", email, password).headers.get("Location", "")


def test_login_without_a_flow_opens_the_client_hub(client: FlaskClient, db: Session) -> None:
    user = arrange(db)
    assert log_in(client, user.email.upper()) == "/client/"
    home = client.get("/client/")
    assert home.status_code == 200
    assert user.client.name in home.text
    assert readable(user.client.channels[0].phone_number) in home.text


def test_login_replaces_the_whole_session(client: FlaskClient, db: Session) -> None:
    user = arrange(db)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker before login"
    log_in(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        token = session["login"]
    login = db.scalar(select(LoginSession).where(LoginSession.token_hash == hash_secret(token)))
    assert login is not None and login.client_user_id == user.id


def test_wrong_password_is_refused_alike_for_unknown_emails(
    client: FlaskClient, db: Session
) -> None:
    user = arrange(db)
    for email in (user.email, "nobody@nowhere.example"):
        page = client.get("/login").text
        response = client.post(
            "/login",
            data={"csrf_token": csrf_token(page), "email": email, "password": "wrong password"},
        )
        assert response.status_code == 401
        assert "Wrong email or password." in response.text
    assert client.get("/client/").status_code == 303


def test_logout_ends_the_session(client: FlaskClient, db: Session) -> None:
    user = arrange(db)
    log_in(client, user.email)
    home = client.get("/client/").text
    response = client.post("/logout", data={"csrf_token": csrf_token(home)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert client.get("/client/").headers["Location"] == "/login"


def test_logout_without_csrf_token_is_refused(client: FlaskClient, db: Session) -> None:
    user = arrange(db)
    log_in(client, user.email)
    assert client.post("/logout").status_code == 400
    assert client.get("/client/").status_code == 200


def test_client_hub_requires_login(client: FlaskClient) -> None:
    response = client.get("/client/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"


def test_signup_outside_a_flow_is_refused(client: FlaskClient) -> None:
    response = client.get("/signup")
    assert response.status_code == 400
    assert "Sign up through your partner" in response.text


def test_unknown_pages_are_readable_html_with_security_headers(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page not found" in response.text
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


# -- the flow's own pages, reached the wrong way ----------------------------------------------


def flow_for(app: Flask, partner: Partner) -> str:
    with app.app_context():
        return flows.issue(
            PermissionRequest(partner_id=partner.public_id, redirect_url=REDIRECT_URL)
        )


def test_signup_with_a_taken_email_creates_nothing(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    user = arrange(db)
    token = flow_for(app, user.client.partner)
    page = client.get(f"/signup?flow={token}").text
    before = db.scalar(select(func.count()).select_from(Client))

    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_token(page),
            "flow": token,
            "company": "Copycat Ltd",
            "email": user.email.upper(),
            "password": PASSWORD,
        },
    )

    assert response.status_code == 400
    assert "An account with this email may already exist" in response.text
    assert db.scalar(select(func.count()).select_from(Client)) == before


@pytest.mark.parametrize("path", ["/signup/numbers", "/permission/consent"])
def test_flow_pages_send_a_stranger_to_login_with_the_flow(
    app: Flask, client: FlaskClient, db: Session, path: str
) -> None:
    token = flow_for(app, make_partner(db))
    db.commit()

    response = client.get(f"{path}?flow={token}")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/login?flow={token}"


def test_numbers_step_refuses_a_client_of_another_partner(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    user = arrange(db)
    token = flow_for(app, make_partner(db))
    db.commit()
    log_in(client, user.email)

    response = client.get(f"/signup/numbers?flow={token}")

    assert response.status_code == 403
    assert "belongs to another partner" in response.text


def test_consent_answer_without_its_flow_changes_nothing(client: FlaskClient, db: Session) -> None:
    user = arrange(db)
    log_in(client, user.email)
    page = client.get("/client/").text

    response = client.post(
        "/permission/consent",
        data={
            "csrf_token": csrf_token(page),
            "channels": [user.client.channels[0].public_id],
            "action": "allow",
        },
    )

    assert response.status_code == 400
    assert "Location" not in response.headers
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Permission)) == 0
