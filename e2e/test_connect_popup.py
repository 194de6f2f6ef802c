"""static/connect.js in Chromium: the permission screen in a popup, across real origins.

The hub serves on 127.0.0.1:<port>; the partner is the example app (examples/partner_app) on
localhost:<port2>, another origin and another site, whose pages load connect.js from the hub.
A third origin (http://evil.test) is answered by Playwright itself. Forged messages are sent
before the real answer and the page's own counter shows that they had arrived: a forged message
that counted would have settled the popup's wait first and shown its own client.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, Route, expect
from werkzeug.serving import BaseWSGIServer, make_server

from e2e.conftest import LiveServer, _QuietRequestHandler
from e2e.helpers import submit_login
from partner_app import create_app  # examples/partner_app, on pytest's pythonpath

pytestmark = pytest.mark.e2e

THIRD = "http://evil.test"
ALLOW = 'button[name="action"][value="allow"]'
WAITING = "Waiting for your answer in the hub's window…"
FORGED = {
    "type": "onboarding-connect:result",
    "version": 1,
    "result": {"client": "cl_forged", "channels": ["ch_forged"], "revoked": []},
}


@dataclass
class PartnerSite:
    url: str  # http://localhost:PORT
    app: Flask
    demo: dict[str, Any]


@pytest.fixture
def partner_site(live_server: LiveServer) -> Iterator[PartnerSite]:
    """The demo partner (a sandbox) with the example app as its redirect URL, serving."""
    apps: list[Flask] = []  # the app needs the demo's credentials, the demo the app's URL
    server: BaseWSGIServer = make_server(
        "127.0.0.1",
        0,
        lambda environ, start_response: apps[0](environ, start_response),
        threaded=True,
        request_handler=_QuietRequestHandler,
    )
    url = f"http://localhost:{server.server_port}"
    seeded = live_server.app.test_cli_runner().invoke(
        args=["demo", "--redirect-url", f"{url}/callback", "--json"]
    )
    assert seeded.exit_code == 0, seeded.output
    demo: dict[str, Any] = json.loads(seeded.stdout)
    app = create_app(
        {
            "TESTING": True,
            "HUB_URL": live_server.url,
            "PARTNER_ID": demo["partner_id"],
            "API_KEY": demo["api_key"],
            "SIGNING_SECRET": demo["signing_secret"],
            "PUBLIC_URL": url,
        }
    )
    apps.append(app)
    thread = threading.Thread(target=server.serve_forever, name="e2e-partner", daemon=True)
    thread.start()
    try:
        yield PartnerSite(url=url, app=app, demo=demo)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def allow_in(popup: Page, demo: dict[str, Any]) -> None:
    """Log in on the hub (in the popup) and share the demo's first number."""
    expect(popup.get_by_role("heading", name="Log in")).to_be_visible()
    assert popup.url.startswith("http://127.0.0.1:")
    submit_login(popup, demo["client_email"], demo["client_password"])
    popup.get_by_label("+4915112345001").check()
    popup.locator(ALLOW).click()


def open_connect(page: Page) -> Page:
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Connect WhatsApp numbers").click()
    popup = opened.value
    expect(page.locator("#connect-status")).to_have_text(WAITING)
    return popup


def test_popup_journey_hands_the_verified_result_to_the_opener(
    page: Page, partner_site: PartnerSite
) -> None:
    page.goto(f"{partner_site.url}/")
    popup = open_connect(page)
    allow_in(popup, partner_site.demo)
    popup.wait_for_event("close")  # the opener closed it on the answer

    status = page.locator("#connect-status")
    expect(status).to_contain_text("Connected (verified by our server): client ")
    expect(status).to_contain_text(partner_site.demo["client_id"])
    expect(status).to_contain_text("shares 1 number(s)")
    expect(status).to_have_attribute("data-answers", "1")
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("list", name="Shared numbers")).to_contain_text("ch_")


def test_closing_the_popup_is_a_cancel(page: Page, partner_site: PartnerSite) -> None:
    page.goto(f"{partner_site.url}/")
    popup = open_connect(page)
    expect(popup.get_by_role("heading", name="Log in")).to_be_visible()
    popup.close()
    expect(page.locator("#connect-status")).to_have_text(
        "You closed the hub's window before answering: nothing changed."
    )


def test_a_blocked_popup_falls_back_to_the_plain_redirect(
    page: Page, partner_site: PartnerSite
) -> None:
    page.add_init_script("window.open = () => null;")  # what a popup blocker returns
    page.goto(f"{partner_site.url}/")
    page.get_by_role("link", name="Connect WhatsApp numbers").click()
    allow_in(page, partner_site.demo)  # the hub in this very window
    page.wait_for_url(f"{partner_site.url}/callback?**")
    expect(page.get_by_role("heading", name="Your numbers are connected")).to_be_visible()
    expect(page.locator("#popup-note")).to_be_hidden()  # no opener: this page is the answer


def test_forged_messages_from_a_third_origin_and_other_windows_are_ignored(
    page: Page, partner_site: PartnerSite
) -> None:
    def third_origin(route: Route) -> None:
        route.fulfill(
            status=200,
            content_type="text/html",
            body="<!doctype html><title>Elsewhere</title><h1>Elsewhere</h1>",
        )

    page.context.route(f"{THIRD}/**", third_origin)
    page.goto(f"{THIRD}/")
    # The third site opens the partner's page, so it holds a window reference to post to.
    with page.expect_popup() as opened:
        page.evaluate("url => { window.partnerWindow = window.open(url); }", f"{partner_site.url}/")
    partner = opened.value
    partner.wait_for_load_state()
    partner.evaluate(
        "() => { window.seen = 0; addEventListener('message', () => { window.seen += 1; }); }"
    )
    popup = open_connect(partner)
    expect(popup.get_by_role("heading", name="Log in")).to_be_visible()

    # 1. A third origin, from a window that is not the popup.
    page.evaluate("forged => window.partnerWindow.postMessage(forged, '*')", FORGED)
    # 2. The popup itself, but while it shows the hub: the hub's origin, not the partner's.
    popup.evaluate("forged => window.opener.postMessage(forged, '*')", FORGED)
    # 3. The partner's own origin, from a window that is not the popup: the page itself...
    partner.evaluate("forged => window.postMessage(forged, window.location.origin)", FORGED)
    # 4. ...and another window of the partner's origin.
    with partner.expect_popup() as sibling_opened:
        partner.evaluate(
            "url => { window.sibling = window.open(url, 'sibling'); }", partner_site.url
        )
    sibling = sibling_opened.value
    sibling.wait_for_load_state()
    sibling.evaluate("forged => window.opener.postMessage(forged, window.location.origin)", FORGED)
    sibling.close()

    partner.wait_for_function("() => window.seen >= 4")  # all four have been dispatched
    expect(partner.locator("#connect-status")).to_have_text(WAITING)

    allow_in(popup, partner_site.demo)
    popup.wait_for_event("close")
    status = partner.locator("#connect-status")
    expect(status).to_contain_text(partner_site.demo["client_id"])
    expect(status).not_to_contain_text("cl_forged")
    expect(status).to_have_attribute("data-answers", "1")
