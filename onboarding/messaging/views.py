from __future__ import annotations

from flask import Response, jsonify, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from onboarding.db import get_session, reader
from onboarding.models import Side
from onboarding.partner_api import contract
from onboarding.partner_api.auth import USE_HTTPS
from onboarding.partner_api.errors import ApiError, problem
from onboarding.partner_api.openapi import HubApp
from onboarding.partner_api.routes import operation, refusals, refuse_repeated_query
from onboarding.permissions.keys import DeadKey, channel_for_key, why_refused
from onboarding.security import secure_transport

bp = APIBlueprint(
    "messaging",
    __name__,
    url_prefix="/messaging/v1",
    abp_tags=[Tag(name="messaging")],
    abp_security=[{"channelKey": []}],
)
bp.before_request(refuse_repeated_query)

MISSING = (
    "Send the channel API key as an Authorization: Bearer wak_… header; generate one with"
    " POST /api/v1/partners/{partner_id}/channels/{channel_id}/api_keys."
)
UNKNOWN = (
    "This channel API key is unknown to the hub. Check that it was copied whole (it starts with"
    " wak_); otherwise generate a new key for the number."
)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return problem(error)


@bp.get(
    "/channel",
    summary="Which channel this channel API key belongs to",
    responses={
        200: contract.MessagingChannel,
        **refusals(
            400,
            401,
            s401="The key is missing, replaced by a newer one (R8), or revoked with the "
            "permission (R3): `detail` says which, and what to do",
        ),
    },
)
@operation()
def channel() -> Response:
    """Which channel this key belongs to; 401 once the key is revoked, saying why and what to
    do next (worked out only then: the success path stays one query)."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if key and not secure_transport():
        raise ApiError(400, USE_HTTPS)
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, MISSING)
    found = channel_for_key(reader(), key)
    if found is None:
        raise ApiError(401, refusal(why_refused(get_session(), key)))
    return jsonify(
        {
            "channel_id": found.channel_id,
            "client_id": found.client_id,
            "phone_number": found.phone_number,
        }
    )


def refusal(dead: DeadKey) -> str:
    """The 401's detail: unknown, replaced by a newer key (whose holder to ask), or revoked
    with the partner's permission."""
    if dead.revoked_at is None:
        return UNKNOWN
    when = dead.revoked_at.strftime("%Y-%m-%d %H:%M UTC")
    if dead.replaced_by == Side.PARTNER:
        return (
            f"This channel API key was replaced by a newer key on {when}: a number has one"
            " working key, the newest. Use the newer key (ask the integration partner that"
            " generated it), or generate a new one through the Partner API or the Partner Hub."
        )
    if dead.replaced_by == Side.CLIENT:
        return (
            f"This channel API key was replaced on {when} by a key the client generated for"
            " the number in its Client Hub: a number has one working key, the newest. Ask the"
            " client for that key, or ask the client to share the number with its partner."
        )
    return (
        f"This channel API key was revoked on {when}: the client removed the integration"
        " partner's permission for the number. Ask the client to share the number again"
        " (send a permission link), then generate a new key."
    )


def init_app(app: HubApp) -> None:
    from onboarding import csrf

    csrf.exempt(bp)
    app.register_api(bp)
