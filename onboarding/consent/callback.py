"""The signed callback URL (SPEC §5.3)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from onboarding.security import signing_key


def canonical(params: Iterable[tuple[str, str]], *, leave_out: str = "signature") -> bytes:
    """SPEC §5.3: every parameter but `leave_out`, name and value percent-encoded again (only
    RFC 3986's unreserved characters stay), sorted by encoded name, then value, joined as
    `name=value` with `&`. Encoding both halves is what keeps a `&` or `=` inside a value from
    posing as another parameter."""
    pairs = sorted((_encode(name), _encode(value)) for name, value in params if name != leave_out)
    return "&".join(f"{name}={value}" for name, value in pairs).encode("ascii")


def _encode(text: str) -> str:
    return quote(text, safe="~")


def sign(signing_secret: str, params: Iterable[tuple[str, str]]) -> str:
    return hmac.new(signing_key(signing_secret), canonical(params), hashlib.sha256).hexdigest()


def callback_url(
    redirect_url: str,
    signing_secret: str,
    *,
    client_id: str,
    consent_id: str,
    issuer: str,
    state: str | None,
    shared: list[str] | None = None,
    revoked: list[str] | None = None,
    error: str | None = None,
    now: float | None = None,
) -> str:
    """The registered URL, its own query kept verbatim, plus the callback's parameters."""
    if error:
        lists = [("error", error)]
    else:
        lists = [("channels", _id_list(shared or []))]
        if revoked:
            lists.append(("revoked", _id_list(revoked)))
    rest = [("consent", consent_id)]
    if state is not None:
        rest.append(("state", state))
    rest += [("iss", issuer), ("ts", str(int(now if now is not None else time.time())))]

    return _signed(redirect_url, signing_secret, [("client", client_id), *lists, *rest])


def _signed(redirect_url: str, signing_secret: str, params: list[tuple[str, str]]) -> str:
    own_query = urlsplit(redirect_url).query
    joiner = "&" if own_query else ("" if redirect_url.endswith("?") else "?")
    unsigned = f"{redirect_url}{joiner}{urlencode(params)}"
    signature = sign(signing_secret, parse_qsl(urlsplit(unsigned).query, keep_blank_values=True))
    return f"{unsigned}&signature={signature}"


def _id_list(ids: list[str]) -> str:
    return f"[{','.join(ids)}]"
