"""No cache keeps a page or an answer (security issue 7, hole 7): every response that is not a
static file says `Cache-Control: no-store`; static files keep their validators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.models import Channel, Client, ClientUser, Partner
from onboarding.partners.service import create_partner_user
from tests.api import API, PartnerAccount, api_headers, make_account, request_token
from tests.conftest import csrf_token, flow_token, submit_login
from tests.factories import PASSWORD, make_channel, make_client


@dataclass
class World:
    account: PartnerAccount
    customer: Client
    user: ClientUser
    channel: Channel
    staff_email: str

    @property
    def partner(self) -> Partner:
        return self.account.partner


@pytest.fixture
def world(db: Session) -> World:
    account = make_account(db)
    customer, user = make_client(db, account.partner)
    channel = make_channel(db, customer)
    staff = create_partner_user(db, account.partner, email="staff@cache.example", password=PASSWORD)
    db.commit()
    return World(account, customer, user, channel, staff.email)


def client_hub(path: str) -> Callable[[FlaskClient, World], TestResponse]:
    def visit(client: FlaskClient, world: World) -> TestResponse:
        submit_login(client, "/login", world.user.email)
        return client.get(path)

    return visit


def partner_hub(path: str) -> Callable[[FlaskClient, World], TestResponse]:
    def visit(client: FlaskClient, world: World) -> TestResponse:
        submit_login(client, "/hub/login", world.staff_email)
        return client.get(path.format(client_id=world.customer.public_id))

    return visit


def permission_link(client: FlaskClient, world: World) -> TestResponse:
    return client.get(f"/partners/{world.partner.public_id}/permission")


def flow_login_page(client: FlaskClient, world: World) -> TestResponse:
    return client.get(permission_link(client, world).location)


def signup_page(client: FlaskClient, world: World) -> TestResponse:
    link = client.get(f"/partners/{world.partner.public_id}/permission?next=signup")
    return client.get(link.location)


def flow_login(client: FlaskClient, world: World) -> TestResponse:
    return submit_login(client, permission_link(client, world).location, world.user.email)


def consent_screen(client: FlaskClient, world: World) -> TestResponse:
    return client.get(flow_login(client, world).location)


def consent_answer(client: FlaskClient, world: World) -> TestResponse:
    page = consent_screen(client, world).get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "flow": flow_token(page), "action": "cancel"}
    return client.post("/permission/consent", data=form)


def api(path: str) -> Callable[[FlaskClient, World], TestResponse]:
    def visit(client: FlaskClient, world: World) -> TestResponse:
        return client.get(world.account.path(path), headers=api_headers(world.account))

    return visit


PAGES: dict[str, Callable[[FlaskClient, World], TestResponse]] = {
    "client login page": lambda client, world: client.get("/login"),
    "client login answer": lambda client, world: submit_login(client, "/login", world.user.email),
    "wrong password": lambda client, world: submit_login(client, "/login", "nobody@cache.example"),
    "partner hub login page": lambda client, world: client.get("/hub/login"),
    "partner hub login answer": lambda client, world: submit_login(
        client, "/hub/login", "x@y.example"
    ),
    "client hub numbers": client_hub("/client/"),
    "client hub settings": client_hub("/client/settings/partner"),
    "client hub activity": client_hub("/client/activity"),
    "client hub without login": lambda client, world: client.get("/client/"),
    "partner hub clients": partner_hub("/hub/clients"),
    "partner hub client": partner_hub("/hub/clients/{client_id}"),
    "permission link": permission_link,
    "flow login page": flow_login_page,
    "signup page": signup_page,
    "flow login answer": flow_login,
    "consent screen": consent_screen,
    "consent answer": consent_answer,
    "html 404": lambda client, world: client.get("/no/such/page"),
    "api partner": api(""),
    "api clients": api("/clients"),
    "api 404": api("/clients/cl_nothing"),
    "api 401": lambda client, world: client.get(world.account.path()),
    "api token": lambda client, world: request_token(client, world.account),
    "api document": lambda client, world: client.get(f"{API}/openapi.json"),
    "messaging 401": lambda client, world: client.get("/messaging/v1/channel"),
}


@pytest.mark.parametrize("visit", PAGES.values(), ids=PAGES.keys())
def test_no_cache_may_keep_a_page_or_an_answer(
    client: FlaskClient, world: World, visit: Callable[[FlaskClient, World], TestResponse]
) -> None:
    response = visit(client, world)

    assert response.status_code < 500
    assert response.headers.get("Cache-Control") == "no-store"


def test_static_files_keep_their_caching(client: FlaskClient) -> None:
    with client.get("/static/style.css") as response:
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")
        etag = response.headers["ETag"]
    with client.get("/static/style.css", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
        assert "no-store" not in again.headers.get("Cache-Control", "")
