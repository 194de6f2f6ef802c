"""Password hashing, secrets that are shown once, request bodies, and the HTTP security
headers."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from authlib.common.security import is_secure_transport
from flask import Flask, Request, Response, abort, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from werkzeug.exceptions import ServiceUnavailable

from onboarding.pages import JSON_DOORS

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so both answers take as long: made by the hasher
# in use (its parameters set the cost), once.
_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
    return _dummy[1]


HASHING_RETRY_AFTER = 2  # seconds
_slots = threading.BoundedSemaphore(os.cpu_count() or 1)
_slot_wait = 0.25


class HashingBusy(ServiceUnavailable):
    """Every password-hashing slot stayed taken for the whole wait: answer 503 at once rather
    than queue behind a password-spraying burst (each argon2 hash costs ~0.15 s of a core)."""

    description = "The hub is busy checking passwords. Please try again in a moment."

    def __init__(self) -> None:
        super().__init__(retry_after=HASHING_RETRY_AFTER)


def limit_hashing(concurrency: int, wait: float) -> None:
    """At most `concurrency` (0: one per CPU) argon2 computations at once in this process; a
    caller waits at most `wait` seconds for a slot. Per process, like the CPU the hashes use."""
    global _slots, _slot_wait
    _slots = threading.BoundedSemaphore(concurrency or os.cpu_count() or 1)
    _slot_wait = wait


@contextmanager
def _hashing_slot() -> Iterator[None]:
    slots = _slots  # release the semaphore that was acquired, even if limit_hashing ran since
    if not slots.acquire(timeout=_slot_wait):
        raise HashingBusy()
    try:
        yield
    finally:
        slots.release()


def hash_password(password: str) -> str:
    with _hashing_slot():
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    with _hashing_slot():
        try:
            verified = _hasher.verify(password_hash or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return False
    return verified and password_hash is not None


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


_ORIGIN_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def allowed_image(url: str | None) -> str | None:
    """The URL of an image the page may show (a partner's logo), or None when it is not one
    to load: https, or http on the local machine as for redirect URLs. This response's policy
    then lets that image's origin in (`set_security_headers`), and no other."""
    if not url:
        return None
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1")
    if not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        return None
    if not _ORIGIN_HOST.match(parts.netloc):  # no user info, nothing that could end a directive
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    shown = g.setdefault("image_origins", set())
    shown.add(origin)
    return url


# The headers every answer carries, unless the view set its own.
_ALWAYS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
)


def this_request() -> Request:
    """The request object itself: each attribute read through Flask's `request` proxy costs
    ~1 µs, and the per-request hooks read a dozen."""
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    return current


def set_security_headers(response: Response) -> Response:
    current = this_request()
    headers = response.headers
    # One pass over the few headers a view set, instead of a scan per header (setdefault):
    # this runs on every answer.
    present = {name.lower() for name, _ in headers.items()}
    for name, value in _ALWAYS:
        if name.lower() not in present:
            headers.add(name, value)
    images = g.get("image_origins")
    if images and "content-security-policy" not in present:
        # The partner's logo (allowed_image): this answer lets that origin in, and no other.
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data:", "img-src 'self' data: " + " ".join(sorted(images))
        )
    if current.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", "max-age=31536000")
    if not _is_static_file(current):
        # Pages and answers carry clients' data, credentials and single-use tokens: no browser
        # or proxy cache may keep them (nor the back button bring them back).
        headers["Cache-Control"] = "no-store"
    return response


def _is_static_file(current: Request) -> bool:
    endpoint = current.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


VERIFIED_COOKIES = 4096  # session cookies remembered as verified, per process (~0.5 KB each)


def _now() -> int:
    """Seconds since the epoch, on which session cookies are stamped and aged; tests move it."""
    return int(time.time())


class _ClockedSigner(TimestampSigner):
    """Stamps cookies with `_now`, the clock their age is read on."""

    def get_timestamp(self) -> int:
        return _now()


class CookieSession(SecureCookieSession):
    signed_at: int | None = None  # when its cookie was signed; None for a new session


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with `Secure` set whenever the request came over HTTPS,
    and an idle timeout: a cookie older than PERMANENT_SESSION_LIFETIME opens an empty session,
    and one in use is signed afresh once it is a twelfth of that old (at most one Set-Cookie
    per five minutes with the default hour), so that only a browser left alone that long is
    signed out. The login's absolute end is the server's (auth/session.py).

    A cookie whose signature was checked is remembered (bounded, per key set): the same bytes
    verify the same way, so a signed-in reader's next requests skip the HMAC and JSON work;
    its age is checked on every request all the same."""

    session_class = CookieSession

    def __init__(self) -> None:
        self._serializer: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None
        self._verified: dict[str, tuple[Any, int]] = {}  # cookie → (its data, signed at)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:  # most API calls carry no cookie: no signer built for nothing
            return self.session_class()
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        known = self._verified.get(value)
        if known is None:
            try:
                data, signed = serializer.loads(value, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            if len(self._verified) >= VERIFIED_COOKIES:
                self._verified.clear()
            known = self._verified[value] = (data, int(signed.timestamp()))
        data, signed_at = known
        age = _now() - signed_at
        if not 0 <= age <= app.permanent_session_lifetime.total_seconds():
            return self.session_class()  # as itsdangerous's max_age would refuse it
        opened = self.session_class(copy.deepcopy(data))  # the request may change its copy
        opened.signed_at = signed_at
        return opened

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        signed_at = getattr(session, "signed_at", None)
        refresh_after = app.permanent_session_lifetime.total_seconds() / 12
        return session.modified or (signed_at is not None and _now() - signed_at >= refresh_after)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # Built once per key set rather than per request (Flask builds one per request).
        keys = (app.secret_key, *app.config["SECRET_KEY_FALLBACKS"])
        cached = self._serializer
        if cached is None or cached[0] != keys:
            serializer = super().get_signing_serializer(app)
            if serializer is not None:
                serializer.signer = _ClockedSigner  # stamps on the clock cookies are aged on
            cached = self._serializer = (keys, serializer)
            self._verified = {}  # what verified under the old keys may not under the new
        return cached[1]

    def get_cookie_secure(self, app: Flask) -> bool:
        current: Request = request
        return bool(app.config["SESSION_COOKIE_SECURE"]) or current.is_secure


def csrf_token() -> str:
    """This request's CSRF token, as flask-wtf's generate_csrf() makes it, for the hot consent
    screen: the signer is built once per key (flask-wtf builds one per call), and as our tokens
    do not expire (WTF_CSRF_TIME_LIMIT None: they live as long as the session), a session's
    token is signed once and remembered (bounded). A session without its raw token yet gets
    one from flask-wtf."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    context = g._get_current_object()
    token: str | None = getattr(context, field, None)
    if token is None:
        raw = session.get(field)
        secret: str | bytes | None = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
        if not isinstance(raw, str) or not secret:
            return str(generate_csrf())  # which also refuses to sign without a key
        if config.get("WTF_CSRF_TIME_LIMIT") is None:
            token = _signed_csrf(secret, raw)
        else:  # a token that expires carries its own time: signed afresh
            token = str(_csrf_signer(secret).dumps(raw))
        setattr(context, field, token)
    return token


