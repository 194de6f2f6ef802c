"""Client login and logout outside a permission flow, and the Client Hub's door."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from onboarding.models import ClientUser
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_channel, make_client, make_partner


def arrange(db: Session) -> ClientUser:
    client, user = make_client(db, make_partner(db))
    make_channel(db, client)
    db.commit()
    return user


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    page = client.get("/login").text
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "email": email, "password": password}
    )
    return response.headers.get("Location", "")


def test_login_without_a_flow_opens_the_client_hub(client: FlaskClient, db: Session) -> None:
    user = arrange(db)
    assert log_in(client, user.email.upper()) == "/client/"
    home = client.get("/client/")
    assert home.status_code == 200
    assert user.client.name in home.text
    assert user.client.channels[0].phone_number in home.text


def test_login_replaces_the_whole_session(client: FlaskClient, db: Session) -> None:
    user = arrange(db)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker before login"
    log_in(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["client_user_id"] == user.id


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
    assert "Not Found" in response.text
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
