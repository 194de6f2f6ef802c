"""The Client Hub in a real browser: a client whose number its partner holds (R2, R7) removes the
partner's permission (R3), generates its own key (R6, R8), and the partner's side sees the result;
the traps: "All numbers" while the client holds its own key, and the one save of the settings;
the profile menu, the activity page on a phone, and every page in English, German and Portuguese.

Set-up goes through the operator CLI and the domain layer in the live server's database; the
partner's side is checked through the Partner API and the messaging API, as a partner would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import APIResponse, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from e2e.conftest import LiveServer
from e2e.helpers import DESKTOP, PHONE, assert_accessible, screenshot, submit_login
from onboarding.models import Channel, GrantedVia, Partner, PartnerApiKey, Side
from onboarding.permissions.keys import generate_api_key
from onboarding.permissions.service import revoke
from onboarding.phones import readable

pytestmark = pytest.mark.e2e

R7 = (
    "API keys are disabled for this number. The number was shared with your integration partner."
    " With your permission the partner has access to the WhatsApp Business API on your behalf."
    " To manage permissions go to “Organization Settings” or contact your partner."
)
BRAND = "Acme Messaging"
EMAIL = "owner@bakery.example"
PASSWORD = "lange-genug-42"
NUMBER = "+4915112345001"
KEY = re.compile(r"^wak_[A-Za-z0-9_-]{43}$")


@dataclass
class Setup:
    partner_id: str
    partner_api_key: str
    owner_email: str
    owner_password: str
    client_id: str
    channel_id: str
    partner_channel_key: str


def cli(live_server: LiveServer, *args: str) -> dict[str, Any]:
    result = live_server.app.test_cli_runner().invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture
def setup(live_server: LiveServer) -> Setup:
    """A partner_payment partner (so the number is shared by default, R2), its client with a
    login and a running number, and a channel API key the partner generated for it."""
    partner = cli(
        live_server,
        "create-partner",
        "--name=Acme Messaging GmbH",
        f"--brand-name={BRAND}",
        "--billing=partner_payment",
    )
    client = cli(
        live_server,
        "create-client",
        f"--partner={partner['partner_id']}",
        "--name=Demo Bakery",
        f"--email={EMAIL}",
        f"--password={PASSWORD}",
    )
    channel = cli(
        live_server,
        "add-channel",
        f"--client={client['client_id']}",
        f"--phone={NUMBER}",
        "--name=Store Berlin",
        "--status=running",
    )
    assert channel["permission"] == "shared"
    with Session(live_server.engine) as session:
        row = session.scalars(select(Channel).where(Channel.public_id == channel["channel_id"]))
        credential = session.scalars(
            select(PartnerApiKey.public_id)
            .join(Partner, Partner.id == PartnerApiKey.partner_id)
            .where(Partner.public_id == partner["partner_id"])
        ).one()
        # As the Partner API would: the actor names the partner's credential.
        actor = f"partner_api_key:{credential}"
        key = generate_api_key(session, row.one(), side=Side.PARTNER, actor=actor)
        session.commit()
    return Setup(
        partner_id=partner["partner_id"],
        partner_api_key=partner["api_key"],
        owner_email=partner["owner_email"],
        owner_password=partner["owner_password"],
        client_id=client["client_id"],
        channel_id=channel["channel_id"],
        partner_channel_key=key.secret,
    )


def messaging(page: Page, live_server: LiveServer, key: str) -> APIResponse:
    return page.request.get(
        f"{live_server.url}/messaging/v1/channel", headers={"Authorization": f"Bearer {key}"}
    )


def permission(page: Page, live_server: LiveServer, setup: Setup) -> str:
    path = f"/api/v1/partners/{setup.partner_id}/channels/{setup.channel_id}/permission"
    response = page.request.get(
        f"{live_server.url}{path}", headers={"X-API-Key": setup.partner_api_key}
    )
    assert response.status == 200, response.text()
    status: str = response.json()["status"]
    return status


def test_client_removes_permission_then_generates_its_own_key(
    page: Page, live_server: LiveServer, setup: Setup
) -> None:
    assert messaging(page, live_server, setup.partner_channel_key).status == 200
    assert permission(page, live_server, setup) == "shared"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    # Log in: the Numbers page shows R7 next to a greyed-out button.
    page.goto(f"{live_server.url}/login")
    submit_login(page, EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Your WhatsApp numbers")).to_be_visible()
    expect(page.get_by_text(R7, exact=True)).to_have_count(1)  # one banner, not per card
    expect(page.locator("#r7")).to_have_text(R7)
    generate = page.get_by_role("button", name="Generate API Key")
    expect(generate).to_be_disabled()
    expect(generate).to_have_accessible_description(
        f"{R7} Shared with {BRAND}: {BRAND} generates this number's API keys (see above)."
    )
    screenshot(page, "client-numbers")
    assert_accessible(page)

    # Organization Settings: the number is shared by the billing default; untick and save.
    page.get_by_role("link", name="Organization Settings").first.click()
    expect(page.get_by_role("heading", name="Organization Settings")).to_be_visible()
    expect(page.get_by_role("link", name="Organization Settings").first).to_have_attribute(
        "aria-current", "page"
    )
    box = page.get_by_role("checkbox", name=NUMBER)
    expect(box).to_be_checked()
    expect(page.get_by_text("Billing default: shared when the number was added")).to_be_visible()
    expect(page.get_by_role("radio", name="Only the numbers I select")).to_be_checked()
    screenshot(page, "client-settings")
    assert_accessible(page)
    box.uncheck()
    page.get_by_role("button", name="Save", exact=True).click()

    # The confirmation says what removing does (R3) before anything changes.
    expect(page.get_by_role("heading", name=f"Remove {BRAND}'s permission?")).to_be_visible()
    expect(
        page.get_by_text(f"{BRAND}'s API keys for this number stop working at once")
    ).to_be_visible()
    expect(page.get_by_text("generate your own API keys for it under Numbers")).to_be_visible()
    assert permission(page, live_server, setup) == "shared"
    screenshot(page, "client-remove-confirm")
    assert_accessible(page)
    page.get_by_role("button", name="Remove permission").click()

    removed = f"Removed {BRAND}'s permission for {readable(NUMBER)}."
    expect(page.get_by_text(removed)).to_be_visible()
    expect(page.get_by_role("checkbox", name=NUMBER)).not_to_be_checked()

    # Numbers: the button works now; the key is shown once, with a Copy button.
    page.get_by_role("link", name="Numbers").click()
    expect(page.get_by_text(R7)).to_have_count(0)
    page.get_by_role("button", name="Generate API Key").click()
    heading = page.get_by_role("heading", name=f"Your new API key for {readable(NUMBER)}")
    expect(heading).to_be_visible()
    own_key = page.locator("#new-key").inner_text().strip()
    assert KEY.match(own_key), own_key
    expect(page.get_by_text("It is shown only this once")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == own_key
    assert_accessible(page)

    page.get_by_role("link", name="Back to your numbers").click()
    expect(page.get_by_role("button", name="Generate new API key")).to_be_enabled()
    expect(page.get_by_text("revokes the current one")).to_be_visible()
    assert own_key not in page.content()  # never shown again

    # Activity: the removal and the key, newest first.
    page.get_by_role("link", name="Activity").click()
    rows = page.get_by_role("list", name="Activity, newest first").get_by_role("listitem")
    expect(rows.nth(0)).to_contain_text("API key generated")
    expect(rows.nth(0)).to_contain_text("You")
    expect(rows.nth(1)).to_contain_text("Permission removed")
    expect(rows.nth(1)).to_contain_text(NUMBER)
    expect(rows.nth(2)).to_contain_text(f"{BRAND} (Partner API)")
    screenshot(page, "client-activity")
    assert_accessible(page)

    # The partner's side: Missing (R4), its old key refused (R3), the client's key accepted.
    assert permission(page, live_server, setup) == "missing"
    assert messaging(page, live_server, setup.partner_channel_key).status == 401
    answer = messaging(page, live_server, own_key)
    assert answer.status == 200
    assert answer.json()["channel_id"] == setup.channel_id

    # Log out (profile menu); the partner's staff then see Missing in the Partner Hub (R4).
    page.get_by_text("Menu", exact=True).click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto(f"{live_server.url}/hub/login")
    submit_login(page, setup.owner_email, setup.owner_password)
    page.goto(f"{live_server.url}/hub/clients/{setup.client_id}")
    numbers = page.get_by_role("table", name="WhatsApp numbers")
    expect(numbers.get_by_role("row").filter(has_text=NUMBER)).to_contain_text("Missing")


def test_client_adds_a_number(page: Page, live_server: LiveServer, setup: Setup) -> None:
    page.goto(f"{live_server.url}/login")
    submit_login(page, EMAIL, PASSWORD)

    page.get_by_role("link", name="Add a number").click()
    expect(page.get_by_role("heading", name="Add a WhatsApp number")).to_be_visible()
    expect(page.get_by_label("WhatsApp number")).to_be_focused()
    screenshot(page, "client-add-number")
    assert_accessible(page)

    page.get_by_label("WhatsApp number").fill("0151 2345 6789")
    page.get_by_role("button", name="Add number").click()
    expect(page.get_by_text("Enter the number with its country code")).to_be_visible()
    expect(page.get_by_label("WhatsApp number")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    page.get_by_label("WhatsApp number").fill("+49 151 2345 6789")
    page.get_by_label("Display name (optional)").fill("Store Hamburg")
    page.get_by_role("button", name="Add number").click()
    expect(page.get_by_text("Added +49 1512 3456789. It is pending")).to_be_visible()
    expect(page.get_by_text(f"It is shared with {BRAND}")).to_be_visible()  # R2
    card = page.get_by_role("listitem").filter(has_text="+4915123456789")
    expect(card).to_contain_text("Pending")
    expect(card).to_contain_text("Store Hamburg")


def log_in(page: Page, live_server: LiveServer, lang: str = "en") -> None:
    page.goto(f"{live_server.url}/login?lang={lang}")
    page.locator("input[name=email]").fill(EMAIL)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/client/$"))


def a_number_with_the_clients_own_key(live_server: LiveServer, setup: Setup) -> str:
    """Remove the partner's permission for the number and let the client make its key."""
    with Session(live_server.engine) as session:
        channel = session.scalars(
            select(Channel).where(Channel.public_id == setup.channel_id)
        ).one()
        revoke(session, channel.client, [channel], via=GrantedVia.CLIENT_HUB, actor="test")
        key = generate_api_key(session, channel, side=Side.CLIENT, actor="test")
        session.commit()
        return key.secret


