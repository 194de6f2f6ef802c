"""/api/docs in Chromium: Swagger UI renders the generated document from the hub's own assets,
and the hub's Content-Security-Policy (unchanged for this page) blocks nothing on it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer


def test_the_api_docs_render_under_the_hubs_csp(page: Page, live_server: LiveServer) -> None:
    blocked: list[str] = []
    outside: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith((live_server.url, "data:"))
            else None
        ),
    )

    page.goto(f"{live_server.url}/api/docs")

    expect(page.get_by_role("heading", name="Onboarding Hub API")).to_be_visible()
    expect(page.get_by_text("/partners/{partner_id}/webhooks/deliveries").first).to_be_visible()
    expect(page.get_by_text("Webhooks", exact=True).first).to_be_visible()
    assert blocked == []
    assert outside == []  # every asset from the hub: no CDN
