"""The demo receiver (`make run`'s stand-in partner page): it verifies each callback with the
verifier the docs ship, against the hub's configured issuer, and shows the consent and
`lists=omitted` as a partner should read them."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from onboarding import create_app
from onboarding.consent.callback import callback_url
from onboarding.models import Partner
from tests.factories import make_channel, make_client, make_partner

HUB = "https://hub.test"
RECEIVER = f"{HUB}/demo/callback"


@pytest.fixture
def app(database: tuple[str, Engine], connection: Connection, tmp_path: Path) -> Flask:
    """conftest's app, with the demo receiver switched on."""
    url, _engine = database
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key",
            "BASE_URL": HUB,
            "DEMO_RECEIVER": True,
        }
    )
    app.instance_path = str(tmp_path)
    app.extensions["db"].sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


@pytest.fixture
def partner(db: Session) -> Partner:
    partner = make_partner(db, redirect_urls=[RECEIVER])
    db.commit()
    return partner


def arrive(client: FlaskClient, partner: Partner, db: Session, **overrides: Any) -> str:
    """The receiver's page for a callback the hub would send (with `overrides`)."""
    customer, _user = make_client(db, partner)
    line = make_channel(db, customer)
    db.commit()
    arguments: dict[str, Any] = {
        "client_id": customer.public_id,
        "consent_id": "cs_demo1",
        "issuer": HUB,
        "state": "demo-1",
        "shared": [line.public_id],
    }
    url = callback_url(RECEIVER, partner.signing_secret, **(arguments | overrides))
    return page(client, url)


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url.removeprefix(HUB))
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_a_genuine_callback_is_valid_and_shows_its_consent(
    client: FlaskClient, db: Session, partner: Partner
) -> None:
    shown = arrive(client, partner, db)

    assert "Signature valid" in shown
    assert "cs_demo1" in shown and "Allowed" in shown
    assert "NOT valid" not in shown


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


def test_the_configured_issuer_is_the_one_expected(
    app: Flask, client: FlaskClient, db: Session, partner: Partner
) -> None:
    app.config["ISSUER"] = "https://issuer.example/hub"

    assert "Signature valid" in arrive(client, partner, db, issuer="https://issuer.example/hub")
    assert "NOT valid: another issuer" in arrive(client, partner, db, issuer=HUB)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda url: url.replace("state=demo-1", "state=demo-2"), "wrong signature"),
        (lambda url: f"{url}&consent=cs_other", "consent appears more than once"),
        (lambda url: url.rsplit("&signature=", 1)[0], "no signature"),
    ],
)
def test_a_changed_callback_is_not_valid(
    client: FlaskClient, db: Session, partner: Partner, change: Any, reason: str
) -> None:
    customer, _user = make_client(db, partner)
    db.commit()
    url = callback_url(
        RECEIVER,
        partner.signing_secret,
        client_id=customer.public_id,
        consent_id="cs_demo1",
        issuer=HUB,
        state="demo-1",
    )

    assert f"NOT valid: {reason}" in page(client, change(url))


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
