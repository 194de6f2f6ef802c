"""The Partner Hub in a real browser: the demo partner's owner logs in, generates a key for a
shared number, sees the button greyed out for a missing one, and looks after the integration.

Every hub page visited is checked with axe-core (desktop and 375 px) and photographed for the
docs (docs/screenshots/hub-*.png).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from e2e.conftest import LiveServer, Receiver
from e2e.helpers import assert_accessible, screenshot, submit_login
from onboarding.models import Client, GrantedVia, WebhookOutbox
from onboarding.permissions.service import grant
from onboarding.phones import readable
from onboarding.webhooks.delivery import deliver_due
from onboarding.webhooks.transport import Transport

pytestmark = pytest.mark.e2e

SHARED = "+4915112345001"  # Store Berlin, running: shared below
MISSING = "+4915112345002"  # Store Hamburg, running, never shared
PENDING = "+4915112345003"  # Support line, pending


def share(live_server: LiveServer, client_id: str, number: str) -> str:
    """Grant the demo partner one of the demo client's numbers, as the client would; its id."""
    with Session(live_server.engine) as session:
        client = session.scalars(select(Client).where(Client.public_id == client_id)).one()
        channel = next(c for c in client.channels if c.phone_number == number)
        grant(session, client, [channel], via=GrantedVia.OPERATOR, actor="operator")
        session.commit()
        return channel.public_id


def log_in(page: Page, live_server: LiveServer, demo: dict[str, Any]) -> None:
    page.goto(f"{live_server.url}/hub/clients")
    expect(page.get_by_role("heading", name="Log in to the Partner Hub")).to_be_visible()
    submit_login(page, demo["owner_email"], demo["owner_password"])
    expect(page.get_by_role("heading", name="Clients")).to_be_visible()


def row(page: Page, number: str) -> Locator:
    numbers = page.get_by_role("table", name="WhatsApp numbers")
    return numbers.get_by_role("row").filter(has_text=number)


def open_section(page: Page, name: str, heading: str) -> None:
    page.get_by_role("navigation", name="Partner Hub").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    link = page.get_by_role("navigation", name="Partner Hub").get_by_role("link", name=name)
    expect(link).to_have_attribute("aria-current", "page")


