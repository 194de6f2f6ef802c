"""Operator API endpoints. Each view: read the JSON body, look up, call the domain (the same
functions as the CLI), commit, serialise. Errors are the Partner API's problem+json."""

from __future__ import annotations

import hashlib
import hmac

from flask import Response, current_app, jsonify, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from onboarding.db import get_session
from onboarding.models import Channel
from onboarding.partner_api import contract
from onboarding.partner_api.errors import ApiError, answer_in_problems, problem
from onboarding.partner_api.openapi import HubApp
from onboarding.partner_api.routes import (
    json_body_first,
    operation,
    refusals,
    refuse_repeated_query,
)
from onboarding.partners.service import find_partner, set_billing_model
from onboarding.permissions.lifecycle import set_status

PREFIX = "/ops/v1"
ACTOR = "operator_api"
MIN_TOKEN_LENGTH = 32
bp = APIBlueprint(
    "operator_api",
    __name__,
    url_prefix=PREFIX,
    abp_tags=[Tag(name="operator")],
    abp_security=[{"operatorToken": []}],
)
bp.before_request(refuse_repeated_query)
bp.before_request(
    json_body_first({"operator_api.put_billing_model", "operator_api.put_channel_status"})
)
REFUSED = {
    "s401": "Missing or wrong operator token (`unauthorized`)",
    "s404": "No such object, or the operator API is off (`not_found`)",
}


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
    response = problem(
        ApiError(
            401,
            "Send Authorization: Bearer <the hub's ONBOARDING_OPERATOR_TOKEN>; partner "
            "credentials do not work here.",
        )
    )
    challenge = 'Bearer realm="operator-api"'
    if scheme.lower() == "bearer" and given:
        challenge += ', error="invalid_token"'
    response.headers["WWW-Authenticate"] = challenge
    return response


def _same(given: str, expected: str) -> bool:
    """Constant time, whatever the lengths: compare digests of equal size."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


@bp.put(
    "/partners/<partner_id>/billing_model",
    summary="Set a partner's billing model (R2)",
    responses={
        200: contract.PartnerBillingModel,
        **refusals(400, 401, 404, 413, 415, **REFUSED),
    },
)
@operation(path=contract.PartnerPath, body=contract.BillingModelUpdate)
def put_billing_model(partner_id: str, body: contract.BillingModelUpdate) -> Response:
    """Decides the default permission of the partner's channels created from now on;
    existing grants stay."""
    model = body.billing_model
    session = get_session()
    partner = find_partner(session, partner_id)
    if partner is None:
        raise ApiError(
            404, f"No partner {partner_id}: use the id onboarding create-partner printed."
        )
    set_billing_model(session, partner, model)
    session.commit()
    return jsonify({"id": partner.public_id, "billing_model": partner.billing_model})


@bp.put(
    "/channels/<channel_id>/status",
    summary="Move a channel to pending or running (R9)",
    responses={
        200: contract.ChannelStatus,
        **refusals(
            400,
            401,
            404,
            409,
            413,
            415,
            s409="The number runs on another channel (`conflict`)",
            **REFUSED,
        ),
    },
)
@operation(path=contract.OperatorChannelPath, body=contract.ChannelStatusUpdate)
def put_channel_status(channel_id: str, body: contract.ChannelStatusUpdate) -> Response:
    """Records a `channel.status_changed` event. A number runs on one channel at a time: 409
    while another channel with the same number is running."""
    status = body.status
    session = get_session()
    channel = session.scalar(select(Channel).where(Channel.public_id == channel_id))
    if channel is None:
        raise ApiError(
            404,
            f"No channel {channel_id}: use an id from onboarding add-channel or the Partner "
            "API's channel lists.",
        )
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


def init_app(app: HubApp) -> None:
    from onboarding import csrf

    token = app.config.get("OPERATOR_TOKEN")
    if token and len(str(token)) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"ONBOARDING_OPERATOR_TOKEN must be at least {MIN_TOKEN_LENGTH} characters"
        )
    csrf.exempt(bp)
    app.before_request(guard)
    app.register_api(bp)
