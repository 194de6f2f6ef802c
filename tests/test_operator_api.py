"""The operator API (`/ops/v1`, SPEC §6.1) over HTTP: its token, its off switch, its two
endpoints and every refusal, each answer checked against the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding import create_app
from onboarding.models import AuditEvent, BillingModel, Channel, Client, Partner
from onboarding.partners.service import create_partner_user
from tests.api import (
    PERMISSION,
    PartnerAccount,
    add_client,
    add_line,
    api_headers,
    assert_documented,
    assert_problem,
    make_account,
    table_rows,
)
from tests.conftest import csrf_token
from tests.factories import PASSWORD

TOKEN = "ops-test-token-0123456789abcdefghijklmnopqrstuvwxyz"
OPS = "/ops/v1"
STATUS = "/channels/{channel_id}/status"
BILLING = "/partners/{partner_id}/billing_model"


@pytest.fixture
def operator(app: Flask) -> dict[str, str]:
    """The API on, and the headers of its operator."""
    app.config["OPERATOR_TOKEN"] = TOKEN
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def account(db: Session) -> PartnerAccount:
    account = make_account(db, webhook_url="https://partner.example/hooks")
    db.commit()
    return account


@pytest.fixture
def channel(db: Session, account: PartnerAccount) -> Channel:
    channel = add_line(db, add_client(db, account), running=False)
    db.commit()
    return channel


def put_status(
    client: FlaskClient, channel_id: str, body: Any, headers: dict[str, str]
) -> TestResponse:
    return client.put(f"{OPS}/channels/{channel_id}/status", json=body, headers=headers)


def put_billing(
    client: FlaskClient, partner_id: str, body: Any, headers: dict[str, str]
) -> TestResponse:
    return client.put(f"{OPS}/partners/{partner_id}/billing_model", json=body, headers=headers)


def status_events(db: Session) -> list[tuple[str, dict[str, Any]]]:
    db.expire_all()
    rows = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.type == "channel.status_changed")
        .order_by(AuditEvent.id)
    )
    return [(event.actor, event.data) for event in rows]


# --- channel status ----------------------------------------------------------------------------


def test_put_status_moves_the_channel_and_records_it(
    client: FlaskClient, db: Session, operator: dict[str, str], channel: Channel
) -> None:
    response = put_status(client, channel.public_id, {"status": "running"}, operator)

    body = assert_documented(response, "put", STATUS, 200)
    assert body == {
        "id": channel.public_id,
        "client_id": channel.client.public_id,
        "phone_number": channel.phone_number,
        "status": "running",
    }
    assert status_events(db) == [
        (
            "operator_api",
            {
                "client_id": channel.client.public_id,
                "channel_id": channel.public_id,
                "channel_ids": [channel.public_id],
                "from": "pending",
                "to": "running",
            },
        )
    ]
    assert db.get_one(Channel, channel.id).status == "running"  # read afresh by status_events


def test_put_the_same_status_answers_200_and_records_nothing(
    client: FlaskClient, db: Session, operator: dict[str, str], channel: Channel
) -> None:
    before = table_rows(db)

    response = put_status(client, channel.public_id, {"status": "pending"}, operator)

    assert assert_documented(response, "put", STATUS, 200)["status"] == "pending"
    assert table_rows(db) == before


def test_a_running_channel_gets_keys_and_the_partner_sees_the_event(
    client: FlaskClient, db: Session, operator: dict[str, str], account: PartnerAccount
) -> None:
    """R8 and R9 end to end: pending refuses keys (409), running gets them."""
    channel = add_line(db, add_client(db, account), running=False, shared=True)
    db.commit()
    keys = account.path(f"/channels/{channel.public_id}/api_keys")
    assert client.post(keys, headers=api_headers(account)).status_code == 409

    put_status(client, channel.public_id, {"status": "running"}, operator)

    assert client.post(keys, headers=api_headers(account)).status_code == 201
    feed = client.get(account.path("/events"), headers=api_headers(account))
    types = [event["type"] for event in feed.get_json()["events"]]
    assert "channel.status_changed" in types


def test_a_number_running_elsewhere_is_409_naming_the_channel(
    client: FlaskClient, db: Session, operator: dict[str, str], channel: Channel
) -> None:
    other_client = add_client(db, make_account(db))
    running = Channel(
        client=other_client, phone_number=channel.phone_number, name="Twin", status="running"
    )
    db.add(running)
    db.commit()
    before = table_rows(db)

    response = put_status(client, channel.public_id, {"status": "running"}, operator)

    problem = assert_problem(response, "put", STATUS, 409, "conflict")
    assert running.public_id in problem["detail"]
    assert table_rows(db) == before


STATUS_REFUSALS: list[Any] = [
    pytest.param({"status": "active"}, 400, id="unknown status"),
    pytest.param({"status": "Running"}, 400, id="status in capitals"),
    pytest.param({"status": None}, 400, id="status null"),
    pytest.param({"status": 1}, 400, id="status a number"),
    pytest.param({}, 400, id="no status"),
    pytest.param({"status": "running", "name": "x"}, 400, id="unknown field"),
    pytest.param(["running"], 400, id="array body"),
]


@pytest.mark.parametrize(("body", "status"), STATUS_REFUSALS)
def test_put_status_refuses_a_bad_body_and_changes_nothing(
    client: FlaskClient,
    db: Session,
    operator: dict[str, str],
    channel: Channel,
    body: Any,
    status: int,
) -> None:
    before = table_rows(db)

    response = put_status(client, channel.public_id, body, operator)

    assert_problem(response, "put", STATUS, status, "invalid_request")
    assert table_rows(db) == before


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("status=running", "application/x-www-form-urlencoded", 415),
        ('{"status": "running"', "application/json", 400),
        ("", None, 415),
    ],
    ids=["form", "malformed json", "no body"],
)
def test_put_status_wants_a_json_object(
    client: FlaskClient,
    db: Session,
    operator: dict[str, str],
    channel: Channel,
    data: str,
    content_type: str | None,
    status: int,
) -> None:
    before = table_rows(db)

    response = client.put(
        f"{OPS}/channels/{channel.public_id}/status",
        data=data,
        content_type=content_type,
        headers=operator,
    )

    assert_problem(response, "put", STATUS, status, "invalid_request")
    assert table_rows(db) == before


def test_put_status_of_an_unknown_channel_is_404(
    client: FlaskClient, operator: dict[str, str]
) -> None:
    response = put_status(client, "ch_doesNotExist", {"status": "running"}, operator)

    assert_problem(response, "put", STATUS, 404, "not_found")


# --- billing model -----------------------------------------------------------------------------


def test_put_billing_model_sets_it(
    client: FlaskClient, db: Session, operator: dict[str, str], account: PartnerAccount
) -> None:
    response = put_billing(client, account.id, {"billing_model": "partner_payment"}, operator)

    body = assert_documented(response, "put", BILLING, 200)
    assert body == {"id": account.id, "billing_model": "partner_payment"}
    db.expire_all()
    assert db.get_one(Partner, account.partner.id).billing_model == "partner_payment"


def test_billing_model_change_applies_to_channels_created_afterwards(
    client: FlaskClient, db: Session, operator: dict[str, str], account: PartnerAccount
) -> None:
    """R2: existing grants (and their absence) stay as they were."""
    customer = add_client(db, account)
    before = add_line(db, customer)
    db.commit()

    def set_billing(model: str) -> None:
        response = put_billing(client, account.id, {"billing_model": model}, operator)
        assert assert_documented(response, "put", BILLING, 200)["billing_model"] == model
        db.expire_all()  # read the partner afresh, as the next request making a channel would

    def permission(channel: Channel) -> tuple[str, str | None]:
        path = account.path(f"/channels/{channel.public_id}/permission")
        body = assert_documented(client.get(path, headers=api_headers(account)), "get", PERMISSION)
        return body["status"], body["granted_via"]

    set_billing("partner_payment")
    during = add_line(db, db.get_one(Client, customer.id))
    db.commit()
    set_billing("direct_payment")
    after = add_line(db, db.get_one(Client, customer.id))
    db.commit()

    assert permission(before) == ("missing", None)
    assert permission(during) == ("shared", "billing_default")
    assert permission(after) == ("missing", None)


@pytest.mark.parametrize(
    "body",
    [
        {"billing_model": "free"},
        {"billing_model": None},
        {},
        {"billing_model": "partner_payment", "sandbox": True},
        ["partner_payment"],
    ],
    ids=["unknown", "null", "missing", "unknown field", "array"],
)
def test_put_billing_model_refuses_a_bad_body_and_changes_nothing(
    client: FlaskClient,
    db: Session,
    operator: dict[str, str],
    account: PartnerAccount,
    body: Any,
) -> None:
    before = table_rows(db)

    response = put_billing(client, account.id, body, operator)

    assert_problem(response, "put", BILLING, 400, "invalid_request")
    assert table_rows(db) == before


def test_put_billing_model_of_an_unknown_partner_is_404(
    client: FlaskClient, operator: dict[str, str]
) -> None:
    response = put_billing(client, "pa_doesNotExist", {"billing_model": "direct_payment"}, operator)

    assert_problem(response, "put", BILLING, 404, "not_found")


# --- the token, and the API switched off --------------------------------------------------------

WRONG_CREDENTIALS = [
    pytest.param({}, id="no header"),
    pytest.param({"Authorization": f"Bearer {TOKEN}x"}, id="wrong token"),
    pytest.param({"Authorization": f"Bearer {TOKEN[:-1]}"}, id="token prefix"),
    pytest.param({"Authorization": "Bearer "}, id="empty token"),
    pytest.param({"Authorization": f"Basic {TOKEN}"}, id="basic scheme"),
    pytest.param({"Authorization": TOKEN}, id="no scheme"),
    pytest.param({"X-API-Key": TOKEN}, id="as a partner api key"),
]


@pytest.mark.parametrize("headers", WRONG_CREDENTIALS)
def test_a_missing_or_wrong_token_is_401_and_changes_nothing(
    client: FlaskClient,
    db: Session,
    operator: dict[str, str],
    channel: Channel,
    account: PartnerAccount,
    headers: dict[str, str],
) -> None:
    before = table_rows(db)

    responses = [
        (put_status(client, channel.public_id, {"status": "running"}, headers), STATUS),
        (put_billing(client, account.id, {"billing_model": "partner_payment"}, headers), BILLING),
    ]

    for response, template in responses:
        assert_problem(response, "put", template, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="operator-api"')
    assert table_rows(db) == before


def test_a_partners_credentials_do_not_open_the_operator_api(
    client: FlaskClient, db: Session, operator: dict[str, str], account: PartnerAccount
) -> None:
    response = put_billing(
        client, account.id, {"billing_model": "partner_payment"}, api_headers(account)
    )

    assert_problem(response, "put", BILLING, 401, "unauthorized")


def test_the_scheme_name_is_case_insensitive(
    client: FlaskClient, operator: dict[str, str], channel: Channel
) -> None:
    response = put_status(
        client, channel.public_id, {"status": "running"}, {"Authorization": f"bearer {TOKEN}"}
    )

    assert_documented(response, "put", STATUS, 200)


@pytest.mark.parametrize("configured", [None, ""], ids=["unset", "empty"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/channels/{channel}/status"),
        ("put", "/partners/{partner}/billing_model"),
        ("get", "/channels/{channel}/status"),
        ("get", ""),
        ("post", "/anything/else"),
    ],
)
def test_while_no_token_is_configured_every_path_is_404(
    app: Flask,
    client: FlaskClient,
    db: Session,
    channel: Channel,
    account: PartnerAccount,
    configured: str | None,
    method: str,
    path: str,
) -> None:
    app.config["OPERATOR_TOKEN"] = configured
    before = table_rows(db)
    url = OPS + path.format(channel=channel.public_id, partner=account.id)

    for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": "Bearer "}):
        response = client.open(
            url, method=method.upper(), json={"status": "running"}, headers=headers
        )

        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "not_found"
        assert "WWW-Authenticate" not in response.headers
    assert table_rows(db) == before


def test_unknown_paths_under_ops_answer_problem_json(
    client: FlaskClient, operator: dict[str, str]
) -> None:
    response = client.get(f"{OPS}/nothing/here", headers=operator)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_other_doors_are_untouched_by_the_operator_token(
    client: FlaskClient, operator: dict[str, str]
) -> None:
    """The guard looks only at /ops: the hub's own pages answer as before."""
    assert client.get("/hub/login").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_a_short_operator_token_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        create_app({"OPERATOR_TOKEN": "short", "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})


# --- the Partner Hub has no control for the billing model ---------------------------------------


def test_the_partner_hub_shows_the_billing_model_but_cannot_change_it(
    client: FlaskClient, db: Session
) -> None:
    account = make_account(db, billing=BillingModel.PARTNER_PAYMENT)
    owner = create_partner_user(
        db, account.partner, email="owner@billing.example", password=PASSWORD, role="owner"
    )
    db.commit()
    page = client.get("/hub/login").text
    client.post(
        "/hub/login",
        data={"csrf_token": csrf_token(page), "email": owner.email, "password": PASSWORD},
    )

    html = client.get("/hub/settings").text

    assert "You pay: new numbers are shared with you by default" in html
    assert 'name="billing' not in html
    assert "partner_payment" not in html and "direct_payment" not in html
