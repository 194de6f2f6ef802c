"""`channel.status_changed` (SPEC R9, §7) wherever events go: the Partner API's feed, the webhook a
partner receives, and both hubs' activity pages, each in readable words."""

from __future__ import annotations

import html
import json
import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from onboarding.models import Channel, ChannelStatus, Client, ClientUser, PartnerUser
from onboarding.partners.service import create_partner_user
from onboarding.permissions.lifecycle import set_status
from onboarding.phones import readable
from onboarding.webhooks.delivery import deliver_due
from tests.api import EVENTS, assert_documented, make_account
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_channel, make_client
from tests.test_webhooks import LOCAL, Receiver, receiver  # noqa: F401  (a fixture)


def moved(db: Session, webhook_url: str | None = None) -> tuple[Channel, Client, ClientUser]:
    """A pending channel the operator starts (CLI actor) and the provisioning system stops."""
    account = make_account(db, webhook_url=webhook_url)
    customer, user = make_client(db, account.partner)
    channel = make_channel(db, customer, status=ChannelStatus.PENDING)
    set_status(db, channel, "running", actor="operator")
    set_status(db, channel, "pending", actor="operator_api")
    db.commit()
    return channel, customer, user


def words(page: str) -> str:
    return " ".join(html.unescape(page).split())


def test_the_feed_carries_each_move_documented(client: FlaskClient, db: Session) -> None:
    account = make_account(db)
    customer, _ = make_client(db, account.partner)
    channel = make_channel(db, customer, status=ChannelStatus.PENDING)
    set_status(db, channel, "running", actor="operator")
    db.commit()

    response = client.get(account.path("/events"), headers={"X-API-Key": account.api_key})

    body = assert_documented(response, "get", EVENTS, 200)
    [event] = [e for e in body["events"] if e["type"] == "channel.status_changed"]
    assert event["data"] == {
        "client_id": customer.public_id,
        "channel_id": channel.public_id,
        "channel_ids": [channel.public_id],
        "from": "pending",
        "to": "running",
    }


def test_the_webhook_carries_the_move(db: Session, receiver: Receiver) -> None:  # noqa: F811
    channel, customer, _user = moved(db, webhook_url=receiver.url)

    while deliver_due(db, post=LOCAL):
        pass

    bodies = [json.loads(r.body) for r in receiver.accepted]
    changes = [b for b in bodies if b["type"] == "channel.status_changed"]
    assert [b["data"] for b in changes] == [
        {
            "client_id": customer.public_id,
            "channel_ids": [channel.public_id],
            "channel_id": channel.public_id,
            **move,
        }
        for move in ({"from": "pending", "to": "running"}, {"from": "running", "to": "pending"})
    ]


def test_the_partner_hub_activity_reads_each_move(client: FlaskClient, db: Session) -> None:
    channel, customer, _user = moved(db)
    owner: PartnerUser = create_partner_user(
        db, customer.partner, email="owner@moves.example", password=PASSWORD, role="owner"
    )
    db.commit()
    page = client.get("/hub/login").text
    client.post(
        "/hub/login",
        data={"csrf_token": csrf_token(page), "email": owner.email, "password": PASSWORD},
    )

    rows = re.findall(r"<tr>(.*?)</tr>", client.get("/hub/activity").text, re.S)
    moves = [words(row) for row in rows if "Status changed" in row]

    assert len(moves) == 2
    newest, oldest = moves
    assert "Status changed: Running → Pending" in newest
    assert "Operator (provisioning system)" in newest
    assert "Status changed: Pending → Running" in oldest
    assert "Operator (hub staff)" in oldest
    assert all(readable(channel.phone_number) in row and customer.name in row for row in moves)
    german = words(client.get("/hub/activity?lang=de").text)
    assert "Status geändert: Aktiv → Ausstehend" in german


def test_the_client_hub_activity_reads_each_move(client: FlaskClient, db: Session) -> None:
    channel, _customer, user = moved(db)
    page = client.get("/login").text
    client.post(
        "/login", data={"csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD}
    )

    page = client.get("/client/activity").text
    rows = re.findall(r'<li class="panel activity-card">(.*?)</li>', page, re.S)
    moves = [words(row) for row in rows if "Status changed" in row]

    assert len(moves) == 2
    newest, oldest = moves
    assert "now pending: being connected to WhatsApp, no new API keys until it runs" in newest
    assert "now running: connected to WhatsApp, API keys can be generated" in oldest
    for row in moves:
        assert readable(channel.phone_number) in row and "Hub support team" in row
        assert "operator" not in row  # the client never sees the hub's internal actor names