@lru_cache(maxsize=VERIFIED_COOKIES)  # (key, raw token) → signed token
def _signed_csrf(secret: str | bytes, raw: str) -> str:
    return str(_csrf_signer(secret).dumps(raw))


@lru_cache(maxsize=8)  # the keys change only with the configuration
def _csrf_signer(secret: str | bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token")  # flask-wtf's salt


# -- transport ------------------------------------------------------------------------------------


def secure_transport() -> bool:
    """Whether this request came over HTTPS, or over http to a loopback host (development).
    Credentials sent otherwise have crossed the network in the clear. Behind a TLS proxy this
    needs ONBOARDING_PROXY_FIX, so that the proxy's X-Forwarded-Proto counts."""
    current = this_request()
    if current.is_secure:
        return True
    # authlib's rule (https, or http to localhost or a loopback address) on the host alone: it
    # is all the rule reads of the URL, and building request.url costs ~30 µs per call.
    return bool(os.environ.get("AUTHLIB_INSECURE_TRANSPORT")) or _loopback(current.host)


@lru_cache(maxsize=256)  # Host headers are the client's choice: a bounded cache
def _loopback(host: str) -> bool:
    return bool(is_secure_transport(f"http://{host}/"))


# -- request bodies -------------------------------------------------------------------------------

MAX_JSON_DEPTH = 32  # the API's bodies nest two levels; far more is an attack on the parser
# What can change the nesting depth: a quote (string starts or ends), an escape inside a
# string, a bracket. Everything between is skipped by the regex engine.
_JSON_STRUCTURE = re.compile(r'"|\\.|[\[\]{}]', re.DOTALL)


class UnreadableJson(ValueError):
    """A JSON body this hub will not read; the message says why and is safe to show."""


def limit_body() -> None:
    """Refuse a body larger than this door accepts by its declared length, before anything
    reads it; a body without a declared length is cut at the same limit while it is read."""
    current = this_request()
    if current.path.startswith(JSON_DOORS):
        current.max_content_length = current_app.config["API_MAX_CONTENT_LENGTH"]
    limit = current.max_content_length
    if limit is not None and (current.content_length or 0) > limit:
        abort(413, f"The request body is too large: at most {limit // 1024} KiB are accepted.")


def read_json() -> Any:
    """The request's JSON body. Only routes that want JSON call this; nothing parses a body
    before routing. Raises UnreadableJson for malformed, non-UTF-8, too deeply nested or
    NUL-carrying JSON; a body over the size limit is a 413 (werkzeug's RequestEntityTooLarge)."""
    try:
        text = request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableJson("The body is not UTF-8.") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise UnreadableJson(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise UnreadableJson("The body is not valid JSON.") from None
    if contains_nul(value):
        raise UnreadableJson("The request contains a NUL character.")
    return value


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, found without parsing it (so
    without recursion), in one pass; brackets inside strings do not count."""
    depth = deepest = 0
    in_string = False
    for match in _JSON_STRUCTURE.finditer(text):
        mark = match.group()
        if mark == '"':
            in_string = not in_string
        elif in_string:
            continue  # an escape, or a bracket that is text
        elif mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif mark in "]}":
            depth -= 1
    return deepest


def contains_nul(value: Any) -> bool:
    """Whether a NUL occurs in any string or key of a parsed JSON value; walks with a list, so
    no nesting can exhaust the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul_characters() -> None:
    """No input may carry a NUL: PostgreSQL's text columns refuse it, so it would turn a
    harmless miss (unknown id, wrong email) into a server error. JSON bodies are checked by
    read_json, where a route reads them."""
    current = this_request()
    texts = [current.path]
    if current.query_string:  # parse only what is there: this runs on every request
        texts += [value for _, values in current.args.lists() for value in values]
    if current.mimetype in _FORM_TYPES and current.form:
        texts += [value for _, values in current.form.lists() for value in values]
    if any("\x00" in text for text in texts):
        abort(400, "The request contains a NUL character.")


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    limit_hashing(app.config["PASSWORD_HASH_CONCURRENCY"], app.config["PASSWORD_HASH_WAIT"])
    app.before_request(limit_body)  # first: nothing may read a body before its size is checked
    app.before_request(refuse_nul_characters)
    app.after_request(set_security_headers)
