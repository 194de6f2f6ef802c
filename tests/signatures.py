"""An independent reading of the callback signature (SPEC §5.3), as a partner would write it.

Deliberately shares no code with onboarding.consent.callback or onboarding.security, so that
a mistake in the product is not repeated here and hidden.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qsl, quote, urlsplit

HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def query_params(url: str) -> list[tuple[str, str]]:
    """Every query parameter of the URL, decoded by the form-urlencoded rules (`+` is a space)."""
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def expected_signature(signing_secret: str, url: str) -> str:
    """Lowercase hex HMAC-SHA256 over every parameter but `signature`, each name and value
    percent-encoded again as UTF-8 (only A-Z a-z 0-9 - . _ ~ left as they are), sorted by encoded
    name then encoded value, joined as name=value with &."""
    pairs = [
        (quote(name, safe="~"), quote(value, safe="~"))
        for name, value in query_params(url)
        if name != "signature"
    ]
    pairs.sort()
    message = "&".join(f"{name}={value}" for name, value in pairs)
    assert signing_secret.startswith("whsec_")
    key = base64.b64decode(signing_secret[len("whsec_") :], validate=True)
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()


def signature_is_valid(signing_secret: str, url: str) -> bool:
    """True if the URL carries exactly one signature, in lowercase hex, that matches."""
    given = [value for name, value in query_params(url) if name == "signature"]
    if len(given) != 1 or not HEX_SHA256.match(given[0]):
        return False
    return hmac.compare_digest(given[0], expected_signature(signing_secret, url))
