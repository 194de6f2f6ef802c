"""The consent screen in German and Brazilian Portuguese in Chromium: the script's "Share 2 ·
Remove 1" in the page's language (from the page's own patterns), nothing wider than a phone,
axe-core at 375 and 1,280 px, and the screenshots for the README."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.helpers import PHONE, assert_accessible, screenshot, submit_login
from e2e.test_consent_traps import FIRST, SECOND, THIRD, share

pytestmark = pytest.mark.e2e

WORDS = {
    "de": {
        "email": "E-Mail",
        "password": "Passwort",
        "log_in": "Anmelden",
        "heading": "Ihre Nummern für Acme Messaging freigeben",
        "allow": "Erlauben",
        "before": "2 freigeben",
        "after": "2 freigeben · 1 entfernen",
        "warning": "Die API-Schlüssel von Acme Messaging für diese Nummer funktionieren",
    },
    "pt": {
        "email": "E-mail",
        "password": "Senha",
        "log_in": "Entrar",
        "heading": "Compartilhe seus números com Acme Messaging",
        "allow": "Permitir",
        "before": "Compartilhar 2",
        "after": "Compartilhar 2 · Remover 1",
        "warning": "as chaves de API de Acme Messaging para este número param de funcionar",
    },
}


@pytest.mark.parametrize("lang", ["de", "pt"])
def test_the_button_counts_in_the_pages_language(
    page: Page, live_server: LiveServer, demo: dict[str, Any], lang: str
) -> None:
    words = WORDS[lang]
    share(live_server, demo["client_id"], FIRST, SECOND)
    page.goto(f"{demo['permission_link']}&lang={lang}")
    submit_login(page, demo["client_email"], demo["client_password"], words)
    expect(page.get_by_role("heading", name=words["heading"])).to_be_visible()
    page.wait_for_load_state("load")
    allow = page.get_by_role("button", name=words["allow"])
    expect(allow).to_contain_text(words["before"])

    page.get_by_label(FIRST).uncheck()
    page.get_by_label(THIRD).check()

    # Redrawn by consent.js from the page's patterns; the server never saw these ticks.
    expect(allow.locator(".effect")).to_have_text(words["after"])
    expect(page.get_by_text(words["warning"]).locator("visible=true")).to_have_count(1)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('main *')]"
        ".map(e => e.getBoundingClientRect().right))"
    )
    assert widest <= PHONE["width"], "something sticks out on a phone"
    overlaps = page.evaluate(
        """[...document.querySelectorAll('.channel-row')].filter(row => {
          const a = row.querySelector('.phone').getBoundingClientRect();
          const b = row.querySelector('.badge').getBoundingClientRect();
          return a.right > b.left && a.left < b.right && a.bottom > b.top && a.top < b.bottom;
        }).length"""
    )
    assert overlaps == 0, "a number runs under its status"
    assert_accessible(page)
    screenshot(page, f"consent-{lang}")
