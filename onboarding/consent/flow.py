"""The signed, single-use flow token that carries a permission request through login and consent."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onboarding.consent.request import PermissionRequest
from onboarding.db import utcnow
from onboarding.errors import DomainError
from onboarding.models import Partner, UsedFlowNonce
from onboarding.partners.service import find_partner

SALT = "onboarding.consent.flow"


class FlowError(DomainError):
    """The token can't be used. `request` is set when its signature was good (expired or
    replayed), so the page can offer to start the same request again."""

    def __init__(self, message: str, request: PermissionRequest | None = None) -> None:
        super().__init__(message)
        self.request = request


def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and accepts every one: oldest first.
    keys = [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=SALT)


def issue(request: PermissionRequest) -> str:
    return _serializer().dumps({"request": request.to_dict(), "nonce": secrets.token_urlsafe(16)})


def read(token: str) -> tuple[PermissionRequest, str]:
    """The request and nonce inside a valid, unexpired token; raises FlowError otherwise."""
    serializer = _serializer()
    try:
        payload = serializer.loads(token, max_age=current_app.config["FLOW_MAX_AGE"])
    except SignatureExpired as error:
        expired = _request(serializer.load_payload(error.payload)) if error.payload else None
        raise FlowError("This permission request has expired.", expired) from None
    except BadSignature:
        raise FlowError("This permission request is not valid.") from None
    return _request(payload), payload["nonce"]


def spend(session: Session, nonce: str, request: PermissionRequest) -> None:
    """Mark the token used, in the caller's transaction; a second spend raises FlowError."""
    try:
        with session.begin_nested():
            session.add(UsedFlowNonce(nonce=nonce))
    except IntegrityError:
        raise FlowError("This permission request was already answered.", request) from None
    # Tokens expire, so their nonces need not be kept much longer.
    horizon = utcnow() - timedelta(seconds=current_app.config["FLOW_MAX_AGE"] * 2)
    session.execute(delete(UsedFlowNonce).where(UsedFlowNonce.used_at < horizon))


@dataclass(frozen=True)
class Flow:
    token: str
    request: PermissionRequest
    nonce: str
    partner: Partner


def load(session: Session, token: str) -> Flow:
    """A usable flow: valid signature, not expired, its partner still there."""
    request, nonce = read(token)
    partner = find_partner(session, request.partner_id)
    if partner is None:
        raise FlowError("This partner does not exist any more.")
    return Flow(token=token, request=request, nonce=nonce, partner=partner)


def _request(payload: Any) -> PermissionRequest:
    return PermissionRequest(**payload["request"])
