"""Which redirect URLs a partner may register, and the exact-match rule for using them."""

from typing import NewType
from urllib.parse import SplitResult, parse_qsl, urlsplit

from werkzeug.urls import iri_to_uri

from onboarding.consent.callback import BUDGET, MAX_REDIRECT_URL
from onboarding.errors import RefusedUrl

# The callback adds these; a registered URL that had them would make the callback ambiguous.
CALLBACK_PARAMS = frozenset(
    {
        "client",
        "channels",
        "revoked",
        "consent",
        "lists",
        "state",
        "iss",
        "ts",
        "signature",
        "error",
    }
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})
MAX_LENGTH = 2000

# A URL check_webhook_url accepted. Its check may look the host up (seconds, on a slow resolver),
# so the services that store one take it checked, from a caller with no transaction open.
WebhookUrl = NewType("WebhookUrl", str)


def check_redirect_url(url: str) -> str:
    """Return the URL unchanged if it may be registered; raise RefusedUrl saying why not."""
    if len(url) > MAX_REDIRECT_URL:
        raise RefusedUrl("redirect_url.callback_budget", max=MAX_REDIRECT_URL, budget=BUDGET)
    parts = _check_https_url(url, "redirect_url")
    taken = CALLBACK_PARAMS.intersection(name for name, _ in parse_qsl(parts.query, True))
    if taken:
        raise RefusedUrl("redirect_url.callback_params", names=", ".join(sorted(taken)))
    return url


def check_webhook_url(url: str, *, allow_private: bool | None = None) -> WebhookUrl:
    """The same rules as for redirect URLs, except that any query is fine; and the host must be
    public (SSRF, `webhooks/destination.py`): an IP literal, `localhost`, or a name that resolves
    to a loopback, private, link-local or otherwise internal address is refused. A name that does
    not resolve (yet) may be registered: it is checked again at every delivery.

    `allow_private` defaults to the app's WEBHOOK_ALLOW_PRIVATE (off outside an app).
    """
    from onboarding.webhooks import destination  # local: only webhook URLs need the resolver

    parts = _check_https_url(url, "webhook_url")
    if allow_private is None:
        allow_private = destination.private_allowed()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        destination.check_registrable(parts.hostname or "", port, allow_private=allow_private)
    except destination.DestinationRefused:
        # The address is left out: it would tell a partner what our DNS says about a name.
        raise RefusedUrl("webhook_url.not_public") from None
    return WebhookUrl(url)


def _check_https_url(url: str, kind: str) -> SplitResult:
    """`kind` (redirect_url or webhook_url) picks the refusal codes' wording."""
    if len(url) > MAX_LENGTH:
        raise RefusedUrl(f"{kind}.too_long", max=MAX_LENGTH)
    if url != url.strip() or any(ord(c) < 0x21 or c in "\\\x7f" for c in url):
        raise RefusedUrl(f"{kind}.characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedUrl(f"{kind}.unparsable", url=url) from None
    host = parts.hostname or ""
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise RefusedUrl(f"{kind}.https")
    if parts.scheme not in ("https", "http") or not host:
        raise RefusedUrl(f"{kind}.absolute")
    if "#" in url:
        raise RefusedUrl(f"{kind}.fragment")
    if "@" in parts.netloc:
        raise RefusedUrl(f"{kind}.userinfo")
    if port == 0:
        raise RefusedUrl(f"{kind}.port")
    if iri_to_uri(url) != url:
        # Location headers go out in this form; registering it keeps the match exact.
        raise RefusedUrl(f"{kind}.encoded", url=iri_to_uri(url))
    return parts


def is_registered(url: str, registered: list[str]) -> bool:
    """RFC 9700 §4.1.3: exact string comparison, nothing normalised."""
    return url in registered
