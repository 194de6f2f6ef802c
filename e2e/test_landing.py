"""The landing page (GET /): someone who arrives at the hub's address finds the doors."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.helpers import assert_accessible, screenshot


def test_a_visitor_finds_both_hubs_from_the_landing_page(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Onboarding Hub", level=1)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "landing")

    page.get_by_role("link", name="Partner Hub").click()
    expect(page).to_have_url(re.compile(r"/hub/login"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Client Hub").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
