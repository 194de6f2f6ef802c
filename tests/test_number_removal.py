"""Removing or correcting a number at signup (issue 10): the rule in the domain
(`permissions/removal.py`), every refusal, the `channel.removed` event, and the numbers step's
Remove, Correct and `?edit=` through HTTP.

The browser side is e2e/test_number_corrections.py.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onboarding import activity
from onboarding.errors import Conflict, NotFound
from onboarding.models import (
    ApiKey,
    AuditEvent,
    BillingModel,
    Channel,
    ChannelStatus,
    Client,
    GrantedVia,
    Partner,
    Permission,
    Side,
    WebhookOutbox,
)
from onboarding.permissions.keys import generate_api_key
from onboarding.permissions.removal import correct_channel, removable, remove_channel, why_kept
from onboarding.permissions.service import grant, revoke
from onboarding.phones import readable
from tests.api import EVENTS, assert_documented, make_account
from tests.conftest import csrf_token, flow_token
from tests.factories import make_channel, make_client, make_partner, new_number
from tests.test_consent_http import (
    CONSENT,
    add_number,
    assert_refused,
    controls,
    new_client,
    sign_up,
    tampered,
)

ACTOR = "client_user:cu_test"


def arrange(
    db: Session,
    *,
    billing: BillingModel = BillingModel.DIRECT_PAYMENT,
    sandbox: bool = False,
    status: ChannelStatus = ChannelStatus.PENDING,
) -> tuple[Client, Channel]:
    partner = make_partner(db, billing=billing, sandbox=sandbox)
    customer, _user = make_client(db, partner)
    channel = make_channel(db, customer, status=status)
    db.commit()
    return customer, channel


def channel_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Channel)) or 0


def events_of(db: Session, customer: Client, type: str) -> list[dict[str, Any]]:
    return [
        event.data
        for event in db.scalars(
            select(AuditEvent)
            .where(AuditEvent.client_id == customer.id, AuditEvent.type == type)
            .order_by(AuditEvent.id)
        )
    ]


# --- the rule ----------------------------------------------------------------------------------


class TestRemove:
    def test_a_pending_unshared_number_is_removed_with_an_event(self, db: Session) -> None:
        customer, channel = arrange(db)
        channel_id, phone = channel.public_id, channel.phone_number

        assert removable(db, channel)
        remove_channel(db, customer, channel, actor=ACTOR)
        db.commit()

        assert db.scalar(select(Channel).where(Channel.public_id == channel_id)) is None
        assert events_of(db, customer, "channel.removed") == [
            {
                "client_id": customer.public_id,
                "channel_ids": [channel_id],
                "phone_number": phone,
                "permission_removed": False,
            }
        ]
        assert customer.channels == []

    def test_a_number_shared_by_the_billing_default_goes_with_its_permission(
        self, db: Session
    ) -> None:
        customer, channel = arrange(db, billing=BillingModel.PARTNER_PAYMENT)
        assert channel.permission is not None
        assert channel.permission.granted_via == GrantedVia.BILLING_DEFAULT

        remove_channel(db, customer, channel, actor=ACTOR)
        db.commit()

        assert db.scalar(select(func.count()).select_from(Permission)) == 0
        [removed] = events_of(db, customer, "channel.removed")
        assert removed["permission_removed"] is True
        assert events_of(db, customer, "permission.revoked") == []  # the removal says it

    def test_a_sandbox_number_runs_at_once_and_is_removable(self, db: Session) -> None:
        customer, channel = arrange(db, sandbox=True, status=ChannelStatus.RUNNING)
        assert channel.status == ChannelStatus.RUNNING

        remove_channel(db, customer, channel, actor=ACTOR)

        assert channel_count(db) == 0

    def test_a_revoked_key_does_not_keep_a_number(self, db: Session) -> None:
        customer, channel = arrange(
            db, billing=BillingModel.PARTNER_PAYMENT, sandbox=True, status=ChannelStatus.RUNNING
        )
        generate_api_key(db, channel, side=Side.PARTNER, actor="partner_user:pu_x")
        db.commit()
        assert why_kept(db, channel) == "number.has_key"

        # Removing the permission revokes the partner's key (R3).
        revoke(db, customer, [channel], via=GrantedVia.CLIENT_HUB, actor=ACTOR)
        assert why_kept(db, channel) is None
        remove_channel(db, customer, channel, actor=ACTOR)
        db.commit()

        assert db.scalar(select(func.count()).select_from(ApiKey)) == 0  # deleted with it


class TestRefusals:
    """Each refusal keeps the number, its permission, its keys and records nothing."""

    def refused(self, db: Session, customer: Client, channel: Channel, code: str) -> None:
        events = db.scalar(select(func.count()).select_from(AuditEvent))
        keys = db.scalar(select(func.count()).select_from(ApiKey))
        assert why_kept(db, channel) == code
        assert not removable(db, channel)

        with pytest.raises(Conflict) as refused:
            remove_channel(db, customer, channel, actor=ACTOR)

        assert refused.value.code == code
        assert refused.value.status == 409
        db.rollback()
        assert db.get(Channel, channel.id) is not None
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == events
        assert db.scalar(select(func.count()).select_from(ApiKey)) == keys

    def test_a_running_number_stays(self, db: Session) -> None:
        customer, channel = arrange(db, status=ChannelStatus.RUNNING)

        self.refused(db, customer, channel, "number.running")

    @pytest.mark.parametrize("side", [Side.CLIENT, Side.PARTNER])
    def test_a_number_with_a_live_key_stays(self, db: Session, side: Side) -> None:
        billing = BillingModel.PARTNER_PAYMENT if side == Side.PARTNER else None
        customer, channel = arrange(
            db,
            billing=billing or BillingModel.DIRECT_PAYMENT,
            sandbox=True,  # running, yet removable but for the key
            status=ChannelStatus.RUNNING,
        )
        generate_api_key(db, channel, side=side, actor=ACTOR)
        db.commit()

        self.refused(db, customer, channel, "number.has_key")

    @pytest.mark.parametrize(
        "via",
        [
            GrantedVia.PERMISSION_SCREEN,
            GrantedVia.CLIENT_HUB,
            GrantedVia.ALL_CHANNELS,
            GrantedVia.OPERATOR,
        ],
    )
    def test_a_number_shared_by_choice_stays(self, db: Session, via: GrantedVia) -> None:
        customer, channel = arrange(db)
        grant(db, customer, [channel], via=via, actor=ACTOR)
        db.commit()

        self.refused(db, customer, channel, "number.shared")

    def test_a_number_once_shared_by_choice_and_unshared_again_is_removable(
        self, db: Session
    ) -> None:
        customer, channel = arrange(db)
        grant(db, customer, [channel], via=GrantedVia.CLIENT_HUB, actor=ACTOR)
        revoke(db, customer, [channel], via=GrantedVia.CLIENT_HUB, actor=ACTOR)

        assert why_kept(db, channel) is None

    def test_another_clients_number_is_not_found(self, db: Session) -> None:
        customer, _channel = arrange(db)
        _other, theirs = arrange(db)

        with pytest.raises(NotFound) as refused:
            remove_channel(db, customer, theirs, actor=ACTOR)

        assert refused.value.code == "number.not_found"
        assert refused.value.status == 404
        db.rollback()
        assert db.get(Channel, theirs.id) is not None


class TestCorrect:
    def test_a_correction_replaces_the_number_removed_then_created(self, db: Session) -> None:
        customer, channel = arrange(db, billing=BillingModel.PARTNER_PAYMENT)
        old_id, right = channel.public_id, new_number()

        corrected = correct_channel(db, customer, channel, right, "Shop", actor=ACTOR)
        db.commit()

        assert [(c.phone_number, c.name) for c in customer.channels] == [(right, "Shop")]
        assert corrected.permission is not None  # the billing default again, for the new one
        types = db.scalars(
            select(AuditEvent.type)
            .where(AuditEvent.client_id == customer.id)
            .order_by(AuditEvent.id)
        ).all()
        assert types[-3:] == ["channel.removed", "channel.created", "permission.granted"]
        [removed] = events_of(db, customer, "channel.removed")
        assert removed["channel_ids"] == [old_id]

    def test_the_same_number_with_a_new_name(self, db: Session) -> None:
        customer, channel = arrange(db)
        phone = channel.phone_number

        correct_channel(db, customer, channel, phone, "Renamed", actor=ACTOR)

        assert [(c.phone_number, c.name) for c in customer.channels] == [(phone, "Renamed")]

    def test_a_correction_to_a_number_the_client_has_keeps_the_old_one(self, db: Session) -> None:
        customer, channel = arrange(db)
        other = make_channel(db, customer, status=ChannelStatus.PENDING)
        db.commit()
        events = db.scalar(select(func.count()).select_from(AuditEvent))

        with pytest.raises(Conflict) as refused:
            correct_channel(db, customer, channel, other.phone_number, "x", actor=ACTOR)

        assert refused.value.code == "number.added_already"
        db.rollback()
        assert db.get(Channel, channel.id) is not None
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == events

    def test_a_number_that_stays_is_not_corrected(self, db: Session) -> None:
        customer, channel = arrange(db, status=ChannelStatus.RUNNING)

        with pytest.raises(Conflict) as refused:
            correct_channel(db, customer, channel, new_number(), "x", actor=ACTOR)

        assert refused.value.code == "number.running"


# --- the event -------------------------------------------------------------------------------


def test_the_feed_carries_the_removal_documented(client: FlaskClient, db: Session) -> None:
    account = make_account(db)
    customer, _ = make_client(db, account.partner)
    channel = make_channel(db, customer, status=ChannelStatus.PENDING)
    channel_id, phone = channel.public_id, channel.phone_number
    remove_channel(db, customer, channel, actor=ACTOR)
    db.commit()

    response = client.get(account.path("/events"), headers={"X-API-Key": account.api_key})

    body = assert_documented(response, "get", EVENTS, 200)
    [event] = [e for e in body["events"] if e["type"] == "channel.removed"]
    assert event["data"] == {
        "client_id": customer.public_id,
        "channel_ids": [channel_id],
        "phone_number": phone,
        "permission_removed": False,
    }
    assert event["actor"] == {"type": "client_user", "id": None}


def test_the_removal_is_queued_as_a_webhook(db: Session) -> None:
    partner = make_partner(db, webhook_url="https://partner.example/hooks")
    customer, _ = make_client(db, partner)
    channel = make_channel(db, customer, status=ChannelStatus.PENDING)

    remove_channel(db, customer, channel, actor=ACTOR)
    db.commit()

    queued = db.scalars(
        select(AuditEvent.type).join(WebhookOutbox).where(WebhookOutbox.partner_id == partner.id)
    ).all()
    assert queued[-1] == "channel.removed"


# --- HTTP: the numbers step --------------------------------------------------------------------

NUMBERS = "/signup/numbers"


def numbers_step(client: FlaskClient, db: Session, *phones: str) -> tuple[str, Partner]:
    """A newcomer signed up, with `phones` added on the numbers step; its URL and partner."""
    partner = make_partner(db)
    db.commit()
    signed_up = sign_up(client, partner)
    assert signed_up.status_code == 303
    location = signed_up.headers["Location"]
    for phone in phones:
        assert add_number(client, location, phone).status_code == 303
    return location, partner


def form_of(html: str, channel_id: str = "", **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(html),
        "flow": flow_token(html),
        "channel": channel_id,
        **fields,
    }


def phones_of(db: Session, partner: Partner) -> list[str]:
    return [c.phone_number for c in new_client(db, partner).channels]


def links(html: str, text: str) -> list[str]:
    return [str(c.attrs["href"]) for c in controls(html) if c.tag == "a" and c.text == text]


class TestRemoveHttp:
    def test_remove_takes_the_number_off_the_step(self, client: FlaskClient, db: Session) -> None:
        first, second = new_number(), new_number()
        location, partner = numbers_step(client, db, first, second)
        html = client.get(location).get_data(as_text=True)
        channel = new_client(db, partner).channels[0]

        response = client.post(f"{NUMBERS}/remove", data=form_of(html, channel.public_id))

        assert response.status_code == 303
        assert response.headers["Location"] == location
        assert phones_of(db, partner) == [second]
        page = client.get(location).get_data(as_text=True)
        assert f"Removed {readable(first)}." in page
        assert readable(first) not in page.replace(f"Removed {readable(first)}.", "")

    def test_each_row_has_remove_and_correct(self, client: FlaskClient, db: Session) -> None:
        number = new_number()
        location, partner = numbers_step(client, db, number)
        channel = new_client(db, partner).channels[0]

        html = client.get(location).get_data(as_text=True)

        names = [c.text for c in controls(html) if c.tag in ("a", "button")]
        assert f"Remove {number}" in names
        assert f"Correct {number}" in names
        [edit] = links(html, f"Correct {number}")
        assert f"edit={channel.public_id}" in edit

    def test_without_csrf_nothing_is_removed(self, client: FlaskClient, db: Session) -> None:
        location, partner = numbers_step(client, db, new_number())
        html = client.get(location).get_data(as_text=True)
        data = form_of(html, new_client(db, partner).channels[0].public_id)
        del data["csrf_token"]

        assert_refused(client.post(f"{NUMBERS}/remove", data=data), 400)
        assert len(phones_of(db, partner)) == 1

    def test_another_clients_number_is_a_404(self, client: FlaskClient, db: Session) -> None:
        location, partner = numbers_step(client, db, new_number())
        other, _ = make_client(db, partner)
        theirs = make_channel(db, other, status=ChannelStatus.PENDING)
        db.commit()
        html = client.get(location).get_data(as_text=True)

        page = assert_refused(
            client.post(f"{NUMBERS}/remove", data=form_of(html, theirs.public_id)), 404
        )

        assert "This number is not in your account" in page
        assert db.get(Channel, theirs.id) is not None
        assert client.get(f"{location}&edit={theirs.public_id}").status_code == 404

    def test_a_tampered_flow_token_removes_nothing(self, client: FlaskClient, db: Session) -> None:
        location, partner = numbers_step(client, db, new_number())
        html = client.get(location).get_data(as_text=True)
        data = form_of(html, new_client(db, partner).channels[0].public_id)
        data["flow"] = tampered(data["flow"])

        page = assert_refused(client.post(f"{NUMBERS}/remove", data=data), 400)

        assert "can't be used" in unescape(page)
        assert len(phones_of(db, partner)) == 1

    def test_a_number_that_stays_says_why_and_has_no_buttons(
        self, client: FlaskClient, db: Session
    ) -> None:
        number = new_number()
        location, partner = numbers_step(client, db, number)
        customer = new_client(db, partner)
        channel = customer.channels[0]
        grant(db, customer, [channel], via=GrantedVia.CLIENT_HUB, actor=ACTOR)
        db.commit()
        html = client.get(location).get_data(as_text=True)

        assert "You share this number with your partner, so it stays." in html
        names = [c.text for c in controls(html) if c.tag in ("a", "button")]
        assert f"Remove {number}" not in names

        refused = client.post(f"{NUMBERS}/remove", data=form_of(html, channel.public_id))
        page = assert_refused(refused, 409)
        assert "untick it on the next step" in page
        assert phones_of(db, partner) == [number]
        assert_refused(client.get(f"{location}&edit={channel.public_id}"), 409)


class TestCorrectHttp:
    def test_edit_shows_the_number_in_an_editable_field(
        self, client: FlaskClient, db: Session
    ) -> None:
        number = new_number()
        location, partner = numbers_step(client, db, number)
        channel = new_client(db, partner).channels[0]

        html = client.get(f"{location}&edit={channel.public_id}").get_data(as_text=True)

        fields = {c.attrs.get("name"): c.attrs.get("value") for c in controls(html)}
        assert fields["phone"] == number
        assert fields["channel"] == channel.public_id
        heading = re.search(r'<h2 id="correct">(.*?)</h2>', html)
        assert heading and heading.group(1) != f"Correct {number}"  # grouped for reading
        assert heading.group(1).replace(" ", "") == f"Correct{number}"
        assert links(html, "Keep it as it is") == [location]

    def test_correct_replaces_the_number(self, client: FlaskClient, db: Session) -> None:
        wrong, right = new_number(), new_number()
        location, partner = numbers_step(client, db, wrong)
        channel = new_client(db, partner).channels[0]
        html = client.get(f"{location}&edit={channel.public_id}").get_data(as_text=True)

        response = client.post(
            f"{NUMBERS}/correct", data=form_of(html, channel.public_id, phone=right, name="Shop")
        )

        assert response.status_code == 303
        assert response.headers["Location"] == location
        assert phones_of(db, partner) == [right]
        page = client.get(location).get_data(as_text=True)
        assert f"Corrected {readable(wrong)} to {readable(right)}." in page

    def test_a_wrong_correction_says_so_and_keeps_the_number(
        self, client: FlaskClient, db: Session
    ) -> None:
        number = new_number()
        location, partner = numbers_step(client, db, number)
        channel = new_client(db, partner).channels[0]
        html = client.get(f"{location}&edit={channel.public_id}").get_data(as_text=True)

        response = client.post(
            f"{NUMBERS}/correct", data=form_of(html, channel.public_id, phone="0301234567")
        )

        page = assert_refused(response, 400)
        assert "Enter the number with its country code" in page
        assert 'value="0301234567"' in page  # what was typed stays, to fix it
        assert phones_of(db, partner) == [number]

    def test_a_correction_to_another_of_its_numbers_keeps_both(
        self, client: FlaskClient, db: Session
    ) -> None:
        first, second = new_number(), new_number()
        location, partner = numbers_step(client, db, first, second)
        channel = new_client(db, partner).channels[0]
        html = client.get(f"{location}&edit={channel.public_id}").get_data(as_text=True)

        response = client.post(
            f"{NUMBERS}/correct", data=form_of(html, channel.public_id, phone=second)
        )

        page = assert_refused(response, 400)
        assert "You have added this number already." in page
        assert "Save correction" in page  # still correcting the same number
        assert phones_of(db, partner) == [first, second]

    def test_without_csrf_nothing_is_corrected(self, client: FlaskClient, db: Session) -> None:
        number = new_number()
        location, partner = numbers_step(client, db, number)
        channel = new_client(db, partner).channels[0]
        html = client.get(location).get_data(as_text=True)
        data = form_of(html, channel.public_id, phone=new_number())
        del data["csrf_token"]

        assert_refused(client.post(f"{NUMBERS}/correct", data=data), 400)
        assert phones_of(db, partner) == [number]

    def test_another_clients_number_is_a_404(self, client: FlaskClient, db: Session) -> None:
        location, partner = numbers_step(client, db)
        other, _ = make_client(db, partner)
        theirs = make_channel(db, other, status=ChannelStatus.PENDING)
        db.commit()
        html = client.get(location).get_data(as_text=True)

        response = client.post(
            f"{NUMBERS}/correct", data=form_of(html, theirs.public_id, phone=new_number())
        )

        assert_refused(response, 404)
        assert db.get(Channel, theirs.id).phone_number == theirs.phone_number  # type: ignore[union-attr]

    def test_a_tampered_flow_token_corrects_nothing(self, client: FlaskClient, db: Session) -> None:
        number = new_number()
        location, partner = numbers_step(client, db, number)
        channel = new_client(db, partner).channels[0]
        html = client.get(location).get_data(as_text=True)
        data = form_of(html, channel.public_id, phone=new_number())
        data["flow"] = tampered(data["flow"])

        assert_refused(client.post(f"{NUMBERS}/correct", data=data), 400)
        assert phones_of(db, partner) == [number]


def test_continue_after_corrections_reaches_the_consent(client: FlaskClient, db: Session) -> None:
    location, partner = numbers_step(client, db, new_number())
    html = client.get(location).get_data(as_text=True)
    channel = new_client(db, partner).channels[0]
    client.post(f"{NUMBERS}/remove", data=form_of(html, channel.public_id))
    html = client.get(location).get_data(as_text=True)

    response = client.post(NUMBERS, data=form_of(html, action="continue", phone=""))

    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{CONSENT}?flow=")


def test_activity_names_a_removed_number_by_its_recorded_number(db: Session) -> None:
    partner = make_partner(db)
    customer, user = make_client(db, partner)
    channel = make_channel(db, customer, status=ChannelStatus.PENDING)
    phone = channel.phone_number
    remove_channel(db, customer, channel, actor=f"client_user:{user.public_id}")
    db.commit()
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.client_id == customer.id)))

    rows = {row.event.type: row for row in activity.for_client(db, customer, user, events)}

    assert rows["channel.removed"].what == "Number removed"
    assert rows["channel.removed"].numbers == [phone]  # not the id of a channel that is gone
    assert rows["channel.created"].numbers == [phone]
    assert rows["channel.removed"].who == "You"
