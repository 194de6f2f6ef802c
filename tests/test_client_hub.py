"""The Client Hub through HTTP: numbers and keys (R6-R8), Settings → Partner (R3, R5; one save:
"All numbers, now and later" or "Only the numbers I select"), adding a number (R2), the activity
trail, the profile menu, the languages; and every refusal (no login, no CSRF token, another
client's number, a key while shared or pending, bad numbers, removal without confirmation)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.client_hub.activity import PAGE_SIZE
from onboarding.clients.numbers import PER_PAGE
from onboarding.models import (
    ApiKey,
    AuditEvent,
    BillingModel,
    Channel,
    ChannelStatus,
    Client,
    ClientUser,
    GrantedVia,
    Partner,
    Permission,
    Side,
    WebhookOutbox,
)
from onboarding.permissions.keys import (
    KEYS_WITH_PARTNER,
    KeyOwner,
    channel_for_key,
    generate_api_key,
)
from onboarding.permissions.service import grant, revoke
from onboarding.phones import readable
from onboarding.security import hash_secret
from tests.conftest import csrf_token, submit_login
from tests.factories import ClientAccount, make_channel, make_client_account, new_number

R7 = (
    "API keys are disabled for this number. The number was shared with your integration partner."
    " With your permission the partner has access to the WhatsApp Business API on your behalf."
    " To manage permissions go to “Organization Settings” or contact your partner."
)
WEBHOOK_URL = "https://partner.example/webhooks"
SETTINGS = "/client/settings/partner"
CONFIRM = "/client/settings/partner/confirm"
KEY = re.compile(r"wak_[A-Za-z0-9_-]{43}")


# -- arranging -------------------------------------------------------------------------------------


@pytest.fixture
def account(db: Session) -> ClientAccount:
    return make_client_account(db)


@pytest.fixture
def shared(db: Session) -> ClientAccount:
    """A partner_payment partner: its client's numbers are shared by default (R2)."""
    return make_client_account(db, billing=BillingModel.PARTNER_PAYMENT, webhook_url=WEBHOOK_URL)


def log_in(client: FlaskClient, user: ClientUser) -> None:
    assert submit_login(client, "/login", user.email).headers["Location"] == "/client/"


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None) -> TestResponse:
    """POST as the browser would: with the CSRF token of a rendered hub page."""
    token = csrf_token(client.get("/client/").text)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def untagged(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def save(
    client: FlaskClient, shared: list[str], listed: list[str], mode: str = "selected"
) -> TestResponse:
    """Organization Settings → Partner's one Save."""
    return post(client, SETTINGS, {"mode": mode, "channels": shared, "listed": listed})


def text(response: TestResponse) -> str:
    """The page with entities decoded and runs of white space as one space, so that messages
    compare as a person reads them, however the template wraps its lines."""
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


def follow(client: FlaskClient, response: TestResponse) -> str:
    assert response.status_code == 303, response.status_code
    return text(client.get(response.headers["Location"]))


def snapshot(db: Session) -> dict[str, Any]:
    """Everything a Client Hub action could change, to compare before and after a request."""
    db.expire_all()
    counts = {
        table.__tablename__: db.scalar(select(func.count()).select_from(table))
        for table in (Channel, Permission, ApiKey, AuditEvent, WebhookOutbox)
    }
    permissions = set(db.execute(select(Permission.channel_id, Permission.granted_via)))
    keys = set(db.execute(select(ApiKey.id, ApiKey.revoked_at)))
    flags = set(db.execute(select(Client.id, Client.all_channels)))
    return counts | {"permissions": permissions, "keys": keys, "flags": flags}


def shared_ids(db: Session, account: ClientAccount) -> set[str]:
    db.expire_all()
    return {channel.public_id for channel in account.channels if channel.permission is not None}


def events(db: Session, type: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.type == type)))


def outbox_types(db: Session, partner: Partner) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.type)
            .join(WebhookOutbox, WebhookOutbox.event_id == AuditEvent.id)
            .where(WebhookOutbox.partner_id == partner.id)
            .order_by(AuditEvent.id)
        )
    )


# -- access: login, CSRF, another client's numbers ---------------------------------------------

PAGES = [
    "/client/",
    "/client/numbers/new",
    "/client/settings",
    SETTINGS,
    CONFIRM,
    "/client/activity",
]
ACTIONS = [
    "/client/numbers/{channel}/api-key",
    "/client/numbers/new",
    SETTINGS,
    CONFIRM,
]


