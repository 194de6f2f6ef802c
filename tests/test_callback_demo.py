"""The demo receiver (`make run`'s stand-in partner page): it starts each request with a fresh
`state`, verifies each callback with the verifier the docs ship (signature, the `iss` of the hub
it reached, a fresh `ts`, a state it issued to this browser, once), and shows the consent and
`lists=omitted` as a partner should read them."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from onboarding.consent.callback import callback_url
from onboarding.models import Partner
from tests.conftest import app_in_transaction
from tests.factories import make_channel, make_client, make_partner

HUB = "https://hub.test"
RECEIVER = f"{HUB}/demo/callback"


@pytest.fixture
def app(database: tuple[str, Engine], connection: Connection, tmp_path: Path) -> Flask:
    """conftest's app, with the demo receiver switched on."""
    return app_in_transaction(database, connection, tmp_path, BASE_URL=HUB, DEMO_RECEIVER=True)


@pytest.fixture
def partner(app: Flask, db: Session) -> Partner:
    partner = make_partner(db, redirect_urls=[RECEIVER])
    db.commit()
    # What `onboarding demo` leaves for the receiver: which partner is the demo's.
    (Path(app.instance_path) / "demo.json").write_text(
        json.dumps({"partner_id": partner.public_id})
    )
    return partner


def start(client: FlaskClient) -> str:
    """Press the demo's start link: the state it issued to this browser."""
    response = client.get("/demo/start", base_url=HUB)
    assert response.status_code == 303
    link = urlsplit(response.headers["Location"])
    assert f"{link.scheme}://{link.netloc}" == HUB
    query = parse_qs(link.query)
    assert query["redirect_url"] == [RECEIVER] and "sig" in query
    [state] = query["state"]
    return state


def arrive(client: FlaskClient, partner: Partner, db: Session, **overrides: Any) -> str:
    """The receiver's page for a callback the hub would send (with `overrides`) to a request
    this browser started."""
    customer, _user = make_client(db, partner)
    line = make_channel(db, customer)
    db.commit()
    arguments: dict[str, Any] = {
        "client_id": customer.public_id,
        "consent_id": "cs_demo1",
        "issuer": HUB,
        "state": start(client),
        "shared": [line.public_id],
    }
    url = callback_url(RECEIVER, partner.signing_secret, **(arguments | overrides))
    return page(client, url)


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url.removeprefix(HUB), base_url=HUB)
    assert response.status_code == 200
    assert response.mimetype == "text/html"  # a page, not its markup as text
    return html.unescape(response.get_data(as_text=True))


def test_a_genuine_callback_is_valid_and_shows_its_consent(
    client: FlaskClient, db: Session, partner: Partner
) -> None:
    shown = arrive(client, partner, db)

    assert "Signature valid" in shown
    assert "cs_demo1" in shown and "Allowed" in shown
    assert "NOT valid" not in shown


def test_every_start_issues_a_fresh_state(client: FlaskClient, partner: Partner) -> None:
    states = {start(client) for _ in range(3)}

    assert len(states) == 3


def test_a_start_before_the_demo_is_seeded_says_what_to_run(client: FlaskClient) -> None:
    response = client.get("/demo/start", base_url=HUB)

    assert response.status_code == 404
    assert "onboarding demo" in html.unescape(response.text)


def test_lists_omitted_points_to_the_consent_in_the_api(
    client: FlaskClient, db: Session, partner: Partner
) -> None:
    shown = arrive(client, partner, db, shared=[f"ch_{n:016d}" for n in range(1000)])

    assert "Signature valid" in shown
    assert "lists=omitted" in shown
    assert f"GET /api/v1/partners/{partner.public_id}/consents/cs_demo1" in shown


def test_a_cancel_says_nothing_changed(client: FlaskClient, db: Session, partner: Partner) -> None:
    shown = arrive(client, partner, db, error="access_denied")

    assert "Signature valid" in shown and "Cancelled (access_denied)" in shown