def test_partner_generates_a_key_for_a_shared_number_and_not_for_a_missing_one(
    page: Page, live_server: LiveServer, demo: dict[str, Any]
) -> None:
    channel_id = share(live_server, demo["client_id"], SHARED)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.goto(f"{live_server.url}/hub/login")
    screenshot(page, "hub-login")
    assert_accessible(page)
    log_in(page, live_server, demo)
    expect(page.get_by_text(f"Logged in as {demo['owner_email']}.")).to_be_visible()
    page.get_by_label("Search clients").fill("crm-4711")  # the demo's partner_payload
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Demo Bakery")).to_be_visible()
    screenshot(page, "hub-clients")
    assert_accessible(page)

    page.get_by_role("link", name="Demo Bakery").click()
    expect(page.get_by_role("heading", name="Demo Bakery")).to_be_visible()
    expect(row(page, SHARED)).to_contain_text("Shared")
    expect(row(page, MISSING)).to_contain_text("Missing")
    assert_accessible(page)

    # Missing: greyed out, saying why and how to get permission.
    expect(row(page, MISSING).get_by_role("button", name="Generate API Key")).to_be_disabled()
    expect(row(page, MISSING).get_by_text("has not shared this number with you")).to_be_visible()
    link = row(page, MISSING).get_by_label(f"Permission link for {MISSING}")
    expect(link).to_have_value(re.compile(r"/partners/pa_[\w-]+/permission\?channels="))
    expect(row(page, MISSING).get_by_role("button", name="Copy")).to_be_visible()
    expect(row(page, PENDING).get_by_role("button", name="Generate API Key")).to_be_disabled()

    # Shared and running: the key is shown once, with a Copy button, and it works.
    row(page, SHARED).get_by_role("button", name="Generate API Key").click()
    expect(page.get_by_role("heading", name=f"New API key for {readable(SHARED)}")).to_be_visible()
    key = page.locator("#new-api-key").inner_text()
    assert key.startswith("wak_")
    page.get_by_role("button", name="Copy API key").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    screenshot(page, "hub-client")
    assert_accessible(page)

    answer = page.request.get(
        f"{live_server.url}/messaging/v1/channel", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status == 200
    assert answer.json()["channel_id"] == channel_id

    # Never shown again; a new key needs a confirmation that says what it does.
    page.get_by_role("link", name="← Clients").click()
    page.get_by_role("link", name="Demo Bakery").click()
    assert key not in page.content()
    row(page, SHARED).get_by_text("Generate new API key").click()
    expect(
        row(page, SHARED).get_by_text("Generating a new key revokes the current one")
    ).to_be_visible()
    expect(
        row(page, SHARED).get_by_role("button", name="Revoke it and generate a new key")
    ).to_be_visible()

    open_section(page, "Activity", "Activity")
    newest = page.get_by_role("row").nth(1)
    expect(newest).to_contain_text("API key generated")
    expect(newest).to_contain_text(demo["owner_email"])
    expect(newest).to_contain_text(SHARED)
    screenshot(page, "hub-activity")
    assert_accessible(page)

    open_section(page, "Team", "Team")
    expect(page.get_by_role("heading", name="Invite someone")).to_be_visible()
    assert_accessible(page)


def test_owner_sets_up_webhooks_reads_the_log_and_resends(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    log_in(page, live_server, demo)
    open_section(page, "Settings", "Integration settings")
    expect(page.get_by_text(demo["partner_id"])).to_be_visible()
    assert_accessible(page)

    # The receiver answers GET only, so the delivery below fails with 501: an attempt to show.
    hook = receiver.url.replace("/callback", "/webhooks")
    page.get_by_label("Webhook URL").fill(hook)
    page.get_by_role("button", name="Save webhook URL").click()
    expect(page.get_by_text("Webhook URL saved.")).to_be_visible()
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("heading", name="Webhook deliveries")).to_be_visible()
    test_event = page.locator("article.delivery").first
    expect(test_event).to_contain_text("Pending: first attempt at")
    expect(test_event).to_contain_text("Not attempted yet.")
    with Session(live_server.engine) as session:
        assert deliver_due(session, post=Transport(allow_private=True)) == 1
    page.reload()
    # A failed attempt reads as failed, with when the next one comes; no Resend while on its way.
    expect(test_event.get_by_text("HTTP 501")).to_be_visible()
    expect(test_event).to_contain_text("Failed 1 time, retrying at")
    expect(test_event.get_by_role("button", name=re.compile("^Resend"))).to_have_count(0)
    expect(test_event.get_by_text(hook).first).to_be_visible()

    # Given up (as after a day of retries): Failed, and Resend sends it again, first in line.
    with Session(live_server.engine) as session:
        session.execute(update(WebhookOutbox).values(status="failed"))
        session.commit()
    page.reload()
    expect(test_event).to_contain_text("Failed after 1 attempt")
    test_event.get_by_text("Payload").click()
    expect(test_event.locator("pre")).to_contain_text('"type": "webhook.test"')
    screenshot(page, "hub-webhooks")
    assert_accessible(page)
    test_event.get_by_role("button", name=re.compile("^Resend")).click()
    expect(page.get_by_text("Queued to be sent again")).to_be_visible()
    expect(page.locator("article.delivery").first).to_contain_text("Failed 1 time, retrying at")


def test_owner_is_asked_before_revoking_and_rotating(
    page: Page, live_server: LiveServer, demo: dict[str, Any]
) -> None:
    log_in(page, live_server, demo)
    open_section(page, "Settings", "Integration settings")
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_role("heading", name="New Partner API key")).to_be_visible()
    expect(page.get_by_role("button", name="Copy API key")).to_be_visible()
    screenshot(page, "hub-settings")
    assert_accessible(page)
    key = page.locator("#shown-1").inner_text()
    prefix = key[: len("obk") + 7]  # as the settings list shows it (security.issue_secret)

    # Revoke asks first, naming the key and what stops; Cancel keeps it.
    keys = page.locator("#api-keys")
    keys.get_by_role("link", name=re.compile(rf"^Revoke {re.escape(prefix)}")).click()
    expect(page.get_by_role("heading", name=f"Revoke API key {prefix}…?")).to_be_visible()
    expect(
        page.get_by_text(f"Integrations using key {prefix}… stop working at once")
    ).to_be_visible()
    screenshot(page, "hub-confirm")
    assert_accessible(page)
    page.get_by_role("link", name="Cancel").click()
    assert page.request.get(
        f"{live_server.url}/api/v1/partners/{demo['partner_id']}", headers={"X-API-Key": key}
    ).ok
    keys.get_by_role("link", name=re.compile(rf"^Revoke {re.escape(prefix)}")).click()
    page.get_by_role("button", name="Revoke API key").click()
    expect(page.get_by_text(f"API key {prefix}… revoked: it no longer works.")).to_be_visible()
    refused = page.request.get(
        f"{live_server.url}/api/v1/partners/{demo['partner_id']}", headers={"X-API-Key": key}
    )
    assert refused.status == 401

    # Rotation names the overlap; the new secret is shown once after confirming.
    page.get_by_role("button", name="Rotate signing secret…").click()
    expect(page.get_by_role("heading", name="Rotate the signing secret?")).to_be_visible()
    expect(
        page.get_by_text("The current secret stays valid for the overlap, until")
    ).to_be_visible()
    page.get_by_role("button", name="Rotate signing secret").click()
    expect(page.get_by_role("heading", name="New signing secret")).to_be_visible()


def test_link_builder_picks_numbers_by_checkbox_for_the_chosen_client(
    page: Page, live_server: LiveServer, demo: dict[str, Any]
) -> None:
    log_in(page, live_server, demo)
    open_section(page, "Settings", "Integration settings")
    page.get_by_role("link", name="Build a permission link").click()
    expect(page.get_by_role("heading", name="Permission link")).to_be_visible()
    page.get_by_label("Client").select_option(label="Demo Bakery")
    page.get_by_role("button", name="Show numbers").click()
    page.get_by_role("checkbox", name=re.compile("Store Hamburg")).check()
    page.get_by_label("State (optional)").fill("signup-7")
    page.get_by_role("button", name="Build link").click()
    link = page.get_by_role("textbox", name="Your permission link")
    expect(link).to_have_value(re.compile(r"email=[^&]+&channels=%5Bch_[^&]+%5D&state=signup-7"))
    expect(page.get_by_role("checkbox", name=re.compile("Store Hamburg"))).to_be_checked()
    screenshot(page, "hub-link")
    assert_accessible(page)
    for_bakery = link.input_value()
    page.get_by_label("Client").select_option(index=0)  # any client: no login filled in
    page.get_by_role("button", name="Build link").click()
    expect(link).not_to_have_value(for_bakery)
    assert "email=" not in link.input_value()
    page.goto(for_bakery)
    expect(page.get_by_text("Acme Messaging asks for access")).to_be_visible()
