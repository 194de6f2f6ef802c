"""The signed callback URL (SPEC §5.3)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

from onboarding.security import signing_key


def canonical(params: Iterable[tuple[str, str]]) -> bytes:
    """Every parameter but `signature`, sorted by name then value, joined unencoded."""
    pairs = sorted((name, value) for name, value in params if name != "signature")
    return "&".join(f"{name}={value}" for name, value in pairs).encode()


def sign(signing_secret: str, params: Iterable[tuple[str, str]]) -> str:
    return hmac.new(signing_key(signing_secret), canonical(params), hashlib.sha256).hexdigest()


def callback_url(
    redirect_url: str,
    signing_secret: str,
    *,
    client_id: str,
    issuer: str,
    state: str | None,
    shared: list[str] | None = None,
    revoked: list[str] | None = None,
    error: str | None = None,
    now: float | None = None,
) -> str:
    """The registered URL, its own query kept verbatim, plus the callback's parameters."""
    params: list[tuple[str, str]] = [("client", client_id)]
    if error:
        params.append(("error", error))
    else:
        params.append(("channels", _id_list(shared or [])))
        if revoked:
            params.append(("revoked", _id_list(revoked)))
    if state is not None:
        params.append(("state", state))
    params += [("iss", issuer), ("ts", str(int(now if now is not None else time.time())))]

    own_query = urlsplit(redirect_url).query
    joiner = "&" if own_query else ("" if redirect_url.endswith("?") else "?")
    unsigned = f"{redirect_url}{joiner}{urlencode(params)}"
    signature = sign(signing_secret, parse_qsl(urlsplit(unsigned).query, keep_blank_values=True))
    return f"{unsigned}&signature={signature}"


def _id_list(ids: list[str]) -> str:
    return f"[{','.join(ids)}]"
