"""The live hub, the example app, and driving both as a browser would (the example app's tests)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from flask import Flask

from partner_app.store import Store

CLIENT_EMAIL = "owner@bakery.example"
CLIENT_PASSWORD = "example-app-password-42"
STARTUP = 60  # seconds a loaded machine may take to start the hub or run a CLI command
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')  # the hub's forms
FLOW = re.compile(r'name="flow" type="hidden" value="([^"]+)"')
POPUP_LINK = re.compile(r'<a href="([^"]+)" data-connect>')
APP_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')  # the example app's forms
CARRIED = re.compile(r'<script type="application/json" id="connect-result" data-origin="([^"]+)">')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


@dataclass
class LiveHub:
    url: str  # http://127.0.0.1:PORT
    env: dict[str, str]
    log: Path

    def cli(self, *args: str) -> dict[str, Any]:
        """`onboarding <args> --json`, as the hub's operator runs it."""
        ran = subprocess.run(
            [sys.executable, "-c", "from onboarding.cli import main; main()", *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STARTUP,
        )
        assert ran.returncode == 0, ran.stderr
        result: dict[str, Any] = json.loads(ran.stdout)
        return result


@dataclass
class Partner:
    """A sandbox partner on the live hub, its client, and the example app serving for it."""

    hub: LiveHub
    credentials: dict[str, Any]
    client_id: str
    channel_ids: list[str]
    url: str  # the example app: http://localhost:PORT
    app: Flask

    @property
    def store(self) -> Store:
        store: Store = self.app.extensions["store"]
        return store


def partner_config(hub: LiveHub, credentials: dict[str, Any], public_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "HUB_URL": hub.url,
        "PARTNER_ID": credentials["partner_id"],
        "API_KEY": credentials["api_key"],
        "SIGNING_SECRET": credentials["signing_secret"],
        "PUBLIC_URL": public_url,
    }


# -- a browser ------------------------------------------------------------------------------------


def form_fields(page: str) -> dict[str, str]:
    fields = {}
    if match := CSRF.search(page):
        fields["csrf_token"] = html.unescape(match.group(1))
    if match := FLOW.search(page):
        fields["flow"] = html.unescape(match.group(1))
    return fields


def answer_on_hub(
    browser: requests.Session,
    link: str,
    *,
    action: str = "allow",
    channels: list[str] | None = None,
    extra: dict[str, str] | None = None,
    email: str = CLIENT_EMAIL,
) -> str:
    """From a permission link through the hub's login and consent screen to the callback URL
    the hub redirects to (not followed)."""
    hub = link.split("/partners/", 1)[0]
    page = browser.get(link)  # the login page, or straight the consent screen
    assert page.status_code == 200, page.text
    if "/login" in page.url:
        login = {**form_fields(page.text), "email": email, "password": CLIENT_PASSWORD}
        page = browser.post(page.url, data=login)
        assert page.status_code == 200, page.text
    assert "/permission/consent" in page.url, page.url
    answer: dict[str, Any] = {**form_fields(page.text), "action": action, **(extra or {})}
    answer["channels"] = channels or []
    done = browser.post(f"{hub}/permission/consent", data=answer, allow_redirects=False)
    assert done.status_code == 303, done.text
    location: str = done.headers["Location"]
    return location


def popup_link(page: str) -> str:
    """The signed link behind the app's "Connect WhatsApp numbers" (a fresh state each view)."""
    match = POPUP_LINK.search(page)
    assert match is not None, page
    return html.unescape(match.group(1))


def app_csrf(page: str) -> str:
    match = APP_CSRF.search(page)
    assert match is not None, page
    return html.unescape(match.group(1))


def carried_result(page: str) -> dict[str, Any]:
    """What the callback page hands to connect.js's finish(), and the origin it posts to."""
    start = CARRIED.search(page)
    assert start is not None, page
    result: dict[str, Any] = json.loads(page[start.end() : page.index("</script>", start.end())])
    return {"origin": html.unescape(start.group(1)), "result": result}


# -- making callbacks only a signing-secret holder can make ---------------------------------------


def callback_params(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def resign(url: str, signing_secret: str, params: list[tuple[str, str]]) -> str:
    """`url` with `params` as its query and a valid signature over them (SPEC §5.3, written
    here again)."""
    key = base64.b64decode(signing_secret.removeprefix("whsec_"))
    unsigned = [(n, v) for n, v in params if n != "signature"]
    pairs = sorted((quote(n, safe="~"), quote(v, safe="~")) for n, v in unsigned)
    message = "&".join(f"{n}={v}" for n, v in pairs).encode("ascii")
    signature = hmac.new(key, message, hashlib.sha256).hexdigest()
    query = urlencode([*unsigned, ("signature", signature)])
    return urlunsplit(urlsplit(url)._replace(query=query))


def replaced(params: list[tuple[str, str]], **changes: str | None) -> list[tuple[str, str]]:
    """The parameters with some values changed; None removes the parameter."""
    kept = [(n, changes.get(n, v)) for n, v in params]
    return [(n, v) for n, v in kept if v is not None]
