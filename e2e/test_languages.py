"""The language switcher in Chromium on a phone: it fits the header, plain links change the
language, and the choice stays for the next page (the cookie)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.helpers import PHONE, assert_accessible, screenshot
from e2e.test_partner_hub import log_in

pytestmark = pytest.mark.e2e


def assert_fits(page: Page) -> None:
    """Every switcher link inside the phone's width, and no page wider than the screen."""
    box_right = page.evaluate(
        "Math.max(...[...document.querySelectorAll('.lang-switch a')]"
        ".map(a => a.getBoundingClientRect().right))"
    )
    assert 0 < box_right <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_switcher_changes_the_language_on_a_phone(
    page: Page, live_server: LiveServer, demo: dict[str, Any]
) -> None:
    log_in(page, live_server, demo)
    page.set_viewport_size(PHONE)
    switcher = page.get_by_role("navigation", name="Language")
    expect(switcher).to_be_visible()
    assert_fits(page)

    switcher.get_by_role("link", name="Deutsch").click()

    expect(page.get_by_role("heading", name="Kunden", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    current = page.get_by_role("navigation", name="Sprache").get_by_role("link", name="Deutsch")
    expect(current).to_have_attribute("aria-current", "true")
    assert_fits(page)
    page.get_by_role("link", name="Einstellungen").click()  # no lang on this link: the cookie
    expect(page.get_by_role("heading", name="Integrationseinstellungen")).to_be_visible()
    assert "lang=" not in page.url
    assert_accessible(page)
    screenshot(page, "hub-settings-de")

    page.get_by_role("navigation", name="Sprache").get_by_role(
        "link", name="Português (Brasil)"
    ).click()

    expect(page.get_by_role("heading", name="Configurações da integração")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    page.get_by_role("link", name="Equipe").click()
    expect(page.get_by_role("heading", name="Equipe", exact=True)).to_be_visible()
    assert_accessible(page)
