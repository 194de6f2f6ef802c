"""An independent signer and verifier of permission links (SPEC §5.1 `sig`), as a partner's
engineer would write them from the integration guide.

Deliberately shares no code with onboarding (nor with tests/signatures.py), so that a mistake in
the product's canonical form or key handling is not repeated here and hidden.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def link_signature(signing_secret: str, params: Iterable[tuple[str, str]]) -> str:
    """HMAC-SHA256 (lowercase hex) over every parameter but `sig`: name and value each
    percent-encoded again as UTF-8 with only A-Z a-z 0-9 - . _ ~ left as they are, the pairs
    sorted by encoded name then encoded value, joined as name=value with &."""
    encoded = sorted(
        (quote(name, safe="~"), quote(value, safe="~")) for name, value in params if name != "sig"
    )
    message = "&".join(f"{name}={value}" for name, value in encoded).encode("ascii")
    assert signing_secret.startswith("whsec_")
    key = base64.b64decode(signing_secret[len("whsec_") :], validate=True)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_query(signing_secret: str, params: dict[str, str]) -> dict[str, str]:
    """The parameters with their `sig` added, ready for urlencode."""
    return {**params, "sig": link_signature(signing_secret, params.items())}


def signed_link(signing_secret: str, base: str, params: dict[str, str]) -> str:
    return f"{base}?{urlencode(signed_query(signing_secret, params))}"


def link_params(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def link_is_signed(signing_secret: str, url: str) -> bool:
    """True if the link carries exactly one `sig`, in lowercase hex, that matches the rest."""
    params = link_params(url)
    given = [value for name, value in params if name == "sig"]
    if len(given) != 1 or not HEX_SHA256.match(given[0]):
        return False
    return hmac.compare_digest(given[0], link_signature(signing_secret, params))
