"""`client.updated` (SPEC §7 ▲): the client changed its "All numbers, now and later" choice. One
event per change, in the change's transaction, with its webhook; none when the choice stays.
The domain first (every path that sets the choice), then the screens that show it."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import AuditEvent, Client, GrantedVia, WebhookOutbox
from onboarding.partners.service import create_partner_user
from onboarding.permissions import client_settings
from onboarding.permissions.payloads import WEBHOOK_EVENTS, ClientUpdated
from onboarding.permissions.service import revoke, set_shared
from tests.conftest import submit_login
from tests.factories import PASSWORD, ClientAccount, make_channel, make_client_account
from tests.test_client_hub import follow, save


def history(db: Session, customer: Client) -> list[tuple[str, dict[str, Any]]]:
    """The client's events in order, each with its data."""
    rows = db.execute(
        select(AuditEvent.type, AuditEvent.data)
        .where(AuditEvent.client_id == customer.id, AuditEvent.type != "channel.created")
        .where(AuditEvent.type != "client.created")
        .order_by(AuditEvent.id)
    ).all()
    return [(type, data) for type, data in rows]


def updated(customer: Client, chosen: bool) -> tuple[str, dict[str, Any]]:
    return ("client.updated", {"client_id": customer.public_id, "all_channels": chosen})


def share(db: Session, account: ClientAccount, ids: list[str], *, every: bool) -> None:
    set_shared(
        db, account.customer, ids, all_channels=every, via=GrantedVia.PERMISSION_SCREEN, actor="c"
    )


# --- the domain ------------------------------------------------------------------------------


def test_the_permission_screen_turning_all_numbers_on_and_off(db: Session) -> None:
    account = make_client_account(db)
    customer = account.customer

    share(db, account, [], every=True)
    share(db, account, account.ids, every=True)  # the same choice again: no event
    share(db, account, account.ids, every=False)  # off, every number kept

    ids = {"client_id": customer.public_id, "channel_ids": account.ids}
    granted = ("permission.granted", {**ids, "via": "permission_screen"})
    assert history(db, customer) == [granted, updated(customer, True), updated(customer, False)]
    assert customer.all_channels is False


def test_removing_a_number_ends_all_numbers_and_says_so_after_the_revocation(
    db: Session,
) -> None:
    account = make_client_account(db)
    customer = account.customer
    share(db, account, [], every=True)

    revoke(db, customer, account.channels[:1], via=GrantedVia.CLIENT_HUB, actor="c")
    revoke(db, customer, account.channels[1:], via=GrantedVia.CLIENT_HUB, actor="c")  # off already

    types = [type for type, _ in history(db, customer)]
    assert types == [
        "permission.granted",
        "client.updated",
        "permission.revoked",
        "client.updated",
        "permission.revoked",
    ]
    assert history(db, customer)[3] == updated(customer, False)


def test_the_client_hub_changing_only_the_choice_records_only_the_choice(db: Session) -> None:
    """Every number shared already: "All numbers" shares nothing more, and the partner still
    learns that numbers added later will be shared."""
    account = make_client_account(db)
    customer = account.customer
    share(db, account, account.ids, every=False)
    before = len(history(db, customer))

    change = client_settings.choose(customer, all_numbers=True, shared_ids=[], listed_ids=[])
    client_settings.apply(db, customer, change, actor="client_user:cu_1")

    assert history(db, customer)[before:] == [updated(customer, True)]
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.type == "client.updated"))
    assert event.actor == "client_user:cu_1"


def test_the_event_is_a_documented_webhook_queued_with_the_change(db: Session) -> None:
    account = make_client_account(db, webhook_url="https://partner.example/hooks")
    share(db, account, [], every=True)

    queued = db.scalars(
        select(AuditEvent)
        .join(WebhookOutbox, WebhookOutbox.event_id == AuditEvent.id)
        .where(AuditEvent.type == "client.updated")
    ).all()
    assert len(queued) == 1
    assert WEBHOOK_EVENTS["client.updated"] is ClientUpdated
    assert ClientUpdated.model_validate(queued[0].data).all_channels is True


def test_a_number_added_later_is_shared_with_no_choice_event(db: Session) -> None:
    account = make_client_account(db)
    share(db, account, [], every=True)
    make_channel(db, account.customer)

    assert [type for type, _ in history(db, account.customer)][-1] == "permission.granted"


# --- the screens -----------------------------------------------------------------------------


def test_both_activity_pages_name_the_choice(client: FlaskClient, db: Session) -> None:
    account = make_client_account(db)
    owner = create_partner_user(
        db, account.partner, email="owner@partner.example", password=PASSWORD, role="owner"
    )
    db.commit()
    assert submit_login(client, "/login", account.user.email).status_code == 303
    follow(client, save(client, [], account.ids, mode="all"))

    mine = " ".join(client.get("/client/activity").get_data(as_text=True).split())
    assert "All numbers, now and later" in mine
    german = " ".join(client.get("/client/activity?lang=de").get_data(as_text=True).split())
    assert "Freigabe-Auswahl geändert" in german and "Alle Nummern, jetzt und später" in german

    partner = client.application.test_client()
    assert submit_login(partner, "/hub/login", owner.email).status_code == 303
    theirs = " ".join(partner.get("/hub/activity").get_data(as_text=True).split())
    assert "Sharing choice changed: All numbers, now and later" in theirs
