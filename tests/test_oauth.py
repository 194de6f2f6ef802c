"""OAuth 2.0 client credentials at POST /api/v1/token (SPEC §6, RFC 6749 §4.4), through HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.db import utcnow
from onboarding.models import OAuthClient, OAuthToken
from onboarding.security import hash_secret
from tests.api import (
    API,
    PARTNER,
    TOKEN,
    PartnerAccount,
    access_token,
    assert_documented,
    assert_problem,
    bearer,
    make_account,
    table_rows,
)


@pytest.fixture
def account(db: Session) -> PartnerAccount:
    account = make_account(db)
    db.commit()
    return account


def basic(client: FlaskClient, client_id: str, secret: str, **form: str) -> TestResponse:
    """Client authentication with HTTP Basic (client_secret_basic)."""
    return client.post(
        f"{API}/token", data={"grant_type": "client_credentials", **form}, auth=(client_id, secret)
    )


def post(client: FlaskClient, client_id: str, secret: str, **form: str) -> TestResponse:
    """Client authentication in the form body (client_secret_post)."""
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return client.post(f"{API}/token", data=data | form)


Ask = Callable[..., TestResponse]
METHODS = [pytest.param(basic, id="basic"), pytest.param(post, id="form")]


def ask(method: Ask, client: FlaskClient, account: PartnerAccount, **form: str) -> TestResponse:
    credentials = account.credentials
    return method(client, credentials.oauth_client_id, credentials.oauth_client_secret, **form)


def token_row(db: Session, token: str) -> OAuthToken:
    db.expire_all()
    return db.scalars(select(OAuthToken).where(OAuthToken.token_hash == hash_secret(token))).one()


def oauth_error(response: TestResponse, status: int, error: str) -> None:
    """An RFC 6749 §5.2 error answer, not to be cached."""
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", METHODS)
def test_client_credentials_get_a_short_lived_bearer_token(
    app: Flask, client: FlaskClient, db: Session, account: PartnerAccount, method: Ask
) -> None:
    response = ask(method, client, account)

    body = assert_documented(response, "post", TOKEN, 200)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == app.config["API_TOKEN_TTL"]
    assert len(body["access_token"]) >= 32
    assert response.headers["Cache-Control"] == "no-store"
    row = token_row(db, body["access_token"])
    assert row.partner_id == account.partner.id
    assert row.expires_at - row.issued_at == timedelta(seconds=app.config["API_TOKEN_TTL"])


@pytest.mark.parametrize("method", METHODS)
def test_the_token_opens_the_partners_own_path(
    client: FlaskClient, account: PartnerAccount, method: Ask
) -> None:
    token = assert_documented(ask(method, client, account), "post", TOKEN, 200)["access_token"]

    response = client.get(account.path(), headers=bearer(token))

    assert assert_documented(response, "get", PARTNER, 200)["id"] == account.id


def test_each_request_gets_its_own_token(client: FlaskClient, account: PartnerAccount) -> None:
    first, second = access_token(client, account), access_token(client, account)

    assert first != second
    for token in (first, second):
        assert_documented(client.get(account.path(), headers=bearer(token)), "get", PARTNER, 200)


def test_only_the_tokens_hash_is_stored(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    token = access_token(client, account)

    row = token_row(db, token)
    assert row.token_hash == hash_secret(token) != token
    dump = repr(table_rows(db))
    assert token not in dump
    assert hash_secret(token) in dump


def test_an_expired_token_is_refused(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    token = access_token(client, account)
    assert_documented(client.get(account.path(), headers=bearer(token)), "get", PARTNER, 200)
    token_row(db, token).expires_at = utcnow() - timedelta(seconds=1)
    db.commit()

    response = client.get(account.path(), headers=bearer(token))

    assert_problem(response, "get", PARTNER, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("revoke", ["token", "oauth client"])
def test_a_revoked_token_or_client_stops_the_token(
    client: FlaskClient, db: Session, account: PartnerAccount, revoke: str
) -> None:
    token = access_token(client, account)
    assert_documented(client.get(account.path(), headers=bearer(token)), "get", PARTNER, 200)
    row = token_row(db, token)
    target: Any = row if revoke == "token" else db.get_one(OAuthClient, row.oauth_client_id)
    target.revoked_at = utcnow()
    db.commit()

    response = client.get(account.path(), headers=bearer(token))

    assert_problem(response, "get", PARTNER, 401, "unauthorized")


def test_a_revoked_oauth_client_gets_no_new_token(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    oauth_client = db.scalars(
        select(OAuthClient).where(OAuthClient.partner_id == account.partner.id)
    ).one()
    oauth_client.revoked_at = utcnow()
    db.commit()
    before = table_rows(db)

    response = ask(basic, client, account)

    oauth_error(response, 401, "invalid_client")
    assert table_rows(db) == before


@pytest.mark.parametrize("method", METHODS)
def test_a_wrong_secret_is_an_invalid_client(
    client: FlaskClient, db: Session, account: PartnerAccount, method: Ask
) -> None:
    before = table_rows(db)

    response = method(client, account.credentials.oauth_client_id, "ocs_wrong")

    oauth_error(response, 401, "invalid_client")
    assert table_rows(db) == before


@pytest.mark.parametrize(
    "method",
    [
        pytest.param(basic, id="basic"),
        pytest.param(
            post,
            id="form",
        ),
    ],
)
def test_an_unknown_client_id_is_an_invalid_client(
    client: FlaskClient, db: Session, account: PartnerAccount, method: Ask
) -> None:
    before = table_rows(db)

    response = method(client, "oc_unknown", account.credentials.oauth_client_secret)

    oauth_error(response, 401, "invalid_client")
    assert table_rows(db) == before


def test_a_nul_in_the_client_id_is_an_invalid_client(
    app: Flask, client: FlaskClient, account: PartnerAccount, request: pytest.FixtureRequest
) -> None:
    response = basic(client, "oc_\x00", account.credentials.oauth_client_secret)

    oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token", ""])
def test_other_grant_types_are_unsupported(
    client: FlaskClient, db: Session, account: PartnerAccount, grant_type: str
) -> None:
    before = table_rows(db)

    response = ask(basic, client, account, grant_type=grant_type, username="a", password="b")

    oauth_error(response, 400, "unsupported_grant_type")
    assert table_rows(db) == before


@pytest.mark.parametrize(
    "refused",
    [
        pytest.param(lambda c, a: basic(c, a.credentials.oauth_client_id, "x"), id="401"),
        pytest.param(lambda c, a: ask(basic, c, a, grant_type="password"), id="400"),
    ],
)
def test_token_refusals_match_the_document(
    client: FlaskClient,
    account: PartnerAccount,
    refused: Callable[[FlaskClient, PartnerAccount], TestResponse],
) -> None:
    assert_documented(refused(client, account), "post", TOKEN)