def test_all_numbers_with_the_clients_own_key_says_what_happens_and_keeps_it_working(
    page: Page, live_server: LiveServer, setup: Setup
) -> None:
    """Trap: "All numbers" shares a number that holds the client's own key. The rule: that key
    keeps working until the partner generates one (R8 then revokes it); the screens say so
    before the save and on the number's card, never "API keys are disabled" alone."""
    own_key = a_number_with_the_clients_own_key(live_server, setup)
    prefix = own_key[:10]
    log_in(page, live_server)

    # The door of the source document: profile menu → Partner.
    page.get_by_text("Menu", exact=True).click()
    page.get_by_role("link", name="Partner", exact=True).click()
    expect(page.get_by_role("heading", name="Organization Settings")).to_be_visible()
    all_numbers = page.get_by_role("radio", name="All numbers, now and later")
    expect(all_numbers).to_have_accessible_description(
        f"Every number you have now and every number you add later is shared with {BRAND}."
        f" 1 of your numbers not shared now has an API key of your own: it keeps working"
        f" until {BRAND} generates a key for that number, which revokes yours."
    )
    box = page.get_by_role("checkbox", name=NUMBER)
    expect(box).not_to_be_checked()
    all_numbers.check()
    expect(box).to_be_checked()  # "All" ticks and locks the list
    expect(box).to_be_disabled()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("“All numbers, now and later” is on")).to_be_visible()
    expect(page.get_by_text(f"Your own API key {prefix}… still works until")).to_be_visible()
    assert messaging(page, live_server, own_key).status == 200  # it does

    page.get_by_role("link", name="Numbers").click()
    card = page.get_by_role("listitem").filter(has_text=NUMBER)
    reason = (
        f"Your own API key {prefix}… still works: sharing did not stop it. It stops when"
        f" {BRAND} generates a key for this number. Until then you cannot generate a new one."
    )
    expect(card.locator(".reason")).to_have_text(reason)
    expect(card).not_to_contain_text("API keys are disabled")
    expect(page.locator("#r7")).to_contain_text(
        f"an API key you made before sharing keeps working until {BRAND} generates one"
    )
    assert_accessible(page)

    # The partner generates one: R8 revokes the client's, and the card says so no more.
    with Session(live_server.engine) as session:
        channel = session.scalars(
            select(Channel).where(Channel.public_id == setup.channel_id)
        ).one()
        generate_api_key(session, channel, side=Side.PARTNER, actor="test")
        session.commit()
    assert messaging(page, live_server, own_key).status == 401
    page.reload()
    expect(card).not_to_contain_text("still works")


