"""Password guessing is slowed on both login forms (SPEC: security in every feature)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from onboarding.auth.throttle import LoginThrottle
from onboarding.partners.service import create_partner_user
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_client, make_partner

LIMIT = 3


@pytest.fixture
def small_limit(app: Flask) -> None:
    app.extensions["login_throttle"] = LoginThrottle(limit=LIMIT, window=60)


def client_email(db: Session) -> str:
    _client, user = make_client(db, make_partner(db))
    db.commit()
    return user.email


def partner_email(db: Session) -> str:
    user = create_partner_user(
        db, make_partner(db), email="staff@partner.example", password=PASSWORD
    )
    db.commit()
    return user.email


FORMS = [("/login", client_email), ("/hub/login", partner_email)]


def post_login(
    client: FlaskClient, path: str, email: str, password: str, address: str = "192.0.2.1"
) -> int:
    page = client.get(path).text
    response = client.post(
        path,
        data={"csrf_token": csrf_token(page), "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    client.delete_cookie("session")  # logged in or not, the next attempt starts afresh
    return response.status_code


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize(("path", "arrange"), FORMS, ids=["client", "partner"])
def test_after_the_limit_even_the_right_password_waits(
    client: FlaskClient, db: Session, path: str, arrange: Callable[[Session], str]
) -> None:
    email = arrange(db)
    assert [post_login(client, path, email, "wrong guess") for _ in range(LIMIT)] == [401] * LIMIT

    page = client.get(path).text
    refused = client.post(
        path,
        data={"csrf_token": csrf_token(page), "email": email.upper(), "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.1"},
    )

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in refused.text
    # From another address the owner still gets in: strangers cannot lock a user out.
    assert post_login(client, path, email, PASSWORD, address="198.51.100.7") == 303


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize(("path", "arrange"), FORMS, ids=["client", "partner"])
def test_a_successful_login_clears_the_failures(
    client: FlaskClient, db: Session, path: str, arrange: Callable[[Session], str]
) -> None:
    email = arrange(db)
    for _ in range(LIMIT - 1):
        assert post_login(client, path, email, "wrong guess") == 401
    assert post_login(client, path, email, PASSWORD) == 303
    for _ in range(LIMIT - 1):
        assert post_login(client, path, email, "wrong guess") == 401
    assert post_login(client, path, email, PASSWORD) == 303


def test_failures_age_out_of_the_window() -> None:
    throttle = LoginThrottle(limit=2, window=60)
    key = ("ClientUser", "a@b.example", "192.0.2.1")
    throttle.failed(key, now=0)
    throttle.failed(key, now=10)
    assert throttle.retry_after(key, now=30) == 30
    assert throttle.retry_after(key, now=60.5) == 0  # the first failure has aged out
