"""The Client Hub in a real browser: a client whose number its partner holds (R2, R7) removes the
partner's permission (R3), generates its own key (R6, R8), and the partner's side sees the result.

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
from e2e.helpers import assert_accessible, screenshot
from onboarding.models import Channel, Partner, PartnerApiKey, Side
from onboarding.permissions.keys import generate_api_key

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
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your WhatsApp numbers")).to_be_visible()
    expect(page.get_by_text(R7, exact=True)).to_be_visible()
    generate = page.get_by_role("button", name="Generate API Key")
    expect(generate).to_be_disabled()
    expect(generate).to_have_accessible_description(R7)
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
    screenshot(page, "client-settings")
    assert_accessible(page)
    box.uncheck()
    page.get_by_role("button", name="Save changes").click()

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

    expect(page.get_by_text(f"Removed {BRAND}'s permission for {NUMBER}.")).to_be_visible()
    expect(page.get_by_role("checkbox", name=NUMBER)).not_to_be_checked()

    # Numbers: the button works now; the key is shown once, with a Copy button.
    page.get_by_role("link", name="Numbers").click()
    expect(page.get_by_text(R7)).to_have_count(0)
    page.get_by_role("button", name="Generate API Key").click()
    expect(page.get_by_role("heading", name=f"Your new API key for {NUMBER}")).to_be_visible()
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
    rows = page.locator("table.activity tbody tr")
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

    # Log out; the partner's staff then see Missing in the Partner Hub (R4).
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto(f"{live_server.url}/hub/login")
    page.get_by_label("Email", exact=True).fill(setup.owner_email)
    page.get_by_label("Password", exact=True).fill(setup.owner_password)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/hub/clients/{setup.client_id}")
    numbers = page.get_by_role("table", name="WhatsApp numbers")
    expect(numbers.get_by_role("row").filter(has_text=NUMBER)).to_contain_text("Missing")


def test_client_adds_a_number(page: Page, live_server: LiveServer, setup: Setup) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

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
    expect(page.get_by_text("Added +4915123456789. It is pending")).to_be_visible()
    expect(page.get_by_text(f"It is shared with {BRAND}")).to_be_visible()  # R2
    card = page.get_by_role("listitem").filter(has_text="+4915123456789")
    expect(card).to_contain_text("Pending")
    expect(card).to_contain_text("Store Hamburg")
