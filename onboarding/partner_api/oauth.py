"""OAuth 2.0 client credentials (RFC 6749 §4.4) with Authlib: the token endpoint and the
bearer-token check. Tokens are random, short-lived, and stored only as SHA-256."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import Flask
from sqlalchemy import select

from onboarding.db import get_session, utcnow
from onboarding.models import OAuthClient, OAuthToken
from onboarding.security import hash_secret

AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, row: OAuthClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_allowed_scope(self, scope: str) -> str:
        return ""  # one partner-wide access level; scopes may come later

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(hash_secret(client_secret), self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class Token(TokenMixin):  # type: ignore[misc]
    def __init__(self, row: OAuthToken) -> None:
        self.row = row

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.expires_at - self.row.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.row.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.client_revoked()

    def client_revoked(self) -> bool:
        client = get_session().get(OAuthClient, self.row.oauth_client_id)
        return client is None or client.revoked_at is not None


class Grant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


def _query_client(client_id: str) -> Client | None:
    if "\x00" in client_id:  # from the Authorization header; PostgreSQL refuses NUL in text
        return None
    row = get_session().scalar(
        select(OAuthClient).where(
            OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None)
        )
    )
    return Client(row) if row else None


def _save_token(token: dict[str, Any], request: Any) -> None:
    client: OAuthClient = request.client.row
    now = utcnow()
    session = get_session()
    session.add(
        OAuthToken(
            oauth_client_id=client.id,
            partner_id=client.partner_id,
            token_hash=hash_secret(token["access_token"]),
            scope=token.get("scope") or "",
            issued_at=now,
            expires_at=now + timedelta(seconds=token["expires_in"]),
        )
    )
    session.commit()


class _Validator(BearerTokenValidator):  # type: ignore[misc]
    def authenticate_token(self, token_string: str) -> Token | None:
        row = get_session().scalar(
            select(OAuthToken).where(OAuthToken.token_hash == hash_secret(token_string))
        )
        return Token(row) if row else None


class _Protector(ResourceProtector):  # type: ignore[misc]
    def raise_error_response(self, error: OAuth2Error) -> None:
        raise error  # the API turns it into problem+json itself


def bearer_token() -> OAuthToken:
    """The valid token of this request; raises OAuth2Error otherwise."""
    token: Token = protector.acquire_token()
    return token.row


protector = _Protector()
protector.register_token_validator(_Validator())


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "OAUTH2_TOKEN_EXPIRES_IN", {"client_credentials": app.config["API_TOKEN_TTL"]}
    )
    server = AuthorizationServer()
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(Grant)
    app.extensions["oauth_server"] = server
