"""Each hub's account page (SPEC §5.4): password change (current password required; every other
session ends, this one stays) and "log out everywhere" (every session ends, this one too)."""

from __future__ import annotations

import html as markup
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from onboarding.accounts import limits
from onboarding.models import ClientUser, PartnerUser
from onboarding.partners.service import create_partner_user
from onboarding.security import verify_password
from tests.api import table_rows
from tests.conftest import csrf_token, submit_login
from tests.factories import PASSWORD, make_client, make_partner

NEW = "another long passphrase"


@dataclass(frozen=True)
class Door:
    login: str
    account: str
    page: str


CLIENT = Door("/login", "/client/account", "/client/")
PARTNER = Door("/hub/login", "/hub/account", "/hub/clients")
DOORS = pytest.mark.parametrize("door", [CLIENT, PARTNER], ids=["client", "partner"])


@pytest.fixture
def users(db: Session) -> dict[str, ClientUser | PartnerUser]:
    partner = make_partner(db)
    _client, client_user = make_client(db, partner)
    partner_user = create_partner_user(db, partner, email="me@partner.example", password=PASSWORD)
    db.commit()
    return {CLIENT.login: client_user, PARTNER.login: partner_user}


def log_in(client: FlaskClient, door: Door, email: str, password: str = PASSWORD) -> int:
    return submit_login(client, door.login, email, password).status_code


def change(client: FlaskClient, door: Door, current: str, new: str) -> tuple[int, str]:
    page = client.get(door.account)
    assert page.status_code == 200
    response = client.post(
        f"{door.account}/password",
        data={
            "csrf_token": csrf_token(page.text),
            "current_password": current,
            "new_password": new,
        },
    )
    return response.status_code, markup.unescape(response.text)


@DOORS
def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(
    app: Flask, db: Session, users: dict[str, ClientUser | PartnerUser], door: Door
) -> None:
    user = users[door.login]
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        assert log_in(browser, door, user.email) == 303
    assert "Change password" in here.get(door.account).text
    status, _ = change(here, door, PASSWORD, NEW)
    assert status == 303
    assert "Your password is changed" in markup.unescape(here.get(door.account).text)
    assert here.get(door.page).status_code == 200
    assert elsewhere.get(door.page).status_code == 303
    db.expire_all()
    assert verify_password(db.get_one(type(user), user.id).password_hash, NEW)
    assert log_in(app.test_client(), door, user.email, PASSWORD) == 401


@DOORS
@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        ("not my password", NEW, "Your current password is not right."),
        (PASSWORD, "short", "between 12 and 200 characters"),
        (PASSWORD, "qwerty123456", "one of the most common ones"),
        (PASSWORD, PASSWORD, "other than your current one"),
    ],
)
def test_a_refused_change_changes_nothing(
    app: Flask,
    client: FlaskClient,
    db: Session,
    users: dict[str, ClientUser | PartnerUser],
    door: Door,
    current: str,
    new: str,
    message: str,
) -> None:
    user = users[door.login]
    elsewhere = app.test_client()
    log_in(elsewhere, door, user.email)
    log_in(client, door, user.email)
    before = table_rows(db)
    status, html = change(client, door, current, new)
    assert status == 400 and message in html
    assert table_rows(db) == before
    assert elsewhere.get(door.page).status_code == 200


@DOORS
def test_the_forms_need_their_csrf_token(
    client: FlaskClient, db: Session, users: dict[str, ClientUser | PartnerUser], door: Door
) -> None:
    log_in(client, door, users[door.login].email)
    before = table_rows(db)
    for action in ("password", "log-out-everywhere"):
        response = client.post(
            f"{door.account}/{action}", data={"current_password": PASSWORD, "new_password": NEW}
        )
        assert response.status_code == 400
    assert table_rows(db) == before
    assert client.get(door.page).status_code == 200


@DOORS
def test_wrong_current_passwords_are_limited(
    client: FlaskClient, users: dict[str, ClientUser | PartnerUser], door: Door
) -> None:
    log_in(client, door, users[door.login].email)
    for _ in range(limits.RULES["current_password_per_user"].limit):
        assert change(client, door, "wrong guess", NEW)[0] == 400
    status, html = change(client, door, PASSWORD, NEW)  # even the right one, for now
    assert status == 429 and "Too many requests" in html


@DOORS
def test_log_out_everywhere_ends_every_session_this_one_too(
    app: Flask, users: dict[str, ClientUser | PartnerUser], door: Door
) -> None:
    user = users[door.login]
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        log_in(browser, door, user.email)
    page = here.get(door.account).text
    assert "Log out everywhere" in page
    response = here.post(
        f"{door.account}/log-out-everywhere", data={"csrf_token": csrf_token(page)}
    )
    assert (response.status_code, response.headers["Location"]) == (303, door.login)
    assert here.get(door.page).status_code == 303
    assert elsewhere.get(door.page).status_code == 303
    assert log_in(here, door, user.email) == 303  # the password still works
