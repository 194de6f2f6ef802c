"""A channel API key's life through HTTP: the partner generates it (R1, R8), the messaging API
accepts it, a new key replaces it (R8), and the client's removal of permission ends it (R3). And no
secret the hub ever showed is left in its database in plaintext (R8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.models import Channel, Client, GrantedVia, Side
from onboarding.permissions.keys import generate_api_key
from onboarding.permissions.service import revoke, set_shared
from onboarding.security import hash_secret
from tests.api import (
    API_KEYS,
    PERMISSION,
    PartnerAccount,
    access_token,
    add_client,
    add_line,
    api_headers,
    assert_documented,
    assert_problem,
    assert_schema,
    bearer,
    make_account,
    table_rows,
)

MESSAGING = "/messaging/v1/channel"


@pytest.fixture
def account(db: Session) -> PartnerAccount:
    account = make_account(db)
    db.commit()
    return account


def new_key(client: FlaskClient, account: PartnerAccount, channel: Channel) -> dict[str, Any]:
    response = client.post(
        account.path(f"/channels/{channel.public_id}/api_keys"), headers=api_headers(account)
    )
    body: dict[str, Any] = assert_documented(response, "post", API_KEYS, 201)
    return body


def messaging(client: FlaskClient, headers: dict[str, str]) -> TestResponse:
    return client.get(MESSAGING, headers=headers)


def assert_channel_key_works(client: FlaskClient, key: str, channel: Channel) -> None:
    response = messaging(client, bearer(key))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert_schema(body, "MessagingChannel")
    assert body == {
        "channel_id": channel.public_id,
        "client_id": channel.client.public_id,
        "phone_number": channel.phone_number,
    }


def assert_channel_key_refused(response: TestResponse, *why: str) -> None:
    """401 problem+json whose detail contains each of `why` (what happened, the next step)."""
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert_schema(body, "Problem")
    assert (body["status"], body["code"]) == (401, "unauthorized")
    assert "WWW-Authenticate" in response.headers
    for words in why:
        assert words in body["detail"], (words, body["detail"])


def remove_permission_with_revoke(db: Session, customer: Client, channel: Channel) -> None:
    revoke(db, customer, [channel], via=GrantedVia.CLIENT_HUB, actor="client_user:test")


def remove_permission_with_set_shared(db: Session, customer: Client, channel: Channel) -> None:
    set_shared(db, customer, [], all_channels=False, via=GrantedVia.CLIENT_HUB, actor="client")


@pytest.mark.parametrize(
    "remove_permission", [remove_permission_with_revoke, remove_permission_with_set_shared]
)
def test_a_key_lives_until_replaced_and_dies_with_the_permission(
    client: FlaskClient,
    db: Session,
    account: PartnerAccount,
    remove_permission: Callable[[Session, Client, Channel], None],
) -> None:
    customer = add_client(db, account)
    channel = add_line(db, customer, shared=True)
    db.commit()

    first = new_key(client, account, channel)["api_key"]
    assert_channel_key_works(client, first, channel)

    second = new_key(client, account, channel)["api_key"]  # R8: replaces the first
    assert_channel_key_refused(
        messaging(client, bearer(first)), "replaced by a newer key", "Use the newer key"
    )
    assert_channel_key_works(client, second, channel)

    # R3: the client removes the partner's permission (Client Hub: Settings → Partner).
    db.expire_all()
    remove_permission(db, customer, channel)
    db.commit()

    assert_channel_key_refused(
        messaging(client, bearer(second)),
        "removed the integration partner's permission",
        "Ask the client to share the number again",
    )
    refused = client.post(
        account.path(f"/channels/{channel.public_id}/api_keys"), headers=api_headers(account)
    )
    assert_problem(refused, "post", API_KEYS, 403, "permission_missing")
    permission = client.get(
        account.path(f"/channels/{channel.public_id}/permission"), headers=api_headers(account)
    )
    assert assert_documented(permission, "get", PERMISSION, 200)["status"] == "missing"
    listed = client.get(
        account.path(f"/channels/{channel.public_id}/api_keys"), headers=api_headers(account)
    )
    keys = assert_documented(listed, "get", API_KEYS, 200)["api_keys"]
    assert [key["revoked_at"] is not None for key in keys] == [True, True]


def test_keys_of_other_channels_survive_a_removal(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    customer = add_client(db, account)
    removed, kept = add_line(db, customer, shared=True), add_line(db, customer, shared=True)
    db.commit()
    removed_key = new_key(client, account, removed)["api_key"]
    kept_key = new_key(client, account, kept)["api_key"]

    db.expire_all()
    remove_permission_with_revoke(db, customer, removed)
    db.commit()

    assert_channel_key_refused(messaging(client, bearer(removed_key)))
    assert_channel_key_works(client, kept_key, kept)


def test_a_key_replaced_by_the_clients_own_names_the_client(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    customer = add_client(db, account)
    channel = add_line(db, customer, shared=True)
    db.commit()
    partners = new_key(client, account, channel)["api_key"]
    db.expire_all()
    remove_permission_with_revoke(db, customer, channel)
    clients = generate_api_key(db, channel, side=Side.CLIENT, actor="client_user:test")
    db.commit()

    assert_channel_key_works(client, clients.secret, channel)
    assert_channel_key_refused(
        messaging(client, bearer(partners)), "a key the client generated", "Ask the client"
    )


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "Authorization: Bearer"),
        ({"Authorization": "Basic abc"}, "Authorization: Bearer"),
        (bearer("wak_unknown-key"), "unknown to the hub"),
    ],
)
def test_a_missing_or_unknown_key_says_so(
    client: FlaskClient, headers: dict[str, str], why: str
) -> None:
    assert_channel_key_refused(messaging(client, headers), why)


CHANNEL_KEY_REFUSALS: list[Any] = [
    pytest.param(lambda secrets: {}, id="no header"),
    pytest.param(lambda secrets: {"Authorization": "Bearer "}, id="empty bearer"),
    pytest.param(lambda secrets: bearer("wak_unknown-key"), id="unknown key"),
    pytest.param(lambda secrets: bearer(secrets["partner_api_key"]), id="partner api key"),
    pytest.param(lambda secrets: bearer(secrets["access_token"]), id="oauth access token"),
    pytest.param(
        lambda secrets: {"Authorization": f"Basic {secrets['channel_key']}"}, id="basic scheme"
    ),
    pytest.param(lambda secrets: {"X-API-Key": secrets["channel_key"]}, id="x-api-key header"),
    pytest.param(lambda secrets: bearer(secrets["channel_key"] + "x"), id="altered key"),
]


@pytest.mark.parametrize("headers", CHANNEL_KEY_REFUSALS)
def test_messaging_refuses_anything_but_a_live_channel_key(
    client: FlaskClient,
    db: Session,
    account: PartnerAccount,
    headers: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    channel = add_line(db, add_client(db, account), shared=True)
    db.commit()
    secrets = {
        "partner_api_key": account.api_key,
        "access_token": access_token(client, account),
        "channel_key": new_key(client, account, channel)["api_key"],
    }
    assert_channel_key_works(client, secrets["channel_key"], channel)

    assert_channel_key_refused(messaging(client, headers(secrets)))


def test_the_database_keeps_no_secret_in_plaintext(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    """Every secret shown once (channel keys, the partner API key, the OAuth client secret and
    access token) is stored only as its hash, in every table, after the flows above."""
    customer = add_client(db, account)
    channel = add_line(db, customer, shared=True)
    db.commit()
    token = access_token(client, account)
    replaced = new_key(client, account, channel)["api_key"]
    current = new_key(client, account, channel)["api_key"]
    assert_channel_key_works(client, current, channel)
    db.expire_all()
    remove_permission_with_revoke(db, customer, channel)
    db.commit()
    secrets = {
        "replaced channel key": replaced,
        "revoked channel key": current,
        "partner api key": account.api_key,
        "oauth client secret": account.credentials.oauth_client_secret,
        "oauth access token": token,
    }

    dump = "\n".join(" | ".join(row) for rows in table_rows(db).values() for row in rows)

    assert {name for name, secret in secrets.items() if secret in dump} == set()
    assert {name for name, secret in secrets.items() if hash_secret(secret) not in dump} == set()


def test_a_refused_channel_key_is_told_what_happened_and_what_to_do(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    """Issue 11: the messaging 401 says whether the key was replaced or revoked, or is no key."""
    channel = add_line(db, add_client(db, account), shared=True)
    db.commit()
    first = new_key(client, account, channel)["api_key"]
    second = new_key(client, account, channel)["api_key"]

    def detail(headers: dict[str, str]) -> str:
        response = messaging(client, headers)
        assert_channel_key_refused(response)
        text: str = response.get_json()["detail"]
        return text

    assert "replaced by a newer key" in detail(bearer(first))
    revoke(db, channel.client, [db.merge(channel)], via=GrantedVia.CLIENT_HUB, actor="test")
    db.commit()
    assert "the client removed the integration partner's permission" in detail(bearer(second))
    assert "unknown to the hub" in detail(bearer("wak_" + "x" * 43))
    assert "POST /api/v1/partners/{partner_id}" in detail({})