def test_settings_lead_to_the_partner_tab(client: FlaskClient, account: ClientAccount) -> None:
    log_in(client, account.user)
    response = client.get("/client/settings")
    assert (response.status_code, response.headers["Location"]) == (303, SETTINGS)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_requires_a_client_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"


@pytest.mark.parametrize("path", ACTIONS)
def test_every_action_requires_a_client_login(
    client: FlaskClient, db: Session, account: ClientAccount, path: str
) -> None:
    before = snapshot(db)
    token = csrf_token(client.get("/login").text)  # a valid token, but nobody logged in
    response = client.post(
        path.format(channel=account.ids[0]),
        data={"csrf_token": token, "channels": account.ids, "phone": new_number()},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert snapshot(db) == before


@pytest.mark.parametrize("path", ACTIONS)
def test_every_action_without_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, db: Session, account: ClientAccount, path: str
) -> None:
    log_in(client, account.user)
    before = snapshot(db)
    response = client.post(
        path.format(channel=account.ids[0]),
        data={"channels": account.ids, "share": account.ids, "phone": new_number()},
    )
    assert response.status_code == 400
    assert "Your form expired" in text(response)
    assert snapshot(db) == before


@pytest.fixture
def foreign(db: Session, account: ClientAccount) -> ClientAccount:
    """Another client of the same partner, whose number is shared and has a partner key."""
    other = make_client_account(db, billing=BillingModel.PARTNER_PAYMENT)
    generate_api_key(db, other.channels[0], side=Side.PARTNER, actor="partner_api")
    db.commit()
    return other


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/client/numbers/{foreign}/api-key", {}),
        ("post", SETTINGS, {"mode": ["selected"], "channels": ["{own}", "{foreign}"]}),
        (
            "post",
            SETTINGS,
            {"mode": ["selected"], "channels": [], "listed": ["{own}", "{foreign}"]},
        ),
        ("post", SETTINGS, {"mode": ["all"], "channels": [], "listed": ["{own}", "{foreign}"]}),
        ("get", CONFIRM + "?remove={foreign}", None),
        ("get", CONFIRM + "?share={foreign}&remove={own}", None),
        ("post", CONFIRM, {"remove": ["{foreign}"]}),
        ("post", CONFIRM, {"share": ["{own}", "{foreign}"]}),
        ("get", "/client/activity?before={foreign_event}", None),
    ],
)
def test_another_clients_number_is_not_found_and_nothing_changes(
    client: FlaskClient,
    db: Session,
    account: ClientAccount,
    foreign: ClientAccount,
    method: str,
    path: str,
    data: dict[str, list[str]] | None,
) -> None:
    log_in(client, account.user)
    grant(db, account.customer, account.channels[:1], via=GrantedVia.CLIENT_HUB, actor="t")
    db.commit()
    event = db.scalars(select(AuditEvent).where(AuditEvent.client_id == foreign.customer.id))
    names = {"own": account.ids[1], "foreign": foreign.ids[0], "foreign_event": ""}
    names["foreign_event"] = event.first().public_id if event else ""
    before = snapshot(db)
    url = path.format(**names)
    if method == "get":
        response = client.get(url)
    else:
        filled = {
            name: [value.format(**names) for value in values] for name, values in data.items()
        }
        response = post(client, url, filled)
    assert response.status_code == 404
    assert snapshot(db) == before


def test_the_nav_marks_the_current_page_and_offers_log_out(
    client: FlaskClient, account: ClientAccount
) -> None:
    log_in(client, account.user)
    for path, current in [
        ("/client/", "Numbers"),
        ("/client/numbers/new", "Numbers"),
        (SETTINGS, "Organization Settings"),
        ("/client/activity", "Activity"),
    ]:
        page = client.get(path).text
        assert re.findall(r'aria-current="page">([^<]+)<', page) == [current], path
        assert 'action="/logout"' in page
        assert '<main class="wide">' in page


