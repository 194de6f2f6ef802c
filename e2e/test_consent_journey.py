"""The permission screen in a real browser (SPEC §5): from the partner's link to its callback.

Each journey ends on the partner's receiver; the callback it got is checked with a signature
verification written here from SPEC §5.3, independent of the hub's own code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from e2e.conftest import DESKTOP, TIMEOUT_MS, LiveServer, Receiver
from e2e.helpers import assert_accessible, screenshot, submit_login
from onboarding.models import Channel, Client, ClientUser, Permission

pytestmark = pytest.mark.e2e

NEW_NUMBER_TYPED = "+49 151 23456789"
NEW_NUMBER = "+4915123456789"
SIGNUP = {"company": "Kiosk am Markt", "email": "owner@kiosk.example", "password": "lange-genug-42"}


# -- the partner's side: reading and verifying the callback ---------------------------------------


def expected_signature(signing_secret: str, params: list[tuple[str, str]]) -> str:
    """SPEC §5.3: HMAC-SHA256 keyed with the base64 part of `whsec_…`, over every parameter but
    `signature`, each name and value percent-encoded again (only A-Z a-z 0-9 - . _ ~ kept), sorted
    by encoded name then value, joined `name=value` with `&`, lowercase hex."""
    key = base64.b64decode(signing_secret.removeprefix("whsec_"))
    pairs = sorted((quote(n, safe="~"), quote(v, safe="~")) for n, v in params if n != "signature")
    message = "&".join(f"{n}={v}" for n, v in pairs)
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()


def the_callback(receiver: Receiver, signing_secret: str) -> dict[str, str]:
    """The one callback the receiver got, its signature verified; as a dict of its parameters."""
    callbacks = receiver.callbacks()
    assert len(callbacks) == 1, f"expected one callback, the receiver got {receiver.paths}"
    params = parse_qsl(urlsplit(callbacks[0]).query, keep_blank_values=True)
    names = [name for name, _ in params]
    assert len(names) == len(set(names)), f"a parameter is repeated: {params}"
    values = dict(params)
    assert re.fullmatch(r"[0-9a-f]{64}", values.get("signature", "")), values
    assert hmac.compare_digest(values["signature"], expected_signature(signing_secret, params))
    assert abs(int(values["ts"]) - time.time()) < 300
    assert values["consent"].startswith("cs_")
    return values


def link_state(permission_link: str) -> str:
    return dict(parse_qsl(urlsplit(permission_link).query))["state"]


def wait_for_partner(page: Page, receiver: Receiver) -> None:
    page.wait_for_url(lambda url: url.startswith(receiver.url))
    expect(page.get_by_role("heading", name="Partner received the callback")).to_be_visible()


# -- browser helpers ------------------------------------------------------------------------------


def log_in(page: Page, demo: dict[str, Any]) -> None:
    """From the demo's link through the login page to the (fully loaded) consent screen."""
    page.goto(demo["permission_link"])
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    submit_login(page, demo["client_email"], demo["client_password"])
    on_consent_screen(page)


def on_consent_screen(page: Page) -> None:
    # "load" comes after the deferred consent.js has wired up "Select all".
    page.wait_for_url(re.compile(r"/permission/consent\?"), wait_until="load")
    expect(
        page.get_by_role("heading", name="Share your numbers with Acme Messaging")
    ).to_be_visible()


def demo_channel_ids(live_server: LiveServer, client_id: str) -> list[str]:
    with Session(live_server.engine) as session:
        return list(
            session.scalars(
                select(Channel.public_id)
                .join(Client, Channel.client_id == Client.id)
                .where(Client.public_id == client_id)
                .order_by(Channel.id)
            )
        )


def id_list(raw: str) -> list[str]:
    assert raw.startswith("[") and raw.endswith("]"), raw
    return [part for part in raw[1:-1].split(",") if part]


# -- the journeys ---------------------------------------------------------------------------------


