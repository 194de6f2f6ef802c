"""Verify a callback of the hub's permission screen (SPEC §5.3). Python 3.9+, standard library.

    answer = verify_callback(
        "?" + request.query_string.decode(),  # or the full URL the client arrived at
        signing_secret="whsec_...",
        issuer="https://hub.example",
        state=session.pop("permission_state"),  # the state you sent; None if you sent none
    )

It returns the answer or raises CallbackError. With `answer.lists_omitted`, the callback was too
long for its lists: read them from GET /api/v1/partners/{your id}/consents/{answer.consent}.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

# The hub's parameter names: each may appear once (your redirect URL's own may repeat).
HUB_PARAMS = frozenset(
    {
        "client",
        "channels",
        "revoked",
        "consent",
        "lists",
        "error",
        "state",
        "iss",
        "ts",
        "signature",
    }
)
SIGNATURE = re.compile(r"[0-9a-f]{64}")
TIMESTAMP = re.compile(r"[0-9]{1,12}")
ID_LIST = re.compile(r"\[([A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*)?\]")


class CallbackError(ValueError):
    """Not a genuine, fresh answer to your own request: act on nothing in it."""


@dataclass(frozen=True)
class Callback:
    """`error` is "access_denied" when the client pressed Cancel (nothing changed). Otherwise
    `channels` lists every channel shared with you now and `revoked` those this answer took
    away, unless `lists_omitted`: then read both from the consent. None where absent."""

    client: str
    consent: str
    error: str | None
    channels: list[str] | None
    revoked: list[str] | None
    lists_omitted: bool
    state: str | None
    ts: int


def canonical(params: Iterable[tuple[str, str]]) -> bytes:
    """The signed message: every parameter but `signature`, name and value percent-encoded as
    UTF-8 (only A-Z a-z 0-9 - . _ ~ stay as they are), sorted by name, then value, joined as
    name=value with &."""
    pairs = sorted(
        (quote(name, safe="~"), quote(value, safe="~"))
        for name, value in params
        if name != "signature"
    )
    return "&".join(f"{name}={value}" for name, value in pairs).encode("ascii")


def verify_callback(
    url: str,
    *,
    signing_secret: str,
    issuer: str,
    state: str | None,
    tolerance: float = 300,
    now: float | None = None,
) -> Callback:
    params = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    fields: dict[str, str] = {}
    for name, value in params:
        if name in HUB_PARAMS:
            if name in fields:
                raise CallbackError(f"{name} appears more than once")
            fields[name] = value

    signature = fields.get("signature", "")
    if not SIGNATURE.fullmatch(signature):
        raise CallbackError("no signature")
    key = base64.b64decode(signing_secret.removeprefix("whsec_"), validate=True)
    expected = hmac.new(key, canonical(params), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise CallbackError("wrong signature")
    if fields.get("iss") != issuer:
        raise CallbackError("another issuer")
    ts = fields.get("ts", "")
    age = (time.time() if now is None else now) - int(ts) if TIMESTAMP.fullmatch(ts) else None
    if age is None or abs(age) > tolerance:
        raise CallbackError("not fresh")
    if fields.get("state") != state:
        raise CallbackError("not the state of your request")
    client, consent = fields.get("client"), fields.get("consent")
    if not client or not consent:
        raise CallbackError("no client or no consent")

    if "error" in fields:
        if fields.keys() & {"channels", "revoked", "lists"}:
            raise CallbackError("lists beside an error")
        return Callback(client, consent, fields["error"], None, None, False, state, int(ts))
    if "lists" in fields:
        if fields["lists"] != "omitted" or fields.keys() & {"channels", "revoked"}:
            raise CallbackError("lists both omitted and given")
        return Callback(client, consent, None, None, None, True, state, int(ts))
    channels = _ids(fields.get("channels"))
    revoked = _ids(fields.get("revoked", "[]"))
    return Callback(client, consent, None, channels, revoked, False, state, int(ts))


def _ids(value: str | None) -> list[str]:
    if value is None or not ID_LIST.fullmatch(value):
        raise CallbackError("a list of ids is missing or malformed")
    return [item for item in value[1:-1].split(",") if item]
