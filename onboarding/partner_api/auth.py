"""Who is calling: a partner API key (`X-API-Key`) or an OAuth bearer token, never both, and
only over HTTPS (or loopback http); then the partner's rate limit."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import current_app, request
from sqlalchemy import bindparam, select

from onboarding import limits
from onboarding.db import get_session
from onboarding.limits import per_minute
from onboarding.models import OAuthClient, Partner, PartnerApiKey
from onboarding.partner_api.errors import ApiError
from onboarding.partner_api.oauth import bearer_token
from onboarding.security import hash_secret, secure_transport

USE_HTTPS = "Use HTTPS: credentials sent over plain http are refused (http only on loopback)."


_PARTNER_BY_KEY = (
    select(Partner, PartnerApiKey.public_id)
    .join(PartnerApiKey, PartnerApiKey.partner_id == Partner.id)
    .where(PartnerApiKey.key_hash == bindparam("key_hash"), PartnerApiKey.revoked_at.is_(None))
)


def authenticate() -> tuple[Partner, str]:
    """The calling partner and the actor name its changes are audited under."""
    session = get_session()
    api_key = request.headers.get("X-API-Key")
    bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
    if api_key is not None and bearer:
        raise ApiError(400, "Send either X-API-Key or an Authorization header, not both.")
    if (api_key is not None or bearer) and not secure_transport():
        raise ApiError(400, USE_HTTPS)
    if api_key is not None:
        # One query: the live key's partner and the key's id; nothing cached across requests,
        # so a revoked key is refused on the next request in every process.
        row = session.execute(_PARTNER_BY_KEY, {"key_hash": hash_secret(api_key)}).first()
        if row is None:
            raise ApiError(401, "The API key is not valid.")
        partner, key_id = row
        return partner, f"partner_api_key:{key_id}"
    if bearer:
        try:
            token = bearer_token()
        except OAuth2Error:
            raise ApiError(401, "The access token is not valid or has expired.") from None
        client = session.get_one(OAuthClient, token.oauth_client_id)
        return session.get_one(Partner, token.partner_id), f"oauth_client:{client.client_id}"
    raise ApiError(401, "Send an X-API-Key header or an Authorization: Bearer token.")


def partner_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Authenticate, then hand the view the partner named by the path: only one's own."""

    @wraps(view)
    def wrapped(partner_id: str, **kwargs: Any) -> Any:
        partner, actor = authenticate()
        if partner.public_id != partner_id:
            raise ApiError(403, "These credentials belong to another partner.")
        limit = per_minute(current_app.config["API_RATE_LIMIT"])
        retry_after = limits.hit(limit, "api", partner.public_id)
        if retry_after:
            raise ApiError(429, "Too many requests; slow down.", retry_after=retry_after)
        return view(partner, actor, **kwargs)

    return wrapped
