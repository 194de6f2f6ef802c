"""The permission flow's traps (issue 10), each driven as a client would in Chromium.

Every test here failed on the screens before the fix: Enter on a checkbox sent Cancel, "All
numbers" shared numbers shown unticked, unticking removed permission without a word, Continue
dropped a typed number, there was no way to log out inside the flow, and error pages spoke of
`redirect_url` and "Error 400".
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from e2e.conftest import DESKTOP, TIMEOUT_MS, LiveServer, Receiver
from e2e.helpers import assert_accessible, submit_login
from e2e.test_consent_journey import (
    NEW_NUMBER,
    SIGNUP,
    id_list,
    log_in,
    on_consent_screen,
    the_callback,
    wait_for_partner,
)
from onboarding.models import Channel, Client, Consent, GrantedVia, Partner, Permission
from onboarding.permissions.service import grant

pytestmark = pytest.mark.e2e

FIRST, SECOND, THIRD = "+4915112345001", "+4915112345002", "+4915112345003"


def share(live_server: LiveServer, client_id: str, *numbers: str) -> None:
    with Session(live_server.engine) as session:
        client = session.scalars(select(Client).where(Client.public_id == client_id)).one()
        chosen = [c for c in client.channels if c.phone_number in numbers]
        grant(session, client, chosen, via=GrantedVia.CLIENT_HUB, actor="test")
        session.commit()


def shared_numbers(live_server: LiveServer) -> set[str]:
    with Session(live_server.engine) as session:
        return set(session.scalars(select(Channel.phone_number).join(Permission)))


def answers(live_server: LiveServer) -> int:
    with Session(live_server.engine) as session:
        return int(session.scalar(select(func.count()).select_from(Consent)) or 0)


def allow_button(page: Page) -> Any:
    return page.get_by_role("button", name="Allow")


def test_enter_on_a_number_never_answers(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    log_in(page, demo)
    box = page.get_by_label(FIRST)
    box.check()
    box.press("Enter")
    page.get_by_role("radio", name="Only the numbers I select").press("Enter")
    page.wait_for_load_state("load")

    on_consent_screen(page)
    expect(page.get_by_label(FIRST)).to_be_checked()  # the click is kept, nothing answered
    assert receiver.callbacks() == []
    assert answers(live_server) == 0
    # Allow remains the action a person takes on purpose.
    allow_button(page).click()
    wait_for_partner(page, receiver)
    assert id_list(the_callback(receiver, demo["signing_secret"])["channels"]) != []


def test_enter_never_answers_without_javascript_either(
    browser: Browser, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    """No script: Enter presses the form's first button, a hidden one that redraws the screen."""
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        log_in(page, demo)
        page.get_by_label(SECOND).check()
        page.get_by_label(SECOND).press("Enter")
        expect(
            page.get_by_role("heading", name="Share your numbers with Acme Messaging")
        ).to_be_visible()
        expect(page.get_by_label(SECOND)).to_be_checked()  # redrawn, the tick kept
        assert receiver.callbacks() == []
        assert answers(live_server) == 0
    finally:
        context.close()


