"""The onboarding hub: WhatsApp channel permissions for integration partners and their clients."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from onboarding.config import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
MAX_FLOW_AGE = 15 * 60  # SPEC §5.2: a permission request lives at most 15 minutes
csrf = CSRFProtect()


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    from onboarding.partner_api.openapi import HubApp, init_docs

    app = HubApp(
        __name__,
        instance_path=os.environ.get("ONBOARDING_INSTANCE_PATH", str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("ONBOARDING")
    if test_config is not None:
        app.config.from_mapping(test_config)
    _fill_in_defaults(app)
    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    from onboarding import cli, db, i18n, limits, mail, observability, pages, security
    from onboarding.accounts.views import bp as accounts_bp
    from onboarding.auth.views import bp as auth_bp
    from onboarding.client_hub import account as _client_account  # noqa: F401 (adds its routes)
    from onboarding.client_hub.views import bp as client_hub_bp
    from onboarding.consent.views import bp as consent_bp
    from onboarding.landing import bp as landing_bp
    from onboarding.messaging import views as messaging
    from onboarding.operator_api import views as operator_api
    from onboarding.partner_api import views as partner_api
    from onboarding.partner_hub import bp as partner_hub_bp

    observability.init_app(app)
    db.init_app(app)
    security.init_app(app)
    limits.init_app(app)
    mail.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    pages.init_app(app)
    cli.init_app(app)
    app.register_blueprint(landing_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(consent_bp)
    app.register_blueprint(client_hub_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(partner_hub_bp)
    partner_api.init_app(app)
    messaging.init_app(app)
    operator_api.init_app(app)
    init_docs(app)
    if app.config["DEMO_RECEIVER"]:
        from onboarding.demo.views import bp as demo_bp

        app.register_blueprint(demo_bp)
    return app


def _fill_in_defaults(app: Flask) -> None:
    from onboarding import urls

    urls.init_app(app)
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'onboarding.db'}"
    if not 0 < app.config["FLOW_MAX_AGE"] <= MAX_FLOW_AGE:
        raise ValueError(f"ONBOARDING_FLOW_MAX_AGE must be 1 to {MAX_FLOW_AGE} seconds")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))


def _instance_secret_key(instance: Path) -> str:
    """A development key kept in instance/, so sessions survive restarts; production sets
    ONBOARDING_SECRET_KEY instead."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