def test_the_profile_menu_leads_to_partner_account_and_log_out(
    client: FlaskClient, account: ClientAccount
) -> None:
    # The source document: "their profile in the top Menu → Partner".
    log_in(client, account.user)
    page = client.get("/client/activity").text
    menu = re.search(r'<details class="profile-menu">(.*?)</details>', page, re.S)
    assert menu, "no profile menu"
    assert f"Logged in as {account.user.email}" in menu.group(1)
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', menu.group(1))
    assert links == [(SETTINGS, "Partner"), ("/client/account", "Account")]
    assert 'action="/logout"' in menu.group(1)
    partner = text(client.get(SETTINGS))
    assert f"Numbers shared with {account.partner.brand_name}" in partner  # the list ...
    assert "Save" in partner  # ... and its edits


# -- Numbers and API keys (R6, R7, R8) ---------------------------------------------------------


def test_numbers_page_lists_each_number_with_status_and_permission(
    client: FlaskClient, db: Session
) -> None:
    account = make_client_account(db, running=1, pending=1)
    grant(db, account.customer, account.channels[:1], via=GrantedVia.CLIENT_HUB, actor="t")
    db.commit()
    log_in(client, account.user)
    page = text(client.get("/client/"))
    for channel in account.channels:
        assert readable(channel.phone_number) in page
        assert channel.name in page
    assert "Running" in page and "Pending" in page
    assert f"Shared with {account.partner.brand_name}" in page and "Not shared" in page


def test_a_shared_number_shows_the_r7_message_next_to_a_greyed_out_button(
    client: FlaskClient, shared: ClientAccount
) -> None:
    log_in(client, shared.user)
    page = client.get("/client/").text
    assert KEYS_WITH_PARTNER == R7
    # Once, in a banner above the cards, word for word; its pointer links to the settings.
    banner = re.search(r'<div class="callout r7" id="r7">(.*?)</div>', page, re.S)
    assert banner and " ".join(untagged(banner.group(1)).split()) == R7
    assert f'<a href="{SETTINGS}">Organization Settings</a>' in banner.group(1)
    assert untagged(page).count("API keys are disabled") == 1  # not again on every card
    for channel_id in shared.ids:
        assert f'action="/client/numbers/{channel_id}/api-key"' not in page  # no form
        button = re.search(
            rf'<button type="button" class="button" aria-disabled="true"'
            rf' aria-describedby="r7 reason-{channel_id}">',
            page,
        )
        assert button, channel_id  # R7 and the card's own line are the button's description
        assert f'<p class="reason" id="reason-{channel_id}">' in page


def test_a_pending_number_says_keys_come_once_it_is_running(
    client: FlaskClient, db: Session
) -> None:
    account = make_client_account(db, running=0, pending=1)
    log_in(client, account.user)
    page = text(client.get("/client/"))
    assert (
        "This number is still being connected to WhatsApp: API keys can be generated once it is"
        f" running. If this takes long, contact {account.partner.brand_name}."
    ) in page
    assert "set-status" not in page and "/ops/v1" not in page  # the operator's steps: not here
    assert 'aria-disabled="true"' in page
    assert R7 not in page


def test_an_unshared_running_number_has_a_working_generate_button(
    client: FlaskClient, account: ClientAccount
) -> None:
    log_in(client, account.user)
    page = client.get("/client/").text
    assert f'action="/client/numbers/{account.ids[0]}/api-key"' in page
    assert 'aria-disabled="true"' not in page
    assert "Generate API Key" in page and "Generate new API key" not in page


def test_generating_a_key_shows_it_once_and_stores_only_its_hash(
    client: FlaskClient, db: Session
) -> None:
    account = make_client_account(db, webhook_url=WEBHOOK_URL)
    log_in(client, account.user)
    channel = account.channels[0]

    response = post(client, f"/client/numbers/{channel.public_id}/api-key")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = KEY.search(response.text)
    assert secret, "the new key is on the page"
    assert 'data-copy="#new-key"' in response.text
    key = db.scalars(select(ApiKey)).one()
    assert key.key_hash == hash_secret(secret.group(0))
    assert key.created_by == Side.CLIENT
    assert channel_for_key(db, secret.group(0)) == KeyOwner.of(channel)
    [event] = events(db, "api_key.created")
    assert event.actor == f"client_user:{account.user.public_id}"
    assert event.data["channel_id"] == channel.public_id
    assert outbox_types(db, account.partner)[-1] == "api_key.created"

    later = client.get("/client/").text
    assert secret.group(0) not in later  # shown once, never again
    assert key.prefix in later
    assert "Generate new API key" in later
    assert "revokes the current one" in later


