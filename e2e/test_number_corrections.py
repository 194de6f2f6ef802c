"""Removing and correcting numbers on the signup's numbers step (issue 10), in Chromium: a client
who typed a wrong number fixes it before the consent, with plain forms (no script needed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from e2e.conftest import DESKTOP, TIMEOUT_MS, LiveServer
from e2e.helpers import PHONE, assert_accessible, submit_login
from e2e.test_consent_journey import SIGNUP, on_consent_screen
from e2e.test_consent_languages import WORDS
from e2e.test_consent_traps import FIRST, SECOND, share
from onboarding.models import AuditEvent, Channel, Client
from onboarding.phones import readable

pytestmark = pytest.mark.e2e

WRONG, RIGHT, SPARE = "+4915112340001", "+4915112340002", "+4915112340003"
CORRECTED = f"Corrected {readable(WRONG)} to {readable(RIGHT)}."
# Where the screens of this test are kept for a person to look at (not the docs' screenshots).
SHOTS = Path(os.environ.get("E2E_SHOTS", "e2e/artifacts"))


def sign_up(page: Page, demo: dict[str, Any]) -> None:
    page.goto(demo["permission_link"])
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Company name").fill(SIGNUP["company"])
    page.get_by_label("Work email").fill(SIGNUP["email"])
    page.get_by_label("Password").fill(SIGNUP["password"])
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Add your WhatsApp numbers")).to_be_visible()


def add(page: Page, number: str) -> None:
    page.get_by_label("WhatsApp number").fill(number)
    page.get_by_role("button", name="Add number").click()
    expect(page.get_by_text(f"Added {readable(number)}.")).to_be_visible()


def numbers_of(live_server: LiveServer) -> list[str]:
    with Session(live_server.engine) as session:
        return list(
            session.scalars(
                select(Channel.phone_number)
                .join(Client)
                .where(Client.name == SIGNUP["company"])
                .order_by(Channel.id)
            )
        )


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def test_remove_one_correct_one_continue(
    page: Page, live_server: LiveServer, demo: dict[str, Any]
) -> None:
    sign_up(page, demo)
    for number in (WRONG, SPARE):
        add(page, number)
    numbers = page.get_by_role("list", name="Your numbers")
    expect(numbers.get_by_role("listitem")).to_have_count(2)
    assert_accessible(page)
    shoot(page, "numbers-step")

    page.get_by_role("button", name=f"Remove {SPARE}").click()
    expect(page.get_by_text(f"Removed {readable(SPARE)}.")).to_be_visible()
    expect(numbers.get_by_role("listitem")).to_have_count(1)

    page.get_by_role("link", name=f"Correct {WRONG}").click()
    field = page.get_by_label("WhatsApp number")
    expect(field).to_have_value(WRONG)
    expect(field).to_be_focused()
    assert_accessible(page)
    shoot(page, "numbers-step-correct")
    field.fill("+49 151 12340002")
    page.get_by_label("Display name (optional)").fill("Shop")
    page.get_by_role("button", name="Save correction").click()

    expect(page.get_by_text(CORRECTED)).to_be_visible()
    expect(numbers.get_by_text("Shop")).to_be_visible()
    assert numbers_of(live_server) == [RIGHT]

    page.get_by_role("button", name="Continue").click()
    on_consent_screen(page)
    expect(page.get_by_label(RIGHT)).to_be_visible()
    for gone in (WRONG, SPARE):
        expect(page.get_by_label(gone)).to_have_count(0)
    with Session(live_server.engine) as session:
        removed = session.scalars(
            select(AuditEvent.type).where(AuditEvent.type == "channel.removed")
        ).all()
    assert len(removed) == 2  # the spare one, and the wrong one its correction replaced


def test_without_javascript_remove_and_correct_still_work(
    browser: Browser, live_server: LiveServer, demo: dict[str, Any]
) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_up(page, demo)
        add(page, WRONG)
        add(page, SPARE)

        page.get_by_role("button", name=f"Remove {SPARE}").click()
        page.get_by_role("link", name=f"Correct {WRONG}").click()
        page.get_by_label("WhatsApp number").fill(RIGHT)
        page.get_by_role("button", name="Save correction").click()

        expect(page.get_by_text(CORRECTED)).to_be_visible()
        assert numbers_of(live_server) == [RIGHT]
    finally:
        context.close()


LANGUAGES = {
    "de": {"remove": "Entfernen", "correct": "Korrigieren", "kept": "Sie teilen diese Nummer"},
    "pt": {"remove": "Remover", "correct": "Corrigir", "kept": "Você compartilha este número"},
}


@pytest.mark.parametrize("lang", ["de", "pt"])
def test_the_step_in_german_and_portuguese(
    page: Page, live_server: LiveServer, demo: dict[str, Any], lang: str
) -> None:
    """The demo client, one number shared by its own choice: that one says why it stays."""
    words = {**WORDS[lang], **LANGUAGES[lang]}
    share(live_server, demo["client_id"], FIRST)
    page.goto(f"{demo['permission_link']}&lang={lang}")
    submit_login(page, demo["client_email"], demo["client_password"], words)
    expect(page.get_by_role("heading", name=words["heading"])).to_be_visible()
    page.goto(page.url.replace("/permission/consent", "/signup/numbers"))

    expect(page.get_by_text(words["kept"])).to_have_count(1)
    expect(page.get_by_role("button", name=f"{words['remove']} {FIRST}")).to_have_count(0)
    expect(page.get_by_role("button", name=f"{words['remove']} {SECOND}")).to_be_visible()
    assert_accessible(page)
    shoot(page, f"numbers-step-{lang}")
    page.get_by_role("link", name=f"{words['correct']} {SECOND}").click()
    expect(page.get_by_role("textbox").first).to_have_value(SECOND)
    assert_accessible(page)
    shoot(page, f"numbers-step-correct-{lang}")
