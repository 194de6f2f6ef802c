"""An example partner app for the onboarding hub: standalone (Flask, requests, standardwebhooks),
nothing imported from the hub. See README.md."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from partner_app.hub import Hub
from partner_app.store import Store

REQUIRED = ("HUB_URL", "PARTNER_ID", "API_KEY", "SIGNING_SECRET", "PUBLIC_URL")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Settings from the environment (PARTNER_HUB_URL, PARTNER_PARTNER_ID, PARTNER_API_KEY,
    PARTNER_SIGNING_SECRET, PARTNER_PUBLIC_URL, optional PARTNER_HUB_ISSUER and
    PARTNER_SECRET_KEY), then `config`."""
    app = Flask(__name__)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # sent on the hub's redirect back (a top-level GET)
        HUB_ISSUER=None,  # the hub's `iss`; None: HUB_URL
        SECRET_KEY=None,
    )
    app.config.from_prefixed_env("PARTNER")
    app.config.update(config or {})
    missing = [name for name in REQUIRED if not app.config.get(name)]
    if missing:
        raise RuntimeError("Set " + ", ".join(f"PARTNER_{name}" for name in missing))
    for name in ("HUB_URL", "PUBLIC_URL"):
        app.config[name] = str(app.config[name]).rstrip("/")
    app.config["HUB_ISSUER"] = app.config["HUB_ISSUER"] or app.config["HUB_URL"]
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or secrets.token_hex(32)
    app.config["ORIGIN"] = origin_of(app.config["PUBLIC_URL"])

    app.extensions["hub"] = Hub(
        url=app.config["HUB_URL"],
        partner_id=app.config["PARTNER_ID"],
        api_key=app.config["API_KEY"],
        signing_secret=app.config["SIGNING_SECRET"],
    )
    app.extensions["store"] = Store()

    from partner_app import views

    app.register_blueprint(views.bp)
    return app


def origin_of(url: str) -> str:
    """scheme://host[:port], as a browser writes an origin (default ports left out)."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port not in (None, default) else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