def test_a_new_key_revokes_the_previous_one(client: FlaskClient, account: ClientAccount) -> None:
    log_in(client, account.user)
    path = f"/client/numbers/{account.ids[0]}/api-key"
    first = KEY.search(post(client, path).text)
    second_page = post(client, path)
    second = KEY.search(second_page.text)
    assert first and second and first.group(0) != second.group(0)
    assert "no longer works" in text(second_page)
    assert client.get("/messaging/v1/channel", headers=bearer(first.group(0))).status_code == 401
    assert client.get("/messaging/v1/channel", headers=bearer(second.group(0))).status_code == 200


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_generating_while_shared_is_refused_with_r7_and_creates_nothing(
    client: FlaskClient, db: Session, shared: ClientAccount
) -> None:
    log_in(client, shared.user)
    before = snapshot(db)
    response = post(client, f"/client/numbers/{shared.ids[0]}/api-key")
    assert R7 in follow(client, response)
    assert snapshot(db) == before
    assert events(db, "api_key.created") == []


def test_generating_for_a_pending_number_is_refused(client: FlaskClient, db: Session) -> None:
    account = make_client_account(db, running=0, pending=1)
    log_in(client, account.user)
    before = snapshot(db)
    response = post(client, f"/client/numbers/{account.ids[0]}/api-key")
    assert "This number is still being connected to WhatsApp" in follow(client, response)
    assert snapshot(db) == before


def test_empty_state_invites_to_add_a_number(client: FlaskClient, db: Session) -> None:
    account = make_client_account(db, running=0)
    log_in(client, account.user)
    page = text(client.get("/client/"))
    assert "You have no WhatsApp numbers yet." in page
    assert 'href="/client/numbers/new"' in page
    assert "You have no WhatsApp numbers yet." in text(client.get(SETTINGS))


# -- adding a number (R2, "all numbers") -------------------------------------------------------


def add(client: FlaskClient, phone: str, name: str = "") -> TestResponse:
    token = csrf_token(client.get("/client/numbers/new").text)
    return client.post(
        "/client/numbers/new", data={"csrf_token": token, "phone": phone, "name": name}
    )


def test_add_number_page_has_labelled_fields(client: FlaskClient, account: ClientAccount) -> None:
    log_in(client, account.user)
    page = client.get("/client/numbers/new").text
    assert '<label for="phone">WhatsApp number</label>' in page
    assert '<label for="name">Display name (optional)</label>' in page
    assert "pending" in page


def test_adding_a_number_starts_it_pending_and_unshared(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    log_in(client, account.user)
    response = add(client, "+49 151 7000 0001", "Store Köln")
    assert response.headers["Location"] == "/client/"
    page = follow(client, response)
    assert "Added +49 1517 0000001. It is pending" in page
    channel = db.scalars(select(Channel).where(Channel.phone_number == "+4915170000001")).one()
    assert (channel.client_id, channel.name, channel.status) == (
        account.customer.id,
        "Store Köln",
        ChannelStatus.PENDING,
    )
    assert channel.permission is None
    [event] = [
        e for e in events(db, "channel.created") if e.data["channel_id"] == channel.public_id
    ]
    assert event.actor == f"client_user:{account.user.public_id}"


def test_a_number_added_for_a_partner_payment_partner_is_shared_by_default(
    client: FlaskClient, db: Session, shared: ClientAccount
) -> None:
    log_in(client, shared.user)
    page = follow(client, add(client, "+4915170000002"))
    assert f"It is shared with {shared.partner.brand_name}" in page
    channel = db.scalars(select(Channel).where(Channel.phone_number == "+4915170000002")).one()
    assert channel.name == "+4915170000002"  # no name given: the number
    assert channel.permission and channel.permission.granted_via == GrantedVia.BILLING_DEFAULT
    assert outbox_types(db, shared.partner)[-2:] == ["channel.created", "permission.granted"]


def test_a_number_added_with_all_numbers_on_is_shared(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    account.customer.all_channels = True
    db.commit()
    log_in(client, account.user)
    follow(client, add(client, "+4915170000003"))
    channel = db.scalars(select(Channel).where(Channel.phone_number == "+4915170000003")).one()
    assert channel.permission and channel.permission.granted_via == GrantedVia.ALL_CHANNELS


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("", "This field is required."),
        ("0151 7000 0004", "Enter the number with its country code, starting with +."),
        ("+49 12", "This is not a valid phone number for its country."),
        ("+not a number", "This is not a phone number."),
    ],
)
def test_an_invalid_number_is_refused_with_a_message(
    client: FlaskClient, db: Session, account: ClientAccount, phone: str, message: str
) -> None:
    log_in(client, account.user)
    before = snapshot(db)
    response = add(client, phone)
    assert response.status_code == 400
    assert message in text(response)
    assert 'aria-invalid="true"' in response.text
    assert snapshot(db) == before


