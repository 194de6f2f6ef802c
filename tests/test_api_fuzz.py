"""Schemathesis against /api/v1/openapi.json, every check on: generated calls (valid and invalid
bodies, queries and headers; undeclared methods, missing credentials) get no server error and no
answer that the document does not describe (SPEC §6: "OpenAPI 3.1 … matching the responses").

The calling partner's own id is pinned, so that calls get past authorization; for half the calls the
client, channel and consent ids are pinned to real ones of that partner too, so that the handlers'
deeper paths run, and the other half name objects that don't exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from onboarding.models import Channel, Side, WebhookOutbox
from onboarding.partner_api.openapi import document
from onboarding.permissions import consents
from onboarding.permissions.keys import generate_api_key
from tests.api import PartnerAccount, add_client, add_line, make_account
from tests.databases import migrated_database

OPERATOR_TOKEN = "fuzz-operator-token-of-at-least-32-characters"
EXAMPLES = 90  # per operation and mode: 16 operations, most in both modes: over 2,000 calls
MIN_CALLS = 2000
calls: Counter[str] = Counter()


@dataclass
class Targets:
    account: PartnerAccount
    client_id: str
    channel_id: str
    consent_id: str
    delivery_id: str
    channel_key: str


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    """SQLite only: the document and its handlers are the same on every engine, whose own
    behaviour the rest of the suite covers; this keeps the run near a minute."""
    with migrated_database("sqlite", tmp_path_factory.mktemp("fuzz")) as database:
        yield database


@pytest.fixture
def targets(app: Flask, db: Session) -> Targets:
    account = make_account(db, webhook_url="https://partner.example/hooks")
    client = add_client(db, account)
    channel: Channel = add_line(db, client, shared=True)
    add_line(db, client, running=False)
    consent = consents.allow(
        db, client, [channel.public_id], all_channels=False, state="fuzz", actor="test"
    )
    key = generate_api_key(db, channel, side=Side.PARTNER, actor="test")
    delivered = db.scalars(
        select(WebhookOutbox).where(WebhookOutbox.partner_id == account.partner.id)
    ).first()
    assert delivered is not None
    delivered.status = "delivered"  # so that a redelivery of it is answered
    db.commit()
    return Targets(
        account,
        client.public_id,
        channel.public_id,
        consent.public_id,
        delivered.event.public_id,
        key.secret,
    )


def operations() -> list[tuple[str, GenerationMode]]:
    """`METHOD /path` of every operation the document declares, with each way to call it. An
    operation whose only input is the pinned partner id has nothing to send invalid."""
    found = []
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            found.append((f"{method.upper()} {path}", GenerationMode.POSITIVE))
            inputs = [p["name"] for p in operation.get("parameters", [])]
            if "requestBody" in operation or set(inputs) - {"partner_id"}:
                found.append((f"{method.upper()} {path}", GenerationMode.NEGATIVE))
    return found


@pytest.mark.parametrize(("label", "mode"), operations(), ids=str)
def test_every_answer_is_one_the_document_describes(
    app: Flask, targets: Targets, label: str, mode: GenerationMode
) -> None:
    app.config.update(API_RATE_LIMIT=10**9, OPERATOR_TOKEN=OPERATOR_TOKEN)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    pinned = {"partner_id": targets.account.id} if "{partner_id}" in path else None

    @given(case=operation.as_strategy(mode, path_parameters=pinned))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same calls every run, so a failure here reproduces
        database=None,
    )
    def call(case: schemathesis.Case) -> None:
        if mode is GenerationMode.POSITIVE:
            aim(case, targets)  # a negative case's ids may be the very part made invalid
        calls[label] += 1
        base_url = base(path)
        credentials = {
            "/ops/v1": {"Authorization": f"Bearer {OPERATOR_TOKEN}"},
            "/messaging/v1": {"Authorization": f"Bearer {targets.channel_key}"},
        }.get(base_url, {"X-API-Key": targets.account.api_key})
        # Generated credentials stay: they are how the negative cases test authentication.
        headers = {k: v for k, v in credentials.items() if k not in (case.headers or {})}
        case.call_and_validate(headers=headers, base_url=f"http://localhost{base_url}")

    call()


def base(path: str) -> str:
    """The base URL of a path: its own `servers` (operator, messaging) or the document's."""
    servers = document()["paths"][path].get("servers", document()["servers"])
    url: str = servers[0]["url"]
    return url


def aim(case: schemathesis.Case, targets: Targets) -> None:
    """Half the generated object ids become the partner's real ones (by the parity of the
    generated id's length, so that the choice is part of the reproducible example)."""
    parameters = case.path_parameters or {}
    real = {
        "client_id": targets.client_id,
        "channel_id": targets.channel_id,
        "consent_id": targets.consent_id,
        "delivery_id": targets.delivery_id,
    }
    for name, value in real.items():
        if name in parameters and len(str(parameters[name])) % 2 == 0:
            parameters[name] = value


def test_the_run_made_enough_calls() -> None:
    """Runs after the generated tests (pytest keeps file order): the fuzzing was not a token one."""
    assert sum(calls.values()) >= MIN_CALLS, calls


UNDECLARED = ("PUT", "PATCH", "DELETE", "TRACE")


@pytest.mark.parametrize("path", list(document()["paths"]))
def test_an_undeclared_method_is_405_naming_the_declared_ones(
    app: Flask, client: FlaskClient, targets: Targets, path: str
) -> None:
    app.config["OPERATOR_TOKEN"] = OPERATOR_TOKEN
    declared = {m.upper() for m in document()["paths"][path] if m != "servers"}
    prefix = base(path)
    url = prefix + path.format(
        partner_id=targets.account.id,
        client_id=targets.client_id,
        channel_id=targets.channel_id,
        consent_id=targets.consent_id,
        delivery_id=targets.delivery_id,
    )
    for method in sorted(set(UNDECLARED) - declared):
        headers = {"X-API-Key": targets.account.api_key}
        if prefix == "/ops/v1":
            headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        if prefix == "/messaging/v1":
            headers = {"Authorization": f"Bearer {targets.channel_key}"}
        response = client.open(url, method=method, headers=headers)

        assert response.status_code == 405, (method, url)
        assert response.mimetype == "application/problem+json"
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert declared <= allowed <= declared | {"HEAD", "OPTIONS"}, (method, allowed)