def test_signup_add_number_and_allow(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    """The demo partner is a sandbox partner (R9): the number the newcomer adds runs at once, so
    the journey ends with a key that works, and no operator step."""
    page.goto(demo["permission_link"])
    page.get_by_role("link", name="Create an account").click()

    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(page.get_by_text("Acme Messaging asks for access")).to_be_visible()
    screenshot(page, "signup")
    page.get_by_label("Company name").fill(SIGNUP["company"])
    page.get_by_label("Work email").fill(SIGNUP["email"])
    page.get_by_label("Password").fill(SIGNUP["password"])
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Add your WhatsApp numbers")).to_be_visible()
    page.get_by_label("WhatsApp number").fill(NEW_NUMBER_TYPED)
    page.get_by_role("button", name="Add number").click()
    expect(page.get_by_role("list", name="Your numbers")).to_contain_text(NEW_NUMBER)
    screenshot(page, "numbers")
    page.get_by_role("button", name="Continue").click()

    on_consent_screen(page)
    expect(page.get_by_text("Sandbox — test integration")).to_be_visible()
    number = page.get_by_label(NEW_NUMBER)
    expect(number).not_to_be_checked()  # direct_payment: nothing is shared before consent
    number.check()
    page.get_by_role("button", name="Allow").click()
    wait_for_partner(page, receiver)

    with Session(live_server.engine) as session:
        client = session.scalars(
            select(Client).join(ClientUser).where(ClientUser.email == SIGNUP["email"])
        ).one()
        assert client.name == SIGNUP["company"]
        assert [c.phone_number for c in client.channels] == [NEW_NUMBER]
        client_id, channel_id = client.public_id, client.channels[0].public_id
        assert client.channels[0].permission is not None
        assert client.channels[0].status == "running"

    callback = the_callback(receiver, demo["signing_secret"])
    assert callback["client"] == client_id
    assert callback["channels"] == f"[{channel_id}]"
    assert "revoked" not in callback
    assert "error" not in callback
    assert callback["state"] == link_state(demo["permission_link"])
    assert callback["iss"] == live_server.url

    # The partner's backend: a key for the new number, which the messaging side accepts.
    keys = f"{live_server.url}/api/v1/partners/{demo['partner_id']}/channels/{channel_id}/api_keys"
    created = page.request.post(keys, headers={"X-API-Key": demo["api_key"]})
    assert created.status == 201, created.text()
    used = page.request.get(
        f"{live_server.url}/messaging/v1/channel",
        headers={"Authorization": f"Bearer {created.json()['api_key']}"},
    )
    assert used.status == 200, used.text()
    assert used.json() == {
        "channel_id": channel_id,
        "client_id": client_id,
        "phone_number": NEW_NUMBER,
    }


def test_login_select_all_and_allow(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    page.goto(demo["permission_link"])
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    screenshot(page, "login")
    assert_accessible(page)
    log_in(page, demo)

    boxes = page.locator('input[type="checkbox"][name="channels"]')
    expect(boxes).to_have_count(3)
    for index in range(3):
        expect(boxes.nth(index)).not_to_be_checked()  # none shared yet (direct_payment)
    screenshot(page, "consent")
    assert_accessible(page)

    page.get_by_label("Select all").click()
    expect(page.get_by_label("Select all")).to_be_checked()
    for index in range(3):
        expect(boxes.nth(index)).to_be_checked()
    shown_ids = boxes.evaluate_all("boxes => boxes.map((box) => box.value)")
    page.get_by_role("button", name="Allow").click()
    wait_for_partner(page, receiver)

    channel_ids = demo_channel_ids(live_server, demo["client_id"])
    assert len(channel_ids) == 3
    assert sorted(shown_ids) == sorted(channel_ids)
    callback = the_callback(receiver, demo["signing_secret"])
    assert callback["client"] == demo["client_id"]
    assert sorted(id_list(callback["channels"])) == sorted(channel_ids)
    assert "revoked" not in callback
    assert callback["state"] == link_state(demo["permission_link"])
    assert callback["iss"] == live_server.url
    with Session(live_server.engine) as session:
        assert session.scalar(select(func.count()).select_from(Permission)) == 3


def test_cancel_sends_access_denied(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    log_in(page, demo)
    page.get_by_label("Select all").click()  # ticked, but Cancel must not share anything
    page.get_by_role("button", name="Cancel").click()
    wait_for_partner(page, receiver)

    callback = the_callback(receiver, demo["signing_secret"])
    assert callback["error"] == "access_denied"
    assert callback["client"] == demo["client_id"]
    assert callback["state"] == link_state(demo["permission_link"])
    assert callback["iss"] == live_server.url
    assert "channels" not in callback
    assert "revoked" not in callback
    with Session(live_server.engine) as session:
        assert session.scalar(select(func.count()).select_from(Permission)) == 0


def test_flow_pages_stay_on_the_hub_origin_without_errors(
    page: Page, live_server: LiveServer, demo: dict[str, Any]
) -> None:
    requests: list[str] = []
    problems: list[str] = []
    documents: list[Response] = []

    def on_request(request: Request) -> None:
        requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_response(response: Response) -> None:
        if response.request.resource_type == "document":
            documents.append(response)

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", on_response)
    page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));"
    )

    log_in(page, demo)
    # consent.js ran (a blocked script would leave "Select all" hidden) and its control works.
    assert page.locator("label.select-all").evaluate("label => label.hidden") is False
    page.get_by_label("Select all").click()
    expect(page.locator('input[name="channels"]:not(:checked)')).to_have_count(0)

    assert page.evaluate("window.__csp") == []
    assert problems == []
    hub = f"{live_server.url}/"
    foreign = [url for url in requests if not (url.startswith(hub) or url.startswith("data:"))]
    assert foreign == [], f"loaded from another origin: {foreign}"
    assert any(url.startswith(f"{hub}static/consent.js") for url in requests)
    assert any(url.startswith(f"{hub}static/style.css") for url in requests)

    # SPEC §5.2: every page of the flow sends the framing and referrer headers.
    assert [urlsplit(r.url).path for r in documents] == [
        urlsplit(demo["permission_link"]).path,
        "/login",
        "/login",
        "/permission/consent",
    ]
    for response in documents:
        headers = response.all_headers()
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), response.url
        assert "form-action" not in headers["content-security-policy"]
        assert headers.get("x-frame-options") == "DENY", response.url
        assert headers.get("referrer-policy") == "no-referrer", response.url


def test_back_and_allow_again_is_refused_and_can_start_again(
    page: Page, receiver: Receiver, demo: dict[str, Any]
) -> None:
    log_in(page, demo)
    page.get_by_label("+4915112345001").check()
    page.get_by_role("button", name="Allow").click()
    wait_for_partner(page, receiver)

    page.go_back()
    on_consent_screen(page)
    page.get_by_role("button", name="Allow").click()
    expect(
        page.get_by_role("heading", name="This permission request can't be used")
    ).to_be_visible()
    expect(page.get_by_text("already answered")).to_be_visible()
    assert len(receiver.callbacks()) == 1  # the replay did not reach the partner

    page.get_by_role("link", name="Start again").click()
    on_consent_screen(page)  # still logged in: straight to a fresh consent screen
    expect(page.get_by_label("+4915112345001")).to_be_checked()  # shared now
    expect(page.get_by_label("+4915112345002")).not_to_be_checked()


def test_select_all_is_not_shown_without_javascript(browser: Browser, demo: dict[str, Any]) -> None:
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        log_in(page, demo)
        expect(page.get_by_label("+4915112345001")).to_be_visible()
        assert page.get_by_label("Select all").is_hidden()  # no script runs: no need to wait
    finally:
        context.close()
