"""Credentials travel over HTTPS (security issue 7, hole 8): plain http to a non-loopback host is an
RFC 6749 / problem+json refusal, never a 500; loopback http keeps working for development."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import TestResponse

from onboarding.models import OAuthToken
from tests.api import (
    API,
    PARTNER,
    TOKEN,
    PartnerAccount,
    access_token,
    api_headers,
    assert_documented,
    assert_problem,
    bearer,
    make_account,
)

PLAIN = ["http://hub.example.com", "http://10.1.2.3", "http://[2001:db8::1]"]
ALLOWED = ["https://hub.example.com", "http://localhost", "http://127.0.0.1", "http://[::1]"]


@pytest.fixture
def account(db: Session) -> PartnerAccount:
    account = make_account(db)
    db.commit()
    return account


def ask_token(client: FlaskClient, account: PartnerAccount, base_url: str) -> TestResponse:
    credentials = account.credentials
    return client.post(
        f"{API}/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials.oauth_client_id, credentials.oauth_client_secret),
        base_url=base_url,
    )


def token_count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(OAuthToken)) or 0


@pytest.mark.parametrize("base_url", PLAIN)
def test_the_token_endpoint_over_plain_http_says_use_https(
    client: FlaskClient, db: Session, account: PartnerAccount, base_url: str
) -> None:
    response = ask_token(client, account, base_url)

    body = assert_documented(response, "post", TOKEN, 400)
    assert body["error"] == "invalid_request"
    assert "HTTPS" in body["error_description"]
    assert response.headers["Cache-Control"] == "no-store"
    assert token_count(db) == 0  # no token was issued to travel in the clear


@pytest.mark.parametrize("base_url", ALLOWED)
def test_the_token_endpoint_answers_over_https_and_on_loopback(
    client: FlaskClient, db: Session, account: PartnerAccount, base_url: str
) -> None:
    response = ask_token(client, account, base_url)

    assert assert_documented(response, "post", TOKEN, 200)["token_type"] == "Bearer"
    assert token_count(db) == 1


@pytest.mark.parametrize("base_url", PLAIN)
@pytest.mark.parametrize("credential", ["bearer", "api_key"])
def test_api_credentials_over_plain_http_are_refused(
    client: FlaskClient, account: PartnerAccount, base_url: str, credential: str
) -> None:
    headers = (
        bearer(access_token(client, account)) if credential == "bearer" else api_headers(account)
    )

    response = client.get(account.path(), headers=headers, base_url=base_url)

    assert "HTTPS" in assert_problem(response, "get", PARTNER, 400, "invalid_request")["detail"]


@pytest.mark.parametrize("base_url", ALLOWED)
@pytest.mark.parametrize("credential", ["bearer", "api_key"])
def test_api_credentials_work_over_https_and_on_loopback(
    client: FlaskClient, account: PartnerAccount, base_url: str, credential: str
) -> None:
    headers = (
        bearer(access_token(client, account)) if credential == "bearer" else api_headers(account)
    )

    response = client.get(account.path(), headers=headers, base_url=base_url)

    assert assert_documented(response, "get", PARTNER, 200)["id"] == account.id


def test_a_channel_key_over_plain_http_is_refused(client: FlaskClient) -> None:
    response = client.get(
        "/messaging/v1/channel",
        headers={"Authorization": "Bearer ck_whatever"},
        base_url="http://hub.example.com",
    )

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "HTTPS" in response.get_json()["detail"]


def test_behind_a_tls_proxy_the_forwarded_scheme_counts(
    app: Flask, client: FlaskClient, account: PartnerAccount
) -> None:
    """As with ONBOARDING_PROXY_FIX: the proxy's X-Forwarded-Proto says the caller used https."""
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    response = client.post(
        f"{API}/token",
        data={"grant_type": "client_credentials"},
        auth=(account.credentials.oauth_client_id, account.credentials.oauth_client_secret),
        base_url="http://hub.example.com",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
    )

    assert assert_documented(response, "post", TOKEN, 200)["token_type"] == "Bearer"