def test_one_save_for_the_choice_and_the_ticks(
    page: Page, live_server: LiveServer, setup: Setup
) -> None:
    """Trap: two forms on one page, each with its own button, saved one and lost the other.
    Now one form: the choice and the ticks go with one Save; there is no other button."""
    a_number_with_the_clients_own_key(live_server, setup)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/client/settings/partner")
    form_buttons = page.locator("main form button[type=submit]")
    expect(form_buttons).to_have_count(1)
    expect(form_buttons).to_have_text("Save")
    expect(
        page.get_by_role("button", name=re.compile("Share all|Save this setting"))
    ).to_have_count(0)

    # "All", then back to "Only the numbers I select": the ticks come back as they were.
    box = page.get_by_role("checkbox", name=NUMBER)
    page.get_by_role("radio", name="All numbers, now and later").check()
    expect(box).to_be_checked()
    page.get_by_role("radio", name="Only the numbers I select").check()
    expect(box).not_to_be_checked()
    expect(box).to_be_enabled()
    box.check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text(f"Shared {readable(NUMBER)} with {BRAND}.")).to_be_visible()
    expect(page.get_by_role("radio", name="Only the numbers I select")).to_be_checked()
    assert permission(page, live_server, setup) == "shared"


HTML_LANG = {"en": "en", "de": "de", "pt": "pt-BR"}


@pytest.mark.parametrize("lang", ["en", "de", "pt"])
def test_every_client_hub_page_in_each_language_fits_a_phone(
    page: Page, live_server: LiveServer, setup: Setup, lang: str
) -> None:
    """Numbers, settings, activity, add number and account in each language: no horizontal
    scroll at 375 px, axe-core clean at both widths; the profile menu open on a phone too."""
    log_in(page, live_server, lang)
    for path in [
        "/client/",
        "/client/settings/partner",
        "/client/activity",
        "/client/numbers/new",
        "/client/account",
    ]:
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("html")).to_have_attribute(
            "lang", "en" if lang == "en" else ("de" if lang == "de" else "pt-BR")
        )
        page.set_viewport_size(PHONE)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        page.set_viewport_size(DESKTOP)
        assert_accessible(page)
    page.get_by_text({"en": "Menu", "de": "Menü", "pt": "Menu"}[lang], exact=True).click()
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
