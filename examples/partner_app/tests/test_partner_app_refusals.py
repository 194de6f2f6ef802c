"""Every callback and webhook the example app must refuse, against a live hub.

Each callback test starts from a genuine callback of the hub for this browser, changes one thing,
and checks that the app answers 400 naming why and records nothing. Where the change is made
with the signing secret (a stale `ts`, another `iss`), only that one check can be what refused it.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import requests
from partner_testing import (
    Partner,
    answer_on_hub,
    app_csrf,
    callback_params,
    popup_link,
    replaced,
    resign,
)
from standardwebhooks.webhooks import Webhook


@pytest.fixture
def browser() -> requests.Session:
    return requests.Session()


def genuine_callback(browser: requests.Session, partner: Partner) -> str:
    """A callback the hub made for this browser's fresh state (not yet opened)."""
    link = popup_link(browser.get(f"{partner.url}/").text)
    return answer_on_hub(browser, link, channels=partner.channel_ids[:1])


def refused(browser: requests.Session, partner: Partner, url: str, reason: str) -> None:
    page = browser.get(url)
    assert page.status_code == 400, page.text
    assert "This callback was refused" in page.text
    assert reason in page.text
    assert "Your connection" not in browser.get(f"{partner.url}/").text  # nothing recorded


def accepted(browser: requests.Session, url: str) -> None:
    page = browser.get(url)
    assert page.status_code == 200, page.text
    assert "Your numbers are connected" in page.text


# -- callbacks ------------------------------------------------------------------------------------


def test_forged_signature(browser: requests.Session, partner: Partner) -> None:
    url = genuine_callback(browser, partner)
    params = callback_params(url)
    more = replaced(params, channels=f"[{','.join(partner.channel_ids)}]")  # signature kept
    refused(browser, partner, url.split("?")[0] + "?" + urlencode(more), "wrong signature")
    signature = dict(params)["signature"]
    flipped = replaced(params, signature=("0" if signature[0] != "0" else "1") + signature[1:])
    refused(browser, partner, url.split("?")[0] + "?" + urlencode(flipped), "wrong signature")
    accepted(browser, url)  # the forgeries spent nothing: the genuine one still counts


def test_replayed_state(browser: requests.Session, partner: Partner) -> None:
    url = genuine_callback(browser, partner)
    accepted(browser, url)
    page = browser.get(url)
    assert page.status_code == 400, page.text
    assert "one already used" in page.text


def test_a_callback_in_another_browser(browser: requests.Session, partner: Partner) -> None:
    """Someone else's genuine callback (its state issued to another session) counts for nobody
    but the browser that started it."""
    url = genuine_callback(browser, partner)
    refused(requests.Session(), partner, url, "a state this browser was not given")
    accepted(browser, url)


@pytest.mark.parametrize("seconds", [-301, -3600, 301])
def test_stale_or_future_ts(browser: requests.Session, partner: Partner, seconds: int) -> None:
    url = genuine_callback(browser, partner)
    moved = replaced(callback_params(url), ts=str(int(time.time()) + seconds))
    refused(browser, partner, resign(url, partner.credentials["signing_secret"], moved), "fresh")
    accepted(browser, url)


@pytest.mark.parametrize("name", ["channels", "state", "client", "signature", "iss"])
def test_duplicated_parameter_names(browser: requests.Session, partner: Partner, name: str) -> None:
    url = genuine_callback(browser, partner)
    value = dict(callback_params(url))[name]
    for again in (value + "x", value):  # another value, and the same one twice
        extra = urlencode({name: again})
        refused(browser, partner, f"{url}&{extra}", f"{name} appears more than once")
    accepted(browser, url)


def test_wrong_iss(browser: requests.Session, partner: Partner) -> None:
    url = genuine_callback(browser, partner)
    secret = partner.credentials["signing_secret"]
    for issuer in ("https://hub.evil.example", f"{partner.hub.url}/", None):
        moved = replaced(callback_params(url), iss=issuer)
        refused(browser, partner, resign(url, secret, moved), "another issuer")
    accepted(browser, url)


