from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, request

from onboarding.db import get_session
from onboarding.partner_api.auth import USE_HTTPS
from onboarding.partner_api.errors import ApiError, problem
from onboarding.permissions.keys import channel_for_key, why_refused
from onboarding.security import secure_transport

bp = Blueprint("messaging", __name__, url_prefix="/messaging/v1")


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return problem(error)


@bp.get("/channel")
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


def init_app(app: Flask) -> None:
    from onboarding import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
