"""OAuth 2.0 client credentials (RFC 6749 §4.4) with Authlib: the token endpoint and the
bearer-token check. Tokens are random, short-lived, and stored only as SHA-256."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import Flask
from sqlalchemy import bindparam, select

from onboarding.db import Prepared, get_session, reader, utcnow
from onboarding.models import OAuthClient, OAuthToken, Partner
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


class Bearer(NamedTuple):
    """A bearer token as the API checks it, with its client's and partner's ids: one row."""

    partner_id: int
    partner_public_id: str
    client_id: str
    scope: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    client_revoked_at: datetime | None


# A prepared query, not the request's session: no transaction stays open after the check, so
# none is held across the rate limit's hit that follows (network I/O to Redis in production).
_BEARER = Prepared(
    select(
        Partner.id,
        Partner.public_id,
        OAuthClient.client_id,
        OAuthToken.scope,
        OAuthToken.issued_at,
        OAuthToken.expires_at,
        OAuthToken.revoked_at,
        OAuthClient.revoked_at,
    )
    .select_from(OAuthToken)
    .join(OAuthClient, OAuthClient.id == OAuthToken.oauth_client_id)
    .join(Partner, Partner.id == OAuthToken.partner_id)
    .where(OAuthToken.token_hash == bindparam("token_hash"))
)


class Token(TokenMixin):  # type: ignore[misc]
    def __init__(self, bearer: Bearer) -> None:
        self.bearer = bearer

    def get_scope(self) -> str:
        return self.bearer.scope

    def get_expires_in(self) -> int:
        return int((self.bearer.expires_at - self.bearer.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.bearer.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.bearer.revoked_at is not None or self.bearer.client_revoked_at is not None


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
        row = _BEARER.first(reader(), token_hash=hash_secret(token_string))
        return Token(Bearer(*row)) if row else None


class _Protector(ResourceProtector):  # type: ignore[misc]
    def raise_error_response(self, error: OAuth2Error) -> None:
        raise error  # the API turns it into problem+json itself


def bearer_token() -> Bearer:
    """The valid token of this request; raises OAuth2Error otherwise."""
    token: Token = protector.acquire_token()
    return token.bearer


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
