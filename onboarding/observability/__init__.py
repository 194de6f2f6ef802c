"""A view inside: /healthz, /readyz, /metrics, request ids and JSON logs, and 503 while the
database is away (docs/operations.md, "Health, metrics and logs")."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.exc import DBAPIError


def init_app(app: Flask) -> None:
    from onboarding import csrf
    from onboarding.observability import health, logs, views

    logs.configure(app)
    app.register_blueprint(views.bp)
    csrf.exempt(views.bp)
    # First in line, whatever registers after: every other hook's log records carry the request
    # id, and since after_request hooks run in reverse order, the finishing hook (also first in)
    # runs last and sees the final status.
    app.before_request_funcs.setdefault(None, []).insert(0, views.start_request)
    app.after_request_funcs.setdefault(None, []).insert(0, views.finish_request)
    app.register_error_handler(DBAPIError, health.database_unavailable)
