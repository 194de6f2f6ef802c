"""The example partner app does what a partner does, against a live hub: a signed link (its own
or the API's), the client's answer, the verified callback, a key that works, webhooks, and the
consent read from the API when the callback had no room for its lists."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from flask import Flask
from partner_testing import (
    LiveHub,
    Partner,
    answer_on_hub,
    app_csrf,
    carried_result,
    free_port,
    partner_config,
    popup_link,
    wait_until,
)
from sqlalchemy import select

from partner_app import create_app


@pytest.fixture
def browser() -> requests.Session:
    return requests.Session()


def test_allow_verified_then_a_key_that_works(browser: requests.Session, partner: Partner) -> None:
    link = popup_link(browser.get(f"{partner.url}/").text)
    assert "&sig=" in link  # signed by the app itself (the guide's permission_link)
    callback = answer_on_hub(browser, link, channels=partner.channel_ids)
    assert callback.startswith(f"{partner.url}/callback?")

    page = browser.get(callback)
    assert page.status_code == 200, page.text
    carried = carried_result(page.text)
    assert carried["origin"] == partner.url  # finish() posts to this exact origin, never "*"
    assert carried["result"]["client"] == partner.client_id
    assert carried["result"]["channels"] == partner.channel_ids
    assert carried["result"]["revoked"] == []
    assert carried["result"]["lists_omitted"] is False
    home = browser.get(f"{partner.url}/").text  # the app remembers this browser's connection
    assert f"Client <code>{partner.client_id}</code>" in home

    channel_id = partner.channel_ids[0]
    made = browser.post(
        f"{partner.url}/channels/{channel_id}/key", data={"csrf_token": app_csrf(home)}
    )
    assert made.status_code == 201, made.text
    assert '<code id="phone-number">+4915112340001</code>' in made.text
    key = re.search(r'<code id="api-key">(wak_[^<]+)</code>', made.text)
    assert key is not None
    used = requests.get(
        f"{partner.hub.url}/messaging/v1/channel",
        headers={"Authorization": f"Bearer {key.group(1)}"},
        timeout=10,
    )
    assert used.json() == {
        "channel_id": channel_id,
        "client_id": partner.client_id,
        "phone_number": "+4915112340001",
    }


def test_a_link_made_by_the_api(browser: requests.Session, partner: Partner) -> None:
    started = browser.post(
        f"{partner.url}/links",
        data={"csrf_token": app_csrf(browser.get(f"{partner.url}/").text)},
        allow_redirects=False,
    )
    assert started.status_code == 303, started.text
    link = started.headers["Location"]
    assert link.startswith(f"{partner.hub.url}/partners/{partner.credentials['partner_id']}/")
    assert "sig=" in link

    page = browser.get(answer_on_hub(browser, link, channels=partner.channel_ids[:1]))
    assert page.status_code == 200, page.text
    assert carried_result(page.text)["result"]["channels"] == partner.channel_ids[:1]


def test_cancel_is_verified_and_shares_nothing(browser: requests.Session, partner: Partner) -> None:
    link = popup_link(browser.get(f"{partner.url}/").text)
    page = browser.get(answer_on_hub(browser, link, action="deny"))
    assert page.status_code == 200, page.text
    assert "Nothing was shared" in page.text
    result = carried_result(page.text)["result"]
    assert result["error"] == "access_denied"
    assert "channels" not in result


def test_webhooks_arrive_verified_and_once(browser: requests.Session, partner: Partner) -> None:
    """The hub's worker posts to the app; the app keeps what standardwebhooks verified. Nothing
    shared first (other tests may have shared), then both numbers: one permission.granted."""

    def granted() -> list[dict[str, Any]]:
        return [
            event
            for event in partner.store.events()
            if event["type"] == "permission.granted"
            and event["data"]["client_id"] == partner.client_id
        ]

    for channels in ([], partner.channel_ids):
        before = len(granted())
        link = popup_link(browser.get(f"{partner.url}/").text)
        page = browser.get(answer_on_hub(browser, link, channels=channels))
        assert page.status_code == 200, page.text

    wait_until(lambda: len(granted()) > before, 60, "permission.granted reaching the app")
    assert granted()[-1]["data"]["channel_ids"] == partner.channel_ids
    ids = [event["id"] for event in partner.store.events()]
    assert len(ids) == len(set(ids))  # each webhook-id kept once


# -- a big client: the callback leaves its lists out ----------------------------------------------

BIG = 400  # past ~350 numbers the lists no longer fit in 8,000 bytes


@pytest.fixture(scope="module")
def big_client(live_hub: LiveHub) -> tuple[Flask, str, list[str]]:
    """A second sandbox partner (no webhook URL) whose client has 400 numbers, and an example
    app for it (driven in-process: its callback only needs to be requested)."""
    url = f"http://localhost:{free_port()}"
    credentials = live_hub.cli(
        *("create-partner", "--name", "Big Partner", "--billing", "direct_payment"),
        *("--sandbox", "--redirect-url", f"{url}/callback"),
    )
    client = live_hub.cli(
        *("create-client", "--partner", credentials["partner_id"], "--name", "Chain"),
        *("--email", "owner@chain.example", "--password", "example-app-password-42"),
    )
    channel_ids = seed_numbers(live_hub, client["client_id"], BIG)
    return create_app(partner_config(live_hub, credentials, url)), client["client_id"], channel_ids


def seed_numbers(hub: LiveHub, client_id: str, count: int) -> list[str]:
    """The operator's job, done through the hub's own domain layer in one transaction (the CLI
    would take a process per number)."""
    from onboarding import create_app as create_hub
    from onboarding.cli import OPERATOR
    from onboarding.db import get_session
    from onboarding.models import Client
    from onboarding.permissions.service import add_channel

    hub_app = create_hub(
        {"DATABASE_URL": hub.env["ONBOARDING_DATABASE_URL"], "SECRET_KEY": "seeding"}
    )
    try:
        with hub_app.app_context():
            session = get_session()
            client = session.scalars(select(Client).where(Client.public_id == client_id)).one()
            channels = [
                add_channel(session, client, f"+49151300{n:05d}", f"Store {n}", actor=OPERATOR)
                for n in range(count)
            ]
            session.commit()
            return [channel.public_id for channel in channels]
    finally:
        hub_app.extensions["db"].engine.dispose()


def test_lists_omitted_are_read_from_the_consent(
    big_client: tuple[Flask, str, list[str]],
) -> None:
    app, client_id, channel_ids = big_client
    browser, partner_app = requests.Session(), app.test_client()
    link = popup_link(partner_app.get("/").get_data(as_text=True))
    callback = answer_on_hub(
        browser,
        link,
        channels=[],
        extra={"all_channels": "1"},
        email="owner@chain.example",
    )
    assert "lists=omitted" in callback and "channels=" not in callback

    page = partner_app.get(callback.split(app.config["PUBLIC_URL"], 1)[1])
    assert page.status_code == 200, page.get_data(as_text=True)
    result = carried_result(page.get_data(as_text=True))["result"]
    assert result["client"] == client_id
    assert result["lists_omitted"] is True
    assert sorted(result["channels"]) == sorted(channel_ids)  # from GET consents/{id}
    assert result["revoked"] == []
