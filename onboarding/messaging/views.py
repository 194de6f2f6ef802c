from __future__ import annotations

from flask import Response, jsonify, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from onboarding.db import get_session
from onboarding.partner_api import contract
from onboarding.partner_api.auth import USE_HTTPS
from onboarding.partner_api.errors import ApiError, problem
from onboarding.partner_api.openapi import HubApp
from onboarding.partner_api.routes import operation, refusals, refuse_repeated_query
from onboarding.permissions.keys import channel_for_key, why_refused
from onboarding.security import secure_transport

bp = APIBlueprint(
    "messaging",
    __name__,
    url_prefix="/messaging/v1",
    abp_tags=[Tag(name="messaging")],
    abp_security=[{"channelKey": []}],
)
bp.before_request(refuse_repeated_query)


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
    """Which channel this key belongs to; 401 once the key is revoked."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if key and not secure_transport():
        raise ApiError(400, USE_HTTPS)
    if scheme.lower() != "bearer" or not key:
        raise ApiError(
            401,
            "Send Authorization: Bearer <channel API key>; generate one with "
            "POST /api/v1/partners/{partner_id}/channels/{channel_id}/api_keys.",
        )
    session = get_session()
    found = channel_for_key(session, key)
    if found is None:
        raise ApiError(401, why_refused(session, key))
    return jsonify(
        {
            "channel_id": found.channel_id,
            "client_id": found.client_id,
            "phone_number": found.phone_number,
        }
    )


def init_app(app: HubApp) -> None:
    from onboarding import csrf

    csrf.exempt(bp)
    app.register_api(bp)