def test_a_callback_from_another_issuer_is_not_valid(
    client: FlaskClient, db: Session, partner: Partner
) -> None:
    shown = arrive(client, partner, db, issuer="https://evil.example")

    assert "NOT valid: another issuer" in shown
    assert "Signature valid" not in shown


def test_the_issuer_expected_is_the_hub_the_browser_reached(
    client: FlaskClient, db: Session, partner: Partner
) -> None:
    """Issue 11: the hub served on one port and signed another. The receiver expects the
    address it was reached on, so such a callback is refused, not shown as valid."""
    shown = arrive(client, partner, db, issuer="https://hub.test:5000")

    assert "NOT valid: another issuer" in shown


def test_the_configured_issuer_is_the_one_expected(
    app: Flask, client: FlaskClient, db: Session, partner: Partner
) -> None:
    app.config["ISSUER"] = "https://issuer.example/hub"

    assert "Signature valid" in arrive(client, partner, db, issuer="https://issuer.example/hub")
    assert "NOT valid: another issuer" in arrive(client, partner, db, issuer=HUB)


def test_a_stale_callback_is_not_valid(client: FlaskClient, db: Session, partner: Partner) -> None:
    shown = arrive(client, partner, db, now=time.time() - 301)

    assert "NOT valid: not fresh" in shown


def test_a_state_this_browser_was_not_given_is_not_valid(
    app: Flask, client: FlaskClient, db: Session, partner: Partner
) -> None:
    """Another browser's state (or one the demo printed once for everybody) proves nothing."""
    other_browser = app.test_client()
    state = start(other_browser)

    shown = arrive(client, partner, db, state=state)

    assert "NOT valid: not a state this page issued to this browser" in shown


def test_a_callback_without_a_state_is_not_valid(
    client: FlaskClient, db: Session, partner: Partner
) -> None:
    assert "NOT valid: not a state this page issued" in arrive(client, partner, db, state=None)


def test_a_state_is_good_for_one_callback(
    client: FlaskClient, db: Session, partner: Partner
) -> None:
    customer, _user = make_client(db, partner)
    db.commit()
    url = callback_url(
        RECEIVER,
        partner.signing_secret,
        client_id=customer.public_id,
        consent_id="cs_demo1",
        issuer=HUB,
        state=start(client),
    )

    assert "Signature valid" in page(client, url)
    assert "NOT valid: not a state this page issued to this browser, or used already" in page(
        client, url
    )


def test_a_forged_states_cookie_issues_nothing(
    client: FlaskClient, db: Session, partner: Partner
) -> None:
    client.set_cookie("demo_states", "WyJkZW1vLTEiXQ.forged", domain="hub.test", path="/demo")

    assert "NOT valid: not a state this page issued" in arrive(client, partner, db, state="demo-1")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda url, state: url.replace(f"state={state}", "state=demo-2"), "wrong signature"),
        (lambda url, state: f"{url}&consent=cs_other", "consent appears more than once"),
        (lambda url, state: url.rsplit("&signature=", 1)[0], "no signature"),
    ],
)
def test_a_changed_callback_is_not_valid(
    client: FlaskClient, db: Session, partner: Partner, change: Any, reason: str
) -> None:
    customer, _user = make_client(db, partner)
    db.commit()
    state = start(client)
    url = callback_url(
        RECEIVER,
        partner.signing_secret,
        client_id=customer.public_id,
        consent_id="cs_demo1",
        issuer=HUB,
        state=state,
    )

    assert f"NOT valid: {reason}" in page(client, change(url, state))


def test_an_unknown_client_is_not_valid(client: FlaskClient, partner: Partner) -> None:
    url = callback_url(
        RECEIVER,
        partner.signing_secret,
        client_id="cl_x",
        consent_id="cs_x",
        issuer=HUB,
        state=None,
    )

    assert "NOT valid: the client is not one of the demo's" in page(client, url)
