"""The flow token: an encrypted, expiring, single-use carrier of a permission request through
login, signup and consent.

The token travels in URLs (`?flow=`), so whoever sees one (browser history, a proxy's log, a
screen share) must learn nothing from it: it is Fernet (AES-128-CBC, then HMAC-SHA256) over the
request and a nonce, with a key derived from SECRET_KEY for this purpose alone. Keys in
SECRET_KEY_FALLBACKS still open tokens, so rotating the secret key breaks no flow under way.
Fernet's own timestamp tells an expired token (whose request can be offered again) from an
invalid one; the nonce, spent in `used_flow_nonce`, makes each token answer once.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import zlib
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property, lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onboarding.consent.request import PermissionRequest
from onboarding.db import Source, get_session, utcnow
from onboarding.errors import DomainError
from onboarding.models import Partner, UsedFlowNonce
from onboarding.partners.service import PartnerCard, partner_card

PURPOSE = b"onboarding.consent.flow v2"
# Far longer than any token we issue (about 2 KB at most); refused before any decoding.
MAX_TOKEN_LENGTH = 8000
CLOCK_SKEW = 60  # seconds a token may seem to come from the future (Fernet's own allowance)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_PLAIN, _DEFLATED = b"j", b"z"


class FlowError(DomainError):
    """The token can't be used. `request` is set when the token was authentic (expired or
    replayed), so the page can offer to start the same request again."""

    def __init__(self, code: str, request: PermissionRequest | None = None) -> None:
        super().__init__(code)
        self.request = request


def issue(request: PermissionRequest) -> str:
    payload = {"request": request.to_dict(), "nonce": secrets.token_urlsafe(16)}
    token = _fernet().encrypt_at_time(_pack(payload), _now())
    return token.decode().rstrip("=")  # padding would be %3D in a URL; read() puts it back


def read(token: str) -> tuple[PermissionRequest, str]:
    """The request and nonce inside a valid, unexpired token; raises FlowError otherwise."""
    invalid = FlowError("flow.invalid")
    if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.match(token):
        raise invalid
    try:
        plain, issued = _opened(_fernet(), token)  # authentic, whatever its age
        payload = _unpack(plain)
        request = PermissionRequest(**payload["request"])
    except (InvalidToken, ValueError, KeyError, TypeError, zlib.error):
        raise invalid from None
    age = _now() - issued
    if age < -CLOCK_SKEW:
        raise invalid
    if age > current_app.config["FLOW_MAX_AGE"]:
        raise FlowError("flow.expired", request)
    return request, payload["nonce"]


@lru_cache(maxsize=4096)  # a flow's pages and answers bring the same token a few times
def _opened(fernet: MultiFernet, token: str) -> tuple[bytes, int]:
    """The token's plaintext and when it was issued: the decryption is the same every time,
    so each token is opened once (its age is checked on every use by the caller)."""
    raw = (token + "=" * (-len(token) % 4)).encode()
    return fernet.decrypt(raw), fernet.extract_timestamp(raw)


def spend(session: Session, nonce: str, request: PermissionRequest) -> None:
    """Mark the token used, in the caller's transaction; a second spend raises FlowError."""
    try:
        with session.begin_nested():
            session.add(UsedFlowNonce(nonce=nonce))
    except IntegrityError:
        raise FlowError("flow.answered", request) from None
    # Tokens expire, so their nonces need not be kept much longer.
    horizon = utcnow() - timedelta(seconds=current_app.config["FLOW_MAX_AGE"] * 2)
    session.execute(delete(UsedFlowNonce).where(UsedFlowNonce.used_at < horizon))


@dataclass(frozen=True)
class Flow:
    token: str
    request: PermissionRequest
    nonce: str
    card: PartnerCard  # what the pages show of the partner

    @cached_property
    def partner(self) -> Partner:
        """The partner as an ORM object, for what changes or signs (an answer, a signup):
        loaded on first use, so that a page that only shows the partner needs none."""
        return get_session().get_one(Partner, self.card.id)


def load(source: Source, token: str, known: PartnerCard | None = None) -> Flow:
    """A usable flow: authentic, not expired, its partner still there. `known`, a partner
    already read (the signed-in client's), saves the query when it is the flow's."""
    request, nonce = read(token)
    if known is not None and known.public_id == request.partner_id:
        card: PartnerCard | None = known
    else:
        card = partner_card(source, request.partner_id)
    if card is None:
        raise FlowError("flow.partner_gone")
    return Flow(token=token, request=request, nonce=nonce, card=card)


def _fernet() -> MultiFernet:
    """Encrypts with SECRET_KEY's key; decrypts with it or any fallback's."""
    config = current_app.config
    return _fernet_for((config["SECRET_KEY"], *config["SECRET_KEY_FALLBACKS"]))


@lru_cache(maxsize=8)  # the keys change only with the configuration: derive them once
def _fernet_for(keys: tuple[str | bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_derive(key)) for key in keys])


def _derive(secret_key: str | bytes) -> bytes:
    """A key for this purpose alone (HKDF-SHA256), so that no other use of SECRET_KEY (session
    cookies, CSRF tokens) could ever open or forge a flow token."""
    material = secret_key.encode() if isinstance(secret_key, str) else secret_key
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=PURPOSE).derive(material)
    return base64.urlsafe_b64encode(key)


def _pack(payload: dict[str, Any]) -> bytes:
    """Compact JSON, deflated when that is shorter (a long channel list shrinks a lot).
    Compressing before encrypting leaks only a length, and every value that could be guessed
    from a length is one the link's own holder chose; the nonce, the one secret, is random."""
    plain = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    deflated = zlib.compress(plain, 9)
    return _DEFLATED + deflated if len(deflated) < len(plain) else _PLAIN + plain


def _unpack(data: bytes) -> dict[str, Any]:
    kind, body = data[:1], data[1:]
    if kind == _DEFLATED:
        body = zlib.decompress(body)
    elif kind != _PLAIN:
        raise ValueError("unknown flow token format")
    payload: dict[str, Any] = json.loads(body)
    return payload


def _now() -> int:
    """Seconds since the epoch; the tests move this clock."""
    return int(time.time())