def test_wrong_or_absent_state(browser: requests.Session, partner: Partner) -> None:
    url = genuine_callback(browser, partner)
    secret = partner.credentials["signing_secret"]
    others = requests.Session()
    another_sessions = dict(callback_params(popup_link(others.get(f"{partner.url}/").text)))
    for state, reason in [
        (secrets.token_urlsafe(24), "a state this browser was not given"),
        (another_sessions["state"], "a state this browser was not given"),
        ("", "a state this browser was not given"),
        (None, "no state"),
    ]:
        moved = replaced(callback_params(url), state=state)
        refused(browser, partner, resign(url, secret, moved), reason)
    accepted(browser, url)


# -- webhooks -------------------------------------------------------------------------------------


def event(event_id: str) -> str:
    data = {"client_id": "cl_x", "channel_ids": ["ch_x"], "via": "client_hub"}
    body = {"id": event_id, "type": "permission.revoked", "created_at": "2026-12-01T10:00:00Z"}
    return json.dumps({**body, "data": data})


def webhook_headers(
    secret: str, event_id: str, body: str, *, age: timedelta = timedelta()
) -> dict[str, str]:
    at = datetime.now(tz=UTC) - age
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
    }


def other_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.mark.parametrize(
    "case", ["another secret", "body changed", "too old", "malformed", "no signature"]
)
def test_webhook_with_a_bad_signature(partner: Partner, case: str) -> None:
    event_id = f"ev_forged_{secrets.token_hex(4)}"
    body, secret = event(event_id), partner.credentials["signing_secret"]
    signed = webhook_headers(secret, event_id, body)
    headers = {
        "another secret": lambda: webhook_headers(other_secret(), event_id, body),
        "body changed": lambda: webhook_headers(secret, event_id, body.replace("cl_x", "cl_y")),
        "too old": lambda: webhook_headers(secret, event_id, body, age=timedelta(minutes=10)),
        "malformed": lambda: {**signed, "webhook-signature": "v1"},
        "no signature": lambda: {k: v for k, v in signed.items() if k != "webhook-signature"},
    }[case]()
    sent = requests.post(f"{partner.url}/webhooks", data=body, headers=headers, timeout=10)
    assert sent.status_code == 400, sent.text
    assert event_id not in [kept["id"] for kept in partner.store.events()]


def test_a_webhook_signed_with_the_secret_is_kept(partner: Partner) -> None:
    """The positive control of the refusals above: the same request, correctly signed."""
    body = event("ev_control")
    headers = webhook_headers(partner.credentials["signing_secret"], "ev_control", body)
    for _ in range(2):  # a retry of the same webhook-id is not a second event
        sent = requests.post(f"{partner.url}/webhooks", data=body, headers=headers, timeout=10)
        assert sent.status_code == 204, sent.text
    assert [kept["id"] for kept in partner.store.events()].count("ev_control") == 1


# -- the app's own forms --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/links", "/channels/ch_x/key"])
def test_forms_without_the_csrf_token_are_refused(
    browser: requests.Session, partner: Partner, path: str
) -> None:
    browser.get(f"{partner.url}/")  # a session, but no token sent
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "not-the-token"}, {"csrf_token": "ü"}):
        sent = browser.post(f"{partner.url}{path}", data=data, allow_redirects=False)
        assert sent.status_code == 400, sent.text


def test_no_key_for_a_number_the_connection_does_not_share(
    browser: requests.Session, partner: Partner
) -> None:
    """The app's own rule: a browser gets keys only for what its verified callback listed."""
    token = app_csrf(browser.get(f"{partner.url}/").text)  # nothing connected in this browser
    path = f"/channels/{partner.channel_ids[0]}/key"
    sent = browser.post(f"{partner.url}{path}", data={"csrf_token": token})
    assert sent.status_code == 404, sent.text
    assert "Not one of the numbers your connection shares" in sent.text
