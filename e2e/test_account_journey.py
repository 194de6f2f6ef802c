"""Accounts in a real browser (SPEC §5.4): a client who forgot the password inside the permission
flow gets the mail, sets a new password and comes back to the same request; and a partner's
invitee joins the team from the mailed link. The mails go to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer, Receiver
from e2e.helpers import assert_accessible, screenshot, submit_login
from e2e.test_consent_journey import link_state, on_consent_screen, the_callback, wait_for_partner
from onboarding import mail
from tests.mailbox import Handler, Mailbox, free_port

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a fresh passphrase 42"


@pytest.fixture
def mailbox(live_server: LiveServer) -> Iterator[Mailbox]:
    app = live_server.app
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    kept = {key: app.config[key] for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    mail.configure(app)
    try:
        yield Mailbox(handler, controller.port)
    finally:
        app.config.update(kept)
        mail.configure(app)
        controller.stop()


def test_forgot_password_inside_the_permission_flow_then_allow(
    page: Page,
    live_server: LiveServer,
    receiver: Receiver,
    demo: dict[str, Any],
    mailbox: Mailbox,
) -> None:
    page.goto(demo["permission_link"])
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Forgot password?").click()

    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    expect(page.get_by_text("Acme Messaging asks for access")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "forgot-password")
    page.get_by_label("Email").fill(demo["client_email"])
    page.get_by_role("button", name="Send the link").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "forgot-password-sent")

    arrived = mailbox.last(demo["client_email"])
    assert "within 30 minutes" in arrived.text
    page.goto(live_server.url + arrived.link())
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    expect(page.get_by_text("Acme Messaging asks for access")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "reset-password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()

    on_consent_screen(page)
    expect(page.get_by_text("Your new password is set")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    page.get_by_role("button", name="Share no number").click()  # nothing was ticked: asked first
    wait_for_partner(page, receiver)
    callback = the_callback(receiver, demo["signing_secret"])
    assert callback["client"] == demo["client_id"]
    assert callback["state"] == link_state(demo["permission_link"])


def test_an_invitee_joins_the_team_from_the_mail_and_logs_in(
    page: Page, live_server: LiveServer, demo: dict[str, Any], mailbox: Mailbox
) -> None:
    page.goto(live_server.url + "/hub/login")
    submit_login(page, demo["owner_email"], demo["owner_password"])
    page.get_by_role("link", name="Team").click()
    page.get_by_label("Email").fill("new.colleague@acme.example")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invited new.colleague@acme.example as member")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "team-invite")

    link = mailbox.last("new.colleague@acme.example").link()
    page.get_by_role("button", name="Log out").click()
    page.goto(live_server.url + link)
    expect(page.get_by_role("heading", name=re.compile("Join Acme Messaging"))).to_be_visible()
    assert_accessible(page)
    screenshot(page, "team-join")
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Join the team").click()
    expect(page.get_by_text("Welcome to Acme Messaging's team.")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    submit_login(page, "new.colleague@acme.example", NEW_PASSWORD)
    expect(page.get_by_text("Logged in as new.colleague@acme.example.")).to_be_visible()