def test_a_number_the_client_has_already_is_refused(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    """Only the client's own copy refuses a number; another client's copy blocks nothing and
    shows nothing (R9, tests/test_number_privacy.py)."""
    log_in(client, account.user)
    before = snapshot(db)
    response = add(client, account.channels[0].phone_number)
    assert response.status_code == 400
    assert "You have added this number already." in text(response)
    assert snapshot(db) == before


# -- Organization Settings → Partner (R3, R5) --------------------------------------------------


def test_settings_show_the_partner_and_how_each_number_is_shared(
    client: FlaskClient, db: Session, shared: ClientAccount
) -> None:
    revoke(db, shared.customer, shared.channels[1:], via=GrantedVia.CLIENT_HUB, actor="t")
    db.commit()
    log_in(client, shared.user)
    page = text(client.get(SETTINGS))
    assert "Organization Settings" in page
    assert f"Partner: {shared.partner.brand_name}" in page
    assert page.count("Billing default: shared when the number was added") == 1
    assert "Not shared: you manage this number's API keys." in page
    assert page.count('name="channels"') == 2
    assert "All numbers, now and later" in page and "Only the numbers I select" in page
    assert re.search(r'<input[^>]* checked[^>]*value="selected"', page)  # "all numbers" is off
    assert page.count('type="submit" class="button primary">Save<') == 1  # one save
    assert f"because {shared.partner.brand_name} pays" in page
    assert "Remove all…" in page and "Share all" not in page


def test_sharing_a_number_needs_no_confirmation(client: FlaskClient, db: Session) -> None:
    account = make_client_account(db, webhook_url=WEBHOOK_URL)
    log_in(client, account.user)
    response = post(
        client, SETTINGS, {"mode": "selected", "channels": [account.ids[1]], "listed": account.ids}
    )
    assert response.headers["Location"] == SETTINGS
    page = follow(client, response)
    number = readable(account.channels[1].phone_number)
    assert f"Shared {number} with {account.partner.brand_name}." in page
    assert shared_ids(db, account) == {account.ids[1]}
    permission = account.channels[1].permission
    assert permission and permission.granted_via == GrantedVia.CLIENT_HUB
    assert permission.granted_by == f"client_user:{account.user.public_id}"
    [event] = events(db, "permission.granted")
    assert event.data == {
        "client_id": account.customer.public_id,
        "channel_ids": [account.ids[1]],
        "via": "client_hub",
    }
    assert outbox_types(db, account.partner)[-1] == "permission.granted"
    assert "Since" in page and "Client Hub: shared here in the Client Hub" in page


def test_unticking_a_number_asks_for_confirmation_and_changes_nothing(
    client: FlaskClient, db: Session, shared: ClientAccount
) -> None:
    log_in(client, shared.user)
    before = snapshot(db)
    response = post(
        client, SETTINGS, {"mode": "selected", "channels": [shared.ids[0]], "listed": shared.ids}
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == CONFIRM
    assert parse_qs(location.query) == {"remove": [shared.ids[1]]}
    assert snapshot(db) == before

    page = follow(client, response)
    assert snapshot(db) == before  # showing the confirmation changes nothing either
    brand = shared.partner.brand_name
    assert f"Remove {brand}'s permission?" in page
    assert readable(shared.channels[1].phone_number) in page
    assert readable(shared.channels[0].phone_number) not in page
    assert f"{brand}'s API keys for this number stop working at once" in page
    assert "generate your own API keys for it under Numbers" in page


def test_confirming_removes_permission_and_disables_the_partners_keys(
    client: FlaskClient, db: Session, shared: ClientAccount
) -> None:
    channel = shared.channels[1]
    partner_key = generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api")
    db.commit()
    log_in(client, shared.user)
    confirm_page = client.get(f"{CONFIRM}?remove={channel.public_id}").text
    response = client.post(
        CONFIRM, data={"csrf_token": csrf_token(confirm_page), "remove": [channel.public_id]}
    )
    assert response.headers["Location"] == SETTINGS
    page = follow(client, response)
    number = readable(channel.phone_number)
    assert f"Removed {shared.partner.brand_name}'s permission for {number}." in page
    assert "no longer work" in page
    assert shared_ids(db, shared) == {shared.ids[0]}
    assert channel_for_key(db, partner_key.secret) is None
    [event] = events(db, "permission.revoked")
    assert event.actor == f"client_user:{shared.user.public_id}"
    assert event.data["channel_ids"] == [channel.public_id]
    assert event.data["via"] == "client_hub"
    assert outbox_types(db, shared.partner)[-1] == "permission.revoked"
    # R6: the key is the client's to make now.
    numbers = client.get("/client/").text
    assert f'action="/client/numbers/{channel.public_id}/api-key"' in numbers


def test_unsharing_one_number_turns_all_numbers_off_and_says_so(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    account.customer.all_channels = True
    grant(db, account.customer, account.channels, via=GrantedVia.ALL_CHANNELS, actor="t")
    db.commit()
    log_in(client, account.user)
    confirm_page = follow(
        client,
        post(
            client,
            SETTINGS,
            {"mode": "selected", "channels": [account.ids[0]], "listed": account.ids},
        ),
    )
    assert "This also turns off “All numbers, now and later”" in confirm_page

    response = client.post(
        CONFIRM, data={"csrf_token": csrf_token(confirm_page), "remove": [account.ids[1]]}
    )
    page = follow(client, response)
    assert "“All numbers, now and later” is now off." in page
    assert "Numbers you add are not shared" in page
    db.expire_all()
    assert account.customer.all_channels is False
    assert shared_ids(db, account) == {account.ids[0]}


def test_remove_all_confirms_first_then_removes_every_permission(
    client: FlaskClient, db: Session, shared: ClientAccount
) -> None:
    log_in(client, shared.user)
    settings = client.get(SETTINGS).text
    link = re.search(r'<a class="button danger" href="([^"]+)">Remove all…</a>', settings)
    assert link
    confirm_page = text(client.get(html.unescape(link.group(1))))
    for channel in shared.channels:
        assert readable(channel.phone_number) in confirm_page
    assert "API keys for these numbers stop working at once" in confirm_page
    assert shared_ids(db, shared) == set(shared.ids)

    response = client.post(
        CONFIRM, data={"csrf_token": csrf_token(confirm_page), "remove": shared.ids}
    )
    follow(client, response)
    assert shared_ids(db, shared) == set()
    [event] = events(db, "permission.revoked")
    assert event.data["channel_ids"] == shared.ids


def test_confirmation_with_nothing_to_remove_changes_nothing(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    log_in(client, account.user)
    before = snapshot(db)
    response = client.get(f"{CONFIRM}?remove={account.ids[0]}")  # not shared: nothing to do
    assert "Nothing to change" in follow(client, response)
    assert snapshot(db) == before


def test_the_separate_one_click_routes_are_gone(
    client: FlaskClient, account: ClientAccount
) -> None:
    log_in(client, account.user)
    for path in ("/client/settings/partner/share-all", "/client/settings/partner/all-numbers"):
        assert post(client, path).status_code == 404


def test_remove_all_is_offered_only_while_something_is_shared(
    client: FlaskClient, account: ClientAccount
) -> None:
    log_in(client, account.user)
    page = text(client.get(SETTINGS))
    assert "Remove all…" not in page


def test_all_numbers_shares_every_page_and_later_numbers_in_one_save(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    log_in(client, account.user)
    # Nothing ticked, one number listed (a page of many): "All" shares every number anyway.
    response = save(client, [], account.ids[:1], mode="all")
    assert response.headers["Location"] == SETTINGS
    page = follow(client, response)
    assert "“All numbers, now and later” is on" in page
    db.expire_all()
    assert account.customer.all_channels is True
    assert shared_ids(db, account) == set(account.ids)
    [event] = events(db, "permission.granted")
    assert event.data["channel_ids"] == account.ids and event.data["via"] == "client_hub"
    assert re.search(r'<input[^>]* checked[^>]*value="all"', client.get(SETTINGS).text)
    later = make_channel(db, account.customer)
    assert later.permission is not None  # and the next number too

    # Back to "Only the numbers I select", every box ticked: off, and nothing removed.
    page = follow(client, save(client, [*account.ids, later.public_id], account.ids))
    assert "“All numbers, now and later” is now off." in page
    assert "Nothing was removed." in page
    db.expire_all()
    assert account.customer.all_channels is False
    assert shared_ids(db, account) == set(account.ids)
    assert events(db, "permission.revoked") == []


def test_a_save_that_changes_nothing_says_so(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    log_in(client, account.user)
    before = snapshot(db)
    assert "Nothing changed." in follow(client, save(client, [], account.ids))
    assert snapshot(db) == before


def test_a_save_without_a_choice_is_refused_and_changes_nothing(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    log_in(client, account.user)
    before = snapshot(db)
    for mode in (None, "everything"):
        data = {"channels": account.ids, "listed": account.ids}
        response = post(client, SETTINGS, data if mode is None else {**data, "mode": mode})
        assert response.status_code == 400
        assert "Your form could not be read" in text(response)
    assert snapshot(db) == before


# -- The rule: sharing keeps the client's own key until the partner generates one ---------------


def test_settings_say_before_saving_that_the_clients_own_keys_keep_working(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    own = generate_api_key(db, account.channels[0], side=Side.CLIENT, actor="c")
    db.commit()
    log_in(client, account.user)
    page = " ".join(untagged(client.get(SETTINGS).text).split())
    brand = account.partner.brand_name
    assert (
        f"1 of your numbers not shared now has an API key of your own: it keeps working until"
        f" {brand} generates a key for that number, which revokes yours."
    ) in page
    assert (
        f"Sharing keeps your API key {own.key.prefix}… working until {brand} generates one"
        " for this number."
    ) in page


def test_all_numbers_with_an_own_key_the_card_tells_the_truth(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    channel = account.channels[0]
    own = generate_api_key(db, channel, side=Side.CLIENT, actor="c")
    db.commit()
    log_in(client, account.user)
    follow(client, save(client, [], account.ids, mode="all"))
    assert channel_for_key(db, own.secret) is not None  # the key still works ...

    page = client.get("/client/").text
    brand = account.partner.brand_name
    card = re.search(rf'<p class="reason" id="reason-{channel.public_id}">(.*?)</p>', page, re.S)
    assert card
    assert " ".join(untagged(card.group(1)).split()) == (
        f"Your own API key {own.key.prefix}… still works: sharing did not stop it. It stops"
        f" when {brand} generates a key for this number. Until then you cannot generate a new one."
    )
    assert "disabled" not in card.group(1)
    banner = " ".join(untagged(page).split())
    assert (
        f"{R7} Disabled means you cannot generate new keys: an API key you made before sharing"
        f" keeps working until {brand} generates one for that number."
    ) in banner  # R7 word for word, and what it means for the key that still works
    settings = " ".join(untagged(client.get(SETTINGS).text).split())
    assert f"Your own API key {own.key.prefix}… still works until {brand} generates" in settings

    # ... until the partner generates one (R8); then the card says so no more.
    generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api")
    db.commit()
    assert channel_for_key(db, own.secret) is None
    page = client.get("/client/").text
    assert "still works" not in page
    assert "Disabled means" not in page
    assert f"Shared with {brand}: {brand} generates this number's API keys" in untagged(page)


# -- Activity ----------------------------------------------------------------------------------


def test_activity_lists_the_clients_own_events_newest_first(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    other = make_client_account(db)  # whose events must not show
    log_in(client, account.user)
    post(client, f"/client/numbers/{account.ids[0]}/api-key")
    follow(
        client,
        post(
            client,
            SETTINGS,
            {"mode": "selected", "channels": [account.ids[1]], "listed": account.ids},
        ),
    )

    page = text(client.get("/client/activity"))
    rows = re.findall(r'<li class="panel activity-card">(.*?)</li>', page, re.S)
    assert "Permission granted" in rows[0] and "via Client Hub" in rows[0]
    assert readable(account.channels[1].phone_number) in rows[0] and "You" in rows[0]
    assert "API key generated" in rows[1] and "made by you" in rows[1]
    assert "Number added" in rows[-2]
    assert "Client created" in rows[-1]
    assert other.channels[0].phone_number not in page
    assert "Older" not in page


def test_activity_pages_through_older_events(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    for _ in range(PAGE_SIZE):
        make_channel(db, account.customer)
    db.commit()
    total = db.scalar(select(func.count()).where(AuditEvent.client_id == account.customer.id))
    log_in(client, account.user)
    first = client.get("/client/activity").text
    older = re.search(r'href="(/client/activity\?before=[^"]+)">Older', first)
    assert older and "← Newest" not in first
    second = client.get(html.unescape(older.group(1))).text
    assert "← Newest" in second and "Older" not in second
    count = first.count("<time ") + second.count("<time ")
    assert (first.count("<time "), count) == (PAGE_SIZE, total)


def test_activity_empty_state(client: FlaskClient, db: Session, account: ClientAccount) -> None:
    db.execute(AuditEvent.__table__.delete().where(AuditEvent.client_id == account.customer.id))
    db.commit()
    log_in(client, account.user)
    assert "Nothing has happened yet." in text(client.get("/client/activity"))


def test_activity_with_an_unknown_page_is_not_found(
    client: FlaskClient, account: ClientAccount
) -> None:
    log_in(client, account.user)
    assert client.get("/client/activity?before=ev_nope").status_code == 404


# -- Languages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "de",
            {
                "/client/": [
                    "Ihre WhatsApp-Nummern",
                    "Freigegeben für",
                    "Organisationseinstellungen",
                ],
                SETTINGS: ["Welche Nummern darf Ihr Partner verwalten?", "Speichern"],
                "/client/activity": ["Berechtigung erteilt", "Abrechnungsvorgabe"],
                "/client/numbers/new": ["WhatsApp-Nummer hinzufügen"],
                "/client/account": ["Konto"],
            },
        ),
        (
            "pt",
            {
                "/client/": ["Seus números de WhatsApp", "Compartilhado com"],
                SETTINGS: ["Quais números seu parceiro pode gerenciar?", "Salvar"],
                "/client/activity": ["Permissão concedida", "padrão de cobrança"],
                "/client/numbers/new": ["Adicionar um número do WhatsApp"],
                "/client/account": ["Conta"],
            },
        ),
    ],
)
def test_every_client_hub_page_speaks_the_readers_language(
    client: FlaskClient, shared: ClientAccount, lang: str, words: dict[str, list[str]]
) -> None:
    log_in(client, shared.user)
    client.get(f"/client/?lang={lang}")  # the link's language is remembered
    english = ["Your WhatsApp numbers", "Partner permission", "Which numbers may", "Newest"]
    for path, expected in words.items():
        page = " ".join(untagged(client.get(path).text).split())
        for word in expected:
            assert word in page, (path, word)
        for word in english:
            assert word not in page, (path, word)
    # R7 in the reader's language, once, its pointer a link to the settings.
    page = client.get("/client/").text
    banner = re.search(r'<div class="callout r7" id="r7">(.*?)</div>', page, re.S)
    assert banner and f'<a href="{SETTINGS}">' in banner.group(1)
    assert "API keys are disabled" not in page


def test_a_refusal_is_worded_in_the_readers_language(
    client: FlaskClient, shared: ClientAccount
) -> None:
    log_in(client, shared.user)
    client.get("/client/?lang=de")
    response = post(client, f"/client/numbers/{shared.ids[0]}/api-key")
    page = follow(client, response)
    assert page.count("API-Schlüssel sind für diese Nummer deaktiviert.") == 2  # flash, banner


def test_the_number_filter_and_pages_speak_german_with_german_counts(
    client: FlaskClient, db: Session, account: ClientAccount
) -> None:
    for _ in range(PER_PAGE):
        make_channel(db, account.customer)
    db.commit()
    total = PER_PAGE + len(account.channels)
    log_in(client, account.user)
    page = " ".join(untagged(client.get(f"{SETTINGS}?lang=de").text).split())
    assert "Nach Nummer oder Name filtern" in page
    assert f"{total} Nummern · angezeigt: 1\N{EN DASH}{PER_PAGE}" in page
    assert "Weiter →" in page and "Next" not in page
    matching = " ".join(untagged(client.get("/client/?q=line").text).split())
    assert f"von {total} Nummern passen zu „line“" in matching
