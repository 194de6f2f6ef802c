"""Webhooks through the Partner API (SPEC §6): a test event, the delivery log with payloads and
attempts, redelivery; each refusal answered in problem+json and changing nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from onboarding.models import AuditEvent, WebhookOutbox
from onboarding.webhooks.delivery import deliver_due
from tests.api import (
    API,
    DELIVERIES,
    DELIVERY,
    REDELIVER,
    WEBHOOK_TEST,
    PartnerAccount,
    add_client,
    api_headers,
    assert_documented,
    assert_problem,
    make_account,
    table_rows,
)
from tests.test_webhooks import LOCAL, Receiver, _handler

TEST = WEBHOOK_TEST


@pytest.fixture
def endpoint(app: Flask) -> Iterator[Receiver]:
    """The partner's endpoint, on 127.0.0.1 (the test app allows private addresses)."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def account(app: Flask, db: Session, endpoint: Receiver) -> PartnerAccount:
    with app.app_context():
        account = make_account(db, webhook_url=endpoint.url)
    db.commit()
    return account


def url(account: PartnerAccount, template: str, delivery_id: str = "") -> str:
    return API + template.format(partner_id=account.id, delivery_id=delivery_id)


def test_a_test_event_is_queued_delivered_and_logged_with_its_payload(
    client: FlaskClient, db: Session, account: PartnerAccount, endpoint: Receiver
) -> None:
    headers = api_headers(account)
    queued = client.post(url(account, TEST), headers=headers)

    body = assert_documented(queued, "post", TEST, 202)
    assert body["status"] == "pending" and body["attempts"] == []
    assert body["payload"] == {
        "id": body["id"],
        "type": "webhook.test",
        "created_at": body["payload"]["created_at"],
        "actor": {"type": "partner_api_key", "id": body["payload"]["actor"]["id"]},
        "data": {"message": "A test event from the onboarding hub."},
    }
    assert deliver_due(db, post=LOCAL) == 1

    (received,) = endpoint.requests
    assert received.event_id == body["id"]
    assert json.loads(received.body) == body["payload"]  # the log shows what was sent
    log = client.get(url(account, DELIVERIES), headers=headers)
    (delivery,) = assert_documented(log, "get", DELIVERIES, 200)["deliveries"]
    assert delivery["id"] == body["id"] and delivery["status"] == "delivered"
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"]
    assert [(a["status_code"], a["error"], a["url"]) for a in delivery["attempts"]] == [
        (200, None, endpoint.url)
    ]
    one = client.get(url(account, DELIVERY, body["id"]), headers=headers)
    assert assert_documented(one, "get", DELIVERY, 200) == delivery


def test_the_log_pages_oldest_first_and_filters_by_status(
    client: FlaskClient, db: Session, account: PartnerAccount, endpoint: Receiver
) -> None:
    endpoint.fail_first = 1  # the first event's first attempt fails: it stays pending
    add_client(db, account)  # client.created
    db.commit()
    headers = api_headers(account)
    test_id = client.post(url(account, TEST), headers=headers).get_json()["id"]
    deliver_due(db, post=LOCAL)  # the first event fails once; the test event waits behind it

    first = client.get(url(account, DELIVERIES), query_string={"limit": 1}, headers=headers)
    page = assert_documented(first, "get", DELIVERIES, 200)
    assert [d["payload"]["type"] for d in page["deliveries"]] == ["client.created"]
    assert page["deliveries"][0]["attempts"][0]["status_code"] == 500
    rest = client.get(
        url(account, DELIVERIES),
        query_string={"limit": 1, "cursor": page["next_cursor"]},
        headers=headers,
    )
    second = assert_documented(rest, "get", DELIVERIES, 200)
    assert [d["id"] for d in second["deliveries"]] == [test_id]
    assert second["next_cursor"] is None
    delivered = client.get(
        url(account, DELIVERIES), query_string={"status": "delivered"}, headers=headers
    )
    assert assert_documented(delivered, "get", DELIVERIES, 200)["deliveries"] == []


