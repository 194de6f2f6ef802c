"""Operator API endpoints. Each view: read the JSON body, look up, call the domain (the same
functions as the CLI), commit, serialise. Errors are the Partner API's problem+json."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from onboarding.db import get_session
from onboarding.models import Channel
from onboarding.partner_api.errors import ApiError, answer_in_problems, problem
from onboarding.partners.service import find_partner, set_billing_model
from onboarding.permissions.lifecycle import set_status

PREFIX = "/ops/v1"
ACTOR = "operator_api"
MIN_TOKEN_LENGTH = 32
bp = Blueprint("operator_api", __name__, url_prefix=PREFIX)


answer_in_problems(bp)


def guard() -> Response | None:
    """Before every request under /ops/ (matched or not, so that nothing there answers while
    the API is off): 404 without a configured token, 401 without the right one."""
    if request.path != "/ops" and not request.path.startswith("/ops/"):
        return None
    expected = str(current_app.config.get("OPERATOR_TOKEN") or "")
    if not expected:
        return problem(ApiError(404, NotFound.description))
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given and _same(given.strip(), expected):
        return None
    response = problem(ApiError(401, "Send Authorization: Bearer <the operator token>."))
    challenge = 'Bearer realm="operator-api"'
    if scheme.lower() == "bearer" and given:
        challenge += ', error="invalid_token"'
    response.headers["WWW-Authenticate"] = challenge
    return response


def _same(given: str, expected: str) -> bool:
    """Constant time, whatever the lengths: compare digests of equal size."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


@bp.put("/partners/<partner_id>/billing_model")
def put_billing_model(partner_id: str) -> Response:
    """R2: decides the default permission of the partner's channels created from now on."""
    model = _field(_json_object(), "billing_model")
    session = get_session()
    partner = find_partner(session, partner_id)
    if partner is None:
        raise ApiError(404, f"No partner {partner_id}.")
    set_billing_model(session, partner, model)
    session.commit()
    return jsonify({"id": partner.public_id, "billing_model": partner.billing_model})


@bp.put("/channels/<channel_id>/status")
def put_channel_status(channel_id: str) -> Response:
    """R9: pending or running; moving to running refuses a number that runs elsewhere (409)."""
    status = _field(_json_object(), "status")
    session = get_session()
    channel = session.scalar(select(Channel).where(Channel.public_id == channel_id))
    if channel is None:
        raise ApiError(404, f"No channel {channel_id}.")
    set_status(session, channel, status, actor=ACTOR)
    session.commit()
    return jsonify(
        {
            "id": channel.public_id,
            "client_id": channel.client.public_id,
            "phone_number": channel.phone_number,
            "status": channel.status,
        }
    )


def _json_object() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, "Send a JSON body with Content-Type: application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "The body is not a JSON object.")
    return body


def _field(body: dict[str, Any], name: str) -> str:
    """The body's one field, a string."""
    unknown = set(body) - {name}
    if unknown:
        raise ApiError(400, f"Unknown fields: {', '.join(sorted(unknown))}.")
    value = body.get(name)
    if not isinstance(value, str):
        raise ApiError(400, f"{name} is required, as a string.")
    return value


def init_app(app: Flask) -> None:
    from onboarding import csrf

    token = app.config.get("OPERATOR_TOKEN")
    if token and len(str(token)) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"ONBOARDING_OPERATOR_TOKEN must be at least {MIN_TOKEN_LENGTH} characters"
        )
    csrf.exempt(bp)
    app.before_request(guard)
    app.register_blueprint(bp)
