"""The hub's address rule (onboarding/urls.py, SPEC §8): ONBOARDING_BASE_URL when set, else the
address `serve --port` / PORT= listens on, else http://127.0.0.1:5000; `iss` follows it unless
ONBOARDING_ISSUER is set. Issue 11 found `PORT=5077 make run` signing `iss=...:5000` and building
every link on 5000. `tests/test_quickstart.py` runs `onboarding serve --port N` for real."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from onboarding import urls
from onboarding.consent.views import issuer
from onboarding.models import Partner
from tests.api import add_client, add_line, api_headers, make_account
from tests.conftest import app_in_transaction

LOOPBACK = "127.0.0.1"


@pytest.fixture
def make_app(
    database: tuple[str, Engine], connection: Connection, tmp_path: Path
) -> Callable[..., Flask]:
    """conftest's app, with the address settings each test gives."""

    def make(**config: Any) -> Flask:
        return app_in_transaction(database, connection, tmp_path, **config)

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(BASE_URL=None, ISSUER=None)


def test_without_a_serve_address_links_are_on_the_default_port(app: Flask) -> None:
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"
    assert issuer(app.config) == "http://127.0.0.1:5000"


def test_links_and_iss_follow_the_port_served_on(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    urls.listen_on(app, LOOPBACK, 5077)
    account = make_account(db)
    channel = add_line(db, add_client(db, account), shared=False)
    db.commit()

    link = client.post(account.path("/permission_links"), json={}, headers=api_headers(account))
    refusal = client.post(
        account.path(f"/channels/{channel.public_id}/api_keys"),
        headers=api_headers(account),
    )

    assert issuer(app.config) == "http://127.0.0.1:5077"
    assert link.status_code == 201
    assert urlsplit(link.get_json()["url"]).netloc == "127.0.0.1:5077"
    assert refusal.status_code == 403
    assert urlsplit(refusal.get_json()["permission_url"]).netloc == "127.0.0.1:5077"


def test_a_configured_base_url_wins_over_the_port(make_app: Callable[..., Flask]) -> None:
    app = make_app(BASE_URL="https://hub.example", ISSUER=None)

    urls.listen_on(app, LOOPBACK, 5077)

    assert app.config["BASE_URL"] == "https://hub.example"
    assert issuer(app.config) == "https://hub.example"


def test_a_configured_issuer_wins_for_iss_alone(make_app: Callable[..., Flask]) -> None:
    app = make_app(BASE_URL=None, ISSUER="https://id.hub.example")

    urls.listen_on(app, LOOPBACK, 5077)

    assert app.config["BASE_URL"] == "http://127.0.0.1:5077"
    assert issuer(app.config) == "https://id.hub.example"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("0.0.0.0", "http://127.0.0.1:8000"),  # noqa: S104 (everywhere: reachable on loopback)
        ("::", "http://127.0.0.1:8000"),
        ("::1", "http://[::1]:8000"),
        ("hub.local", "http://hub.local:8000"),
    ],
)
def test_the_address_of_a_listening_socket(host: str, url: str) -> None:
    assert urls.address_url(host, 8000) == url


def run_demo(app: Flask, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(args=["demo", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    printed: dict[str, Any] = json.loads(result.output)
    return printed


def receivers(db: Session, partner_id: str) -> list[str]:
    db.expire_all()
    partner = db.scalars(select(Partner).where(Partner.public_id == partner_id)).one()
    return [entry.url for entry in partner.redirect_urls]


def test_the_demo_follows_the_port_and_registers_its_receiver_there(
    app: Flask, db: Session
) -> None:
    first = run_demo(app, "--port", "5077")
    second = run_demo(app, env={"PORT": "5078"})

    assert first["permission_link"] == "http://127.0.0.1:5077/demo/start"
    assert second["permission_link"] == "http://127.0.0.1:5078/demo/start"
    assert second["partner_id"] == first["partner_id"]
    assert receivers(db, first["partner_id"]) == [
        "http://127.0.0.1:5077/demo/callback",
        "http://127.0.0.1:5078/demo/callback",
    ]


def test_a_demo_link_to_another_receiver_has_a_fresh_state_each_run(app: Flask) -> None:
    receiver = "http://localhost:8000/callback"

    links = [run_demo(app, "--redirect-url", receiver)["permission_link"] for _ in range(2)]

    assert all(link.startswith("http://127.0.0.1:5000/partners/") for link in links)
    states = [parse_qs(urlsplit(link).query)["state"] for link in links]
    assert states[0] != states[1]