def test_redelivery_sends_the_same_event_again_and_keeps_the_attempts(
    client: FlaskClient, db: Session, account: PartnerAccount, endpoint: Receiver
) -> None:
    headers = api_headers(account)
    event_id = client.post(url(account, TEST), headers=headers).get_json()["id"]
    deliver_due(db, post=LOCAL)

    again = client.post(url(account, REDELIVER, event_id), headers=headers)

    body = assert_documented(again, "post", REDELIVER, 202)
    assert body["status"] == "pending" and body["next_attempt_at"] is not None
    assert len(body["attempts"]) == 1
    assert deliver_due(db, post=LOCAL) == 1
    assert [r.event_id for r in endpoint.requests] == [event_id, event_id]
    assert endpoint.requests[0].body == endpoint.requests[1].body
    log = client.get(url(account, DELIVERY, event_id), headers=headers).get_json()
    assert log["status"] == "delivered" and len(log["attempts"]) == 2


def test_redelivering_a_pending_delivery_is_a_conflict_that_changes_nothing(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    headers = api_headers(account)
    event_id = client.post(url(account, TEST), headers=headers).get_json()["id"]
    before = table_rows(db)

    refused = client.post(url(account, REDELIVER, event_id), headers=headers)

    problem = assert_problem(refused, "post", REDELIVER, 409, "conflict")
    assert "still pending" in problem["detail"] and "next_attempt_at" in problem["detail"]
    assert table_rows(db) == before


def test_redelivering_without_a_webhook_url_names_where_to_set_one(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    headers = api_headers(account)
    event_id = client.post(url(account, TEST), headers=headers).get_json()["id"]
    row = db.query(WebhookOutbox).one()
    row.status = "failed"
    account.partner.webhook_url = None
    db.commit()
    before = table_rows(db)

    refused = client.post(url(account, REDELIVER, event_id), headers=headers)

    problem = assert_problem(refused, "post", REDELIVER, 409, "conflict")
    assert "PATCH /api/v1/partners/{partner_id}" in problem["detail"]
    assert table_rows(db) == before


def test_a_test_event_without_a_webhook_url_is_refused(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    account.partner.webhook_url = None
    db.commit()
    before = table_rows(db)

    refused = client.post(url(account, TEST), headers=api_headers(account))

    problem = assert_problem(refused, "post", TEST, 400, "invalid_request")
    assert "Set a webhook URL" in problem["detail"]
    assert table_rows(db) == before


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "whose", ["another partner's", "unknown", "an event never sent as a webhook"]
)
def test_a_delivery_that_is_not_yours_is_not_found(
    client: FlaskClient, db: Session, app: Flask, account: PartnerAccount, method: str, whose: str
) -> None:
    with app.app_context():
        other = make_account(db, webhook_url="https://other.partner.example/hooks")
    add_client(db, other)  # an event, and its delivery, of the other partner
    db.commit()
    event_ids = {
        "another partner's": db.query(AuditEvent).filter_by(partner_id=other.partner.id).one(),
        "an event never sent as a webhook": None,
    }
    if whose == "another partner's":
        delivery_id = event_ids[whose].public_id  # type: ignore[union-attr]
    elif whose == "unknown":
        delivery_id = "ev_doesnotexist"
    else:
        account.partner.webhook_url = None
        add_client(db, account)  # recorded, but with no webhook URL never queued
        db.commit()
        delivery_id = db.query(AuditEvent).filter_by(partner_id=account.partner.id).one().public_id
    before = table_rows(db)

    template = DELIVERY if method == "get" else REDELIVER
    refused = client.open(
        url(account, template, delivery_id), method=method, headers=api_headers(account)
    )

    problem = assert_problem(refused, method, template, 404, "not_found")
    assert "delivery log" in problem["detail"]
    assert table_rows(db) == before


def test_an_unknown_status_filter_is_refused(client: FlaskClient, account: PartnerAccount) -> None:
    refused = client.get(
        url(account, DELIVERIES), query_string={"status": "lost"}, headers=api_headers(account)
    )
    assert_problem(refused, "get", DELIVERIES, 400, "invalid_request")
