"""The hub's own address: the one rule every absolute link and the callback's `iss` follow.

1. `ONBOARDING_BASE_URL` when set (production: the public https address);
2. else the address `onboarding serve --host --port` listens on (so `PORT=5077 make run` and
   `serve --port 5077` sign `iss=http://127.0.0.1:5077` and build every link on 5077);
3. else http://127.0.0.1:5000 (`serve`'s default address).

`ONBOARDING_ISSUER` overrides the second for `iss` alone. The request's Host header is never
used: whoever sends the request chooses it, and a link or an `iss` must not be theirs to choose.
"""

from __future__ import annotations

from flask import Flask

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
# Addresses that listen everywhere: the links say loopback, which reaches them from this machine.
ANY_ADDRESS = {"", "0.0.0.0", "::"}  # noqa: S104 (names them, binds nothing)


def address_url(host: str, port: int) -> str:
    """http://HOST:PORT for a listening address (an IPv6 literal in brackets)."""
    host = DEFAULT_HOST if host in ANY_ADDRESS else host
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def init_app(app: Flask) -> None:
    """Fill in BASE_URL (rule 3) and remember whether it was configured (rule 1)."""
    app.extensions["base_url_configured"] = bool(app.config["BASE_URL"])
    if not app.config["BASE_URL"]:
        app.config["BASE_URL"] = address_url(DEFAULT_HOST, DEFAULT_PORT)


def listen_on(app: Flask, host: str, port: int) -> None:
    """Rule 2: links and `iss` follow the address the hub serves (or says it will serve) on,
    unless ONBOARDING_BASE_URL was configured."""
    if app.extensions["base_url_configured"]:
        return
    app.config["BASE_URL"] = address_url(host, port)
    from onboarding.consent.callback import check_issuer
    from onboarding.consent.views import issuer

    check_issuer(issuer(app.config))


def base_url(app: Flask) -> str:
    """BASE_URL without a trailing slash, ready for a path."""
    return str(app.config["BASE_URL"]).rstrip("/")
