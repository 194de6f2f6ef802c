"""Readable HTML error pages for every refusal."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from onboarding.db import get_session


def error_page(status: int, title: str, message: str, **context: object) -> tuple[str, int]:
    get_session().rollback()  # a refused request leaves the database as it was
    return render_template(
        "error.html", status=status, title=title, message=message, **context
    ), status


API_PREFIXES = ("/api/", "/messaging/", "/ops/")


def _http_error(error: HTTPException) -> Response | tuple[str, int]:
    if request.path.startswith(API_PREFIXES):
        from onboarding.partner_api.errors import ApiError, problem

        return problem(ApiError(error.code or 500, error.description or error.name))
    return error_page(error.code or 500, error.name, error.description or "")


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return error_page(
        400,
        "Your form expired",
        "The page was open too long or came from another site. Go back, reload it and try again.",
    )


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
