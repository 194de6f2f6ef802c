"""Password hashing, secrets that are shown once, and the HTTP security headers."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Request, Response, abort, request
from flask.sessions import SecureCookieSessionInterface

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so both answers take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class IssuedSecret:
    """A freshly made secret: `value` is shown once, only `hash` is stored."""

    value: str
    prefix: str
    hash: str


def issue_secret(kind: str) -> IssuedSecret:
    """256 random bits behind a readable kind, e.g. `obk_…`; stored as SHA-256 (no salt needed
    for a random 256-bit value)."""
    value = f"{kind}_{secrets.token_urlsafe(32)}"
    return IssuedSecret(value=value, prefix=value[: len(kind) + 7], hash=hash_secret(value))


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_signing_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_key(signing_secret: str) -> bytes:
    """The HMAC key of callbacks and webhooks: the base64 part of `whsec_…`, decoded."""
    return base64.b64decode(signing_secret.removeprefix("whsec_"))


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        # No form-action: Chromium applies it to the redirect after a POST, which would block
        # the 303 to the partner's callback.
        "frame-ancestors 'none'",
    ]
)


def set_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with `Secure` set whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        current: Request = request
        return bool(app.config["SESSION_COOKIE_SECURE"]) or current.is_secure


def refuse_nul_characters() -> None:
    """No input may carry a NUL: PostgreSQL's text columns refuse it, so it would turn a
    harmless miss (unknown id, wrong email) into a server error."""
    texts = [request.path]
    texts += [value for _, values in request.args.lists() for value in values]
    if request.form:
        texts += [value for _, values in request.form.lists() for value in values]
    if request.is_json:
        texts += list(_strings(request.get_json(silent=True)))
    if any("\x00" in text for text in texts):
        abort(400, "The request contains a NUL character.")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.before_request(refuse_nul_characters)
    app.after_request(set_security_headers)
