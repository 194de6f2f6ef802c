"""The operator CLI (SPEC §8): each mutating command prints one JSON object with its ids."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import (
    Channel,
    Client,
    OAuthClient,
    Partner,
    PartnerApiKey,
    PartnerUser,
)
from onboarding.security import hash_secret, signing_key, verify_password


def run_json(runner: FlaskCliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.output)
    return parsed


def new_partner(runner: FlaskCliRunner, billing: str = "direct_payment") -> dict[str, Any]:
    return run_json(
        runner,
        "create-partner",
        "--name", "Acme GmbH",
        "--billing", billing,
        "--redirect-url", "https://acme.example/cb",
        "--redirect-url", "http://localhost:3000/cb",
    )  # fmt: skip


def test_init_db_is_idempotent(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "up to date" in result.output


def test_create_partner_prints_every_secret_once_and_stores_hashes(
    runner: FlaskCliRunner, db: Session
) -> None:
    out = new_partner(runner)

    partner = db.scalar(select(Partner).where(Partner.public_id == out["partner_id"]))
    assert partner is not None
    assert [entry.url for entry in partner.redirect_urls] == out["redirect_urls"]
    assert out["redirect_urls"] == ["https://acme.example/cb", "http://localhost:3000/cb"]
    assert len(signing_key(out["signing_secret"])) == 32
    api_key = db.scalar(select(PartnerApiKey).where(PartnerApiKey.partner_id == partner.id))
    assert api_key is not None and api_key.key_hash == hash_secret(out["api_key"])
    assert out["api_key"] not in api_key.key_hash
    oauth = db.scalar(select(OAuthClient).where(OAuthClient.client_id == out["oauth_client_id"]))
    assert oauth is not None and oauth.secret_hash == hash_secret(out["oauth_client_secret"])
    owner = db.scalar(select(PartnerUser).where(PartnerUser.email == out["owner_email"]))
    assert owner is not None and owner.role == "owner"
    assert verify_password(owner.password_hash, out["owner_password"])


@pytest.mark.parametrize(
    "bad_url",
    ["http://acme.example/cb", "https://acme.example/cb#x", "https://acme.example/cb?state=1"],
)
def test_create_partner_refuses_bad_redirect_urls(
    runner: FlaskCliRunner, db: Session, bad_url: str
) -> None:
    args = ["create-partner", "--name", "X", "--billing", "direct_payment", "--redirect-url"]
    result = runner.invoke(args=[*args, bad_url])
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert db.scalar(select(Partner).where(Partner.name == "X")) is None


def test_client_channel_grant_and_revoke(runner: FlaskCliRunner, db: Session) -> None:
    partner = new_partner(runner)
    client = run_json(
        runner, "create-client", "--partner", partner["partner_id"], "--name", "Bakery",
        "--email", "Owner@Bakery.example", "--password", "long enough password",
        "--payload", "crm-1",
    )  # fmt: skip
    assert client["email"] == "owner@bakery.example"
    channel = run_json(
        runner, "add-channel", "--client", client["client_id"], "--phone", "+49 151 2345 6789",
        "--status", "running",
    )  # fmt: skip
    assert channel["phone_number"] == "+4915123456789"
    assert channel["permission"] == "missing"  # direct_payment: nothing by default (R2)

    granted = run_json(runner, "grant", channel["channel_id"])
    assert granted == {"changed": [channel["channel_id"]]}
    assert run_json(runner, "grant", channel["channel_id"]) == {"changed": []}
    revoked = run_json(runner, "revoke", channel["channel_id"])
    assert revoked == {"changed": [channel["channel_id"]]}

    stored = db.scalar(select(Client).where(Client.public_id == client["client_id"]))
    assert stored is not None and stored.partner_payload == "crm-1"


def test_partner_payment_channel_is_shared_by_default(runner: FlaskCliRunner) -> None:
    partner = new_partner(runner, billing="partner_payment")
    client = run_json(
        runner, "create-client", "--partner", partner["partner_id"], "--name", "Bakery",
        "--email", "a@bakery.example", "--password", "long enough password",
    )  # fmt: skip
    channel = run_json(runner, "add-channel", "--client", client["client_id"], "--phone",
                       "+4915123456780")  # fmt: skip
    assert channel["permission"] == "shared"
    assert channel["status"] == "pending"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-client", "--partner", "pa_nope", "--name", "X", "--email", "x@x.example",
          "--password", "long enough password"], "No partner pa_nope"),
        (["add-channel", "--client", "cl_nope", "--phone", "+4915123456780"], "No client"),
        (["grant", "ch_nope"], "No channel ch_nope"),
        (["create-partner-user", "--partner", "pa_nope", "--email", "a@b.example",
          "--password", "long enough password"], "No partner"),
    ],
)  # fmt: skip
def test_unknown_ids_are_refused(runner: FlaskCliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert message in result.output


def test_invalid_phone_number_is_refused_and_nothing_is_added(
    runner: FlaskCliRunner, db: Session
) -> None:
    partner = new_partner(runner)
    client = run_json(
        runner, "create-client", "--partner", partner["partner_id"], "--name", "Bakery",
        "--email", "b@bakery.example", "--password", "long enough password",
    )  # fmt: skip
    result = runner.invoke(args=["add-channel", "--client", client["client_id"], "--phone", "12"])
    assert result.exit_code == 1
    assert db.scalars(select(Channel)).all() == []


def test_create_partner_user(runner: FlaskCliRunner, db: Session) -> None:
    partner = new_partner(runner)
    user = run_json(
        runner, "create-partner-user", "--partner", partner["partner_id"],
        "--email", "staff@acme.example", "--password", "long enough password",
    )  # fmt: skip
    assert user["role"] == "member"
    duplicate = runner.invoke(
        args=["create-partner-user", "--partner", partner["partner_id"],
              "--email", "STAFF@acme.example", "--password", "long enough password"]
    )  # fmt: skip
    assert duplicate.exit_code == 1
    assert "exists already" in duplicate.output


def test_demo_seeds_once_and_prints_the_same_logins(runner: FlaskCliRunner, db: Session) -> None:
    first = run_json(runner, "demo")
    second = run_json(runner, "demo")
    assert first == second
    # The link is the demo receiver's start page, which makes a fresh link and state per click.
    assert first["permission_link"] == "https://hub.test/demo/start"
    assert len(db.scalars(select(Partner)).all()) == 1
    client = db.scalar(select(Client).where(Client.public_id == first["client_id"]))
    assert client is not None and len(client.channels) == 3
