"""Readable HTML error pages for every refusal; problem+json under the JSON doors."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from onboarding.db import get_session

# The doors that speak JSON: their refusals are problem+json, their bodies small.
JSON_DOORS = ("/api/", "/messaging/", "/ops/")

# Titles a person understands, where werkzeug's names are protocol terms.
TITLES = {
    413: "Too large",
    429: "Too many attempts",
    503: "Busy",
}


def error_page(
    status: int, title: str, message: str, details: str | None = None, **context: object
) -> tuple[str, int]:
    """`message` speaks to the person in front of the screen and says what to do next;
    `details`, shown folded away, tells the partner's developers what to fix and where."""
    get_session().rollback()  # a refused request leaves the database as it was
    return render_template(
        "error.html", status=status, title=title, message=message, details=details, **context
    ), status


def _http_error(error: HTTPException) -> Response | tuple[str, int]:
    status = error.code or 500
    retry_after = getattr(error, "retry_after", None)  # 429 and 503 say when to come back
    seconds = retry_after if isinstance(retry_after, int) else None
    # RFC 9110: a 405 names the methods the resource does have.
    allow = dict(error.get_headers()).get("Allow") if status == 405 else None
    if request.path.startswith(JSON_DOORS):
        from onboarding.partner_api.errors import ApiError, problem

        refusal = ApiError(status, error.description or error.name)
        if seconds:
            refusal.extra["retry_after"] = seconds
        response = problem(refusal)
    else:
        response = Response(
            *error_page(status, TITLES.get(status, error.name), error.description or "")
        )
        if seconds:
            response.headers["Retry-After"] = str(seconds)
    if allow:
        response.headers["Allow"] = allow
    return response


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return error_page(
        400,
        "Your form expired",
        "The page was open too long or came from another site. Go back, reload it and try again.",
    )


def _host(url: str) -> str:
    """The host a person recognises in a URL ("acme.example")."""
    return urlsplit(url).hostname or url


def init_app(app: Flask) -> None:
    from onboarding.phones import readable
    from onboarding.security import allowed_image

    app.add_template_filter(readable, "phone")
    app.add_template_filter(_host, "host")
    app.add_template_global(allowed_image)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