def test_all_numbers_ticks_and_locks_the_list(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    log_in(page, demo)
    boxes = page.locator('input[name="channels"]')
    only = page.get_by_role("radio", name="Only the numbers I select")
    every = page.get_by_role("radio", name="All numbers, now and later")
    expect(only).to_be_checked()
    page.get_by_label(SECOND).check()

    every.check()
    for index in range(3):
        expect(boxes.nth(index)).to_be_checked()
        expect(boxes.nth(index)).to_be_disabled()
    expect(page.get_by_label("Select all")).to_be_hidden()
    expect(allow_button(page)).to_contain_text("Share 3")

    only.check()  # back: the client's own ticks return
    expect(page.get_by_label(FIRST)).not_to_be_checked()
    expect(page.get_by_label(SECOND)).to_be_checked()
    expect(page.get_by_label(FIRST)).to_be_enabled()
    expect(page.get_by_label("Select all")).to_be_visible()

    every.check()
    allow_button(page).click()
    wait_for_partner(page, receiver)
    assert shared_numbers(live_server) == {FIRST, SECOND, THIRD}
    with Session(live_server.engine) as session:
        assert session.scalars(select(Client.all_channels)).one() is True


def test_removing_a_number_says_what_stops_and_the_button_counts(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    share(live_server, demo["client_id"], FIRST, SECOND)
    log_in(page, demo)
    warning = "Acme Messaging's API keys for this number stop working"
    expect(allow_button(page)).to_contain_text("Share 2")
    expect(allow_button(page)).not_to_contain_text("Remove")
    expect(page.get_by_text(warning).locator("visible=true")).to_have_count(0)

    page.get_by_label(FIRST).uncheck()
    expect(page.locator("li", has=page.get_by_label(FIRST)).get_by_text(warning)).to_be_visible()
    expect(page.get_by_text(warning).locator("visible=true")).to_have_count(1)
    page.get_by_label(THIRD).check()
    expect(allow_button(page)).to_contain_text("Share 2 · Remove 1")
    # The warning is the checkbox's description; the status is not part of its name.
    box = page.get_by_label(FIRST)
    assert "Shared now" not in (box.evaluate("b => b.labels[0].textContent") or "")
    expect(page.get_by_role("checkbox", name="Shared now")).to_have_count(0)

    allow_button(page).click()
    wait_for_partner(page, receiver)
    assert shared_numbers(live_server) == {SECOND, THIRD}


def test_allow_with_nothing_selected_asks_first(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    share(live_server, demo["client_id"], FIRST)
    log_in(page, demo)
    page.get_by_label(FIRST).uncheck()
    expect(allow_button(page)).to_contain_text("Remove 1")
    allow_button(page).click()

    expect(page.get_by_role("heading", name="Share no number with Acme Messaging?")).to_be_visible()
    expect(page.get_by_text("+49 1511 2345001")).to_be_visible()
    assert_accessible(page)
    assert receiver.callbacks() == []
    assert shared_numbers(live_server) == {FIRST}
    page.get_by_role("button", name="Go back").click()
    expect(
        page.get_by_role("heading", name="Share your numbers with Acme Messaging")
    ).to_be_visible()
    page.wait_for_load_state("load")
    expect(page.get_by_label(FIRST)).not_to_be_checked()  # the choice came back as it was

    allow_button(page).click()
    page.get_by_role("button", name="Share no number").click()
    wait_for_partner(page, receiver)
    callback = the_callback(receiver, demo["signing_secret"])
    assert callback["channels"] == "[]"
    assert len(id_list(callback["revoked"])) == 1
    assert shared_numbers(live_server) == set()


def test_continue_adds_the_typed_number(
    page: Page, live_server: LiveServer, demo: dict[str, Any]
) -> None:
    page.goto(demo["permission_link"])
    page.get_by_role("link", name="Create an account").click()
    steps = page.get_by_role("list", name="Progress")
    expect(steps.locator('[aria-current="step"]')).to_have_text("Your account")
    page.get_by_label("Company name").fill(SIGNUP["company"])
    page.get_by_label("Work email").fill(SIGNUP["email"])
    page.get_by_label("Password").fill(SIGNUP["password"])
    page.get_by_role("button", name="Create account").click()

    expect(steps.locator('[aria-current="step"]')).to_have_text("Your numbers")
    page.get_by_label("WhatsApp number").fill("+49 151 23456789")
    page.get_by_role("button", name="Continue").click()  # typed, never added by hand

    on_consent_screen(page)
    expect(steps.locator('[aria-current="step"]')).to_have_text("Permission")
    expect(page.get_by_label(NEW_NUMBER)).to_be_visible()
    with Session(live_server.engine) as session:
        numbers = session.scalars(
            select(Channel.phone_number).join(Client).where(Client.name == SIGNUP["company"])
        ).all()
    assert numbers == [NEW_NUMBER]


def test_a_client_without_numbers_is_led_to_add_one(
    page: Page, live_server: LiveServer, demo: dict[str, Any]
) -> None:
    page.goto(demo["permission_link"])
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Company name").fill(SIGNUP["company"])
    page.get_by_label("Work email").fill(SIGNUP["email"])
    page.get_by_label("Password").fill(SIGNUP["password"])
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="Continue").click()

    on_consent_screen(page)
    page.get_by_role("link", name="Add a WhatsApp number").click()
    expect(page.get_by_role("heading", name="Add your WhatsApp numbers")).to_be_visible()


def test_not_you_logs_out_and_keeps_the_request(
    page: Page, receiver: Receiver, demo: dict[str, Any]
) -> None:
    log_in(page, demo)
    expect(page.get_by_text(f"Logged in as {demo['client_email']}")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    submit_login(page, demo["client_email"], demo["client_password"])
    on_consent_screen(page)  # the same request, after logging in again
    allow_button(page).click()
    page.get_by_role("button", name="Share no number").click()
    wait_for_partner(page, receiver)


def test_the_partner_is_shown_with_logo_website_and_return_address(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    with Session(live_server.engine) as session:
        partner = session.scalars(select(Partner)).one()
        partner.logo_url = receiver.url.replace("/callback", "/logo.svg")
        partner.website = "https://acme.example/"
        session.commit()
    log_in(page, demo)

    logo = page.get_by_role("img", name="Acme Messaging")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.naturalWidth") > 0  # loaded: the policy lets it in
    expect(page.get_by_role("link", name="acme.example")).to_have_attribute(
        "href", "https://acme.example/"
    )
    expect(page.get_by_text("you return to 127.0.0.1")).to_be_visible()
    # Grouped for reading as phonenumbers' INTERNATIONAL format does it.
    expect(page.get_by_text("+49 1511 2345001")).to_be_visible()
    assert_accessible(page)


def test_an_error_page_speaks_to_the_client_and_keeps_details_for_developers(
    page: Page, demo: dict[str, Any]
) -> None:
    link = demo["permission_link"].replace(
        "redirect_url=", "redirect_url=https%3A%2F%2Fevil.example"
    )
    page.goto(link)

    expect(
        page.get_by_role("heading", name="This link from Acme Messaging doesn't work")
    ).to_be_visible()
    visible = page.locator("main").inner_text()
    assert "redirect_url" not in visible
    assert "Error 400" not in visible
    expect(page.get_by_text("Partner Hub → Settings")).to_be_hidden()
    page.get_by_text("Details for the partner's developers").click()
    expect(page.get_by_text("Partner Hub → Settings")).to_be_visible()
    assert_accessible(page)
