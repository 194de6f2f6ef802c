"""axe-core on every page a person can reach, in English, German and Portuguese, at 375 and
1,280 px (issue 10): no serious or critical finding anywhere.

The data is arranged once for the module (the suite's per-test wipe is switched off here); each
(language, width) pair then walks every page in a fresh browser context, collects what axe-core
finds on each, and fails once, naming every page and rule. /api/docs is checked in English only:
Swagger UI has no catalog of ours, so its words are the same in every language.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from e2e.conftest import TIMEOUT_MS, LiveServer, Receiver
from e2e.helpers import serious_violations
from e2e.test_partner_hub import share
from onboarding import create_app
from onboarding.accounts import tokens
from onboarding.db import Base
from onboarding.models import ClientUser, PartnerUser
from onboarding.partners import team

pytestmark = pytest.mark.e2e

LANGS = ("en", "de", "pt")
WIDTHS = (375, 1280)
SHARED = "+4915112345001"  # shared with the demo partner below
OWN = "+4915112345002"  # running, not shared: the client may make its own key


@dataclass
class Site:
    url: str
    demo: dict[str, Any]
    shared_channel: str
    invite_token: str
    reset_token: str
    verify_token: str
    other_email: str
    other_password: str
    demo_receiver_url: str  # a second hub on the same database, with the demo receiver on


@pytest.fixture
def fresh_state() -> None:
    """The module arranges its data once (`site`); nothing is wiped between its tests."""


def cli(live_server: LiveServer, *args: str) -> dict[str, Any]:
    result = live_server.app.test_cli_runner().invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def demo_receiver_hub(live_server: LiveServer) -> Iterator[str]:
    """The demo receiver's pages (/demo/callback) exist only with ONBOARDING_DEMO_RECEIVER."""
    app = create_app(
        {
            "DATABASE_URL": str(live_server.engine.url),
            "SECRET_KEY": "e2e",
            "BASE_URL": live_server.url,
            "ISSUER": None,
            "DEMO_RECEIVER": True,
            "PROXY_FIX": False,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-demo-hub", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["db"].engine.dispose()


@pytest.fixture(scope="module")
def site(live_server: LiveServer, receiver: Receiver, demo_receiver_hub: str) -> Site:
    with live_server.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    live_server.demo_file.unlink(missing_ok=True)
    demo = cli(live_server, "demo", "--redirect-url", receiver.url)
    shared_channel = share(live_server, demo["client_id"], SHARED)
    other = cli(live_server, "create-partner", "--name=Other Partner", "--billing=direct_payment")
    cli(
        live_server,
        "create-client",
        f"--partner={other['partner_id']}",
        "--name=Other Client",
        "--email=other@client.example",
        "--password=lange-genug-42",
    )
    with live_server.app.app_context(), Session(live_server.engine) as session:
        owner = session.scalars(
            select(PartnerUser).where(PartnerUser.email == demo["owner_email"])
        ).one()
        invite = team.invite(session, owner, email="colleague@acme.example", role="member")
        client_user = session.scalars(
            select(ClientUser).where(ClientUser.email == demo["client_email"])
        ).one()
        reset = tokens.reset_token("client", client_user.public_id, client_user.password_hash)
        verify = tokens.verify_token(client_user.public_id, client_user.email)
        session.commit()
    return Site(
        url=live_server.url,
        demo=demo,
        shared_channel=shared_channel,
        invite_token=invite.token,
        reset_token=reset,
        verify_token=verify,
        other_email="other@client.example",
        other_password="lange-genug-42",
        demo_receiver_url=demo_receiver_hub,
    )


class Walk:
    """One browser context at one width in one language; collects axe-core's findings."""

    def __init__(self, page: Page, site: Site, live_server: LiveServer, lang: str) -> None:
        self.page = page
        self.site = site
        self.live_server = live_server
        self.lang = lang
        self.findings: dict[str, list[dict[str, Any]]] = {}

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        html_lang = self.page.evaluate("document.documentElement.lang")
        expected = {"en": "en", "de": "de", "pt": "pt-BR"}[self.lang]
        if name != "api-docs":
            assert html_lang == expected, f"{name}: <html lang={html_lang}>"
        found = serious_violations(self.page)
        if found:
            self.findings[name] = found

    def visit(self, name: str, path: str, status: int = 200) -> None:
        """Open the page, make sure it is the one meant (by its status), and check it."""
        response = self.page.goto(self.site.url + path)
        assert response is not None and response.status == status, f"{name}: {path}"
        self.check(name)

    def submit(self, selector: str) -> None:
        with self.page.expect_navigation():
            self.page.locator(selector).first.click()

    def log_in(self, path: str, email: str, password: str) -> None:
        self.page.goto(self.site.url + path)
        self.page.locator("input[name=email]").fill(email)
        self.page.locator("input[name=password]").fill(password)
        self.submit("main button[type=submit]")


# -- the pages ------------------------------------------------------------------------------------


def before_login(w: Walk) -> None:
    w.visit("landing", "/")
    w.visit("client login", "/login")
    w.page.locator("input[name=email]").fill(w.site.demo["client_email"])
    w.page.locator("input[name=password]").fill("not the password")
    w.submit("main button[type=submit]")
    w.check("client login (wrong password)")
    w.visit("partner hub login", "/hub/login")
    w.visit("not found (404)", "/no-such-page", 404)
    w.visit(
        "bad permission link (400)",
        f"/partners/{w.site.demo['partner_id']}/permission?redirect_url=https://elsewhere.example/",
        400,
    )
    w.visit("unknown partner link (404)", "/partners/pa_nobody/permission?redirect_url=x", 404)
    w.visit("flow link invalid", "/permission/consent?flow=not-a-token", 400)
    w.visit("forgot password", "/password/forgot")
    w.visit("partner hub forgot password", "/hub/password/forgot")
    w.page.locator("input[name=email]").fill("nobody@nowhere.example")
    w.submit("main button[type=submit]")
    w.check("forgot password sent")
    w.visit("reset password", f"/password/reset/{w.site.reset_token}")
    w.visit("reset link invalid", "/password/reset/not-a-token", 400)
    w.visit("email verified", f"/verify-email/{w.site.verify_token}")
    w.visit("invite accept", f"/hub/invite/{w.site.invite_token}")
    w.visit("invite invalid", "/hub/invite/not-a-token", 400)
    w.page.goto(f"{w.site.demo_receiver_url}/demo/callback")
    w.check("demo callback (refused)")


def signup_flow(w: Walk, width: int) -> None:
    w.page.goto(w.site.demo["permission_link"])
    w.page.locator("a[href*='/signup']").first.click()
    w.page.wait_for_url("**/signup?*")
    w.check("signup")
    w.page.locator("input[name=company]").fill("Kiosk am Markt")
    w.page.locator("input[name=email]").fill(f"new-{w.lang}-{width}@kiosk.example")
    w.page.locator("input[name=password]").fill("lange-genug-42")
    w.submit("main button[type=submit]")
    w.page.wait_for_url("**/signup/numbers?*")
    w.check("signup numbers")
    w.page.locator("input[name=phone]").fill("12345")
    w.submit("main button[name=action][value=add]")
    w.check("signup numbers (a number refused)")
    w.page.locator("input[name=phone]").fill("")  # Continue would try to add what is typed
    w.submit("main button[name=action][value=continue], main button[value=continue]")
    w.page.wait_for_url("**/permission/consent?*")
    w.check("consent (no numbers)")
    consent = w.page.url
    w.page.context.clear_cookies()
    w.page.goto(f"{w.site.url}/?lang={w.lang}")
    w.log_in("/login", w.site.other_email, w.site.other_password)
    assert (answer := w.page.goto(consent)) is not None and answer.status == 403
    w.check("consent of another partner's client (403)")
    w.page.context.clear_cookies()
    w.page.goto(f"{w.site.url}/?lang={w.lang}")


def consent_flow(w: Walk) -> None:
    w.page.goto(w.site.demo["permission_link"])
    w.page.locator("input[name=email]").fill(w.site.demo["client_email"])
    w.page.locator("input[name=password]").fill(w.site.demo["client_password"])
    w.submit("main button[type=submit]")
    w.page.wait_for_url("**/permission/consent?*")
    w.check("consent (with numbers)")
    consent = w.page.url
    w.page.locator("#mode-only").check()
    for box in w.page.locator("input[name=channels]").all():
        if box.is_enabled():
            box.uncheck()
    w.submit("button[name=action][value=allow]")
    w.check("consent confirm nothing")
    app = w.live_server.app
    kept = app.config["FLOW_MAX_AGE"]
    app.config["FLOW_MAX_AGE"] = -120  # every token is now past its lifetime
    try:
        assert (answer := w.page.goto(consent)) is not None and answer.status == 400
        w.check("flow link expired")
    finally:
        app.config["FLOW_MAX_AGE"] = kept


def client_hub(w: Walk) -> None:
    w.visit("client hub numbers", "/client/")
    w.visit("client hub add number", "/client/numbers/new")
    w.visit("client hub settings", "/client/settings/partner")
    confirm = f"/client/settings/partner/confirm?remove={w.site.shared_channel}"
    w.visit("client hub confirm", confirm)
    w.visit("client hub activity", "/client/activity")
    w.visit("client hub account", "/client/account")
    w.page.goto(w.site.url + "/client/")
    generate = w.page.locator("form[action*='/api-key'] button[type=submit]")
    expect(generate.first).to_be_visible()
    w.submit("form[action*='/api-key'] button[type=submit]")
    w.check("client hub new key (shown once)")


def partner_hub(w: Walk) -> None:
    w.log_in("/hub/login", w.site.demo["owner_email"], w.site.demo["owner_password"])
    w.check("partner hub clients")
    w.visit("partner hub client", f"/hub/clients/{w.site.demo['client_id']}")
    w.visit("partner hub activity", "/hub/activity")
    w.visit("partner hub webhooks", "/hub/webhooks")
    w.visit("partner hub settings", "/hub/settings")
    w.visit("partner hub team", "/hub/team")
    w.visit("partner hub account", "/hub/account")


def report(findings: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, violations in findings.items():
        for v in violations:
            nodes = v["nodes"]
            more = f" and {len(nodes) - 3} more" if len(nodes) > 3 else ""
            lines.append(f"{name}: {v['id']} ({v['impact']}) at {nodes[:3]}{more}")
    return "\n".join(lines)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LANGS)
def test_no_serious_finding_on_any_page(
    browser: Browser, site: Site, live_server: LiveServer, lang: str, width: int
) -> None:
    context = browser.new_context(
        viewport={"width": width, "height": 800}, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(f"{site.url}/?lang={lang}")  # the cookie keeps the language from here on
        walk = Walk(page, site, live_server, lang)
        before_login(walk)
        signup_flow(walk, width)
        consent_flow(walk)
        client_hub(walk)
        partner_hub(walk)
        if lang == "en":
            walk.visit("api-docs", "/api/docs")
            expect(page.get_by_role("heading", name="Onboarding Hub API")).to_be_visible()
        print(f"\n{lang} at {width} px: {len(walk.findings)} page(s) with findings")
        print(report(walk.findings))
        assert walk.findings == {}, f"axe-core at {width} px in {lang}:\n{report(walk.findings)}"
    finally:
        context.close()
