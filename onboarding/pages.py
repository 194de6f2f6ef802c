"""Readable HTML error pages for every refusal; problem+json under the JSON doors."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from onboarding.db import get_session
from onboarding.errors import DomainError
from onboarding.refusals import TEXTS

# The doors that speak JSON: their refusals are problem+json, their bodies small.
JSON_DOORS = ("/api/", "/messaging/", "/ops/")

# Titles a person understands, where werkzeug's names ("Bad Request") are protocol terms.
TITLES = {
    400: _l("This request didn't work"),
    404: _l("Page not found"),
    405: _l("Not possible here"),
    413: _l("Too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    503: _l("Busy"),
}
# What to do next, for the refusals werkzeug words for engineers (its English descriptions are
# kept for the JSON doors).
MESSAGES = {
    400: _l("The page could not handle this request. Go back, reload the page and try again."),
    404: _l("Nothing is at this address. Check the link, or start again from the front page."),
    405: _l("This address does not take that kind of request. Go back and use the page's buttons."),
    413: _l("What you sent is too large. Send less at a time."),
    429: _l("Too many requests from your address. Wait a few minutes, then try again."),
    500: _l("The hub could not answer this request. Nothing was changed; try again in a moment."),
    503: _l("The hub is busy or briefly unavailable. Nothing was changed; try again in a moment."),
}


def word(code: str, **params: object) -> str:
    """A refusal code's text in the reader's language (the English text is TEXTS[code])."""
    return str(_(TEXTS[code], **params))


def worded(error: DomainError) -> str:
    """A domain refusal as a screen says it: its code through the catalog; a text the domain
    gave instead of a code, as it is."""
    return word(error.code, **error.params) if error.worded else str(error)


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
        title = TITLES.get(status, error.name)
        # werkzeug's stock description speaks protocol; a description our code gave is kept.
        stock = error.description == type(error).description or not error.description
        message = MESSAGES.get(status, error.description) if stock else error.description
        code = getattr(error, "refusal", None)  # our own refusal, worded for the reader
        if isinstance(code, str) and code in TEXTS:
            message = word(code, **getattr(error, "params", {}))
        response = Response(*error_page(status, str(title), str(message)))
        if seconds:
            response.headers["Retry-After"] = str(seconds)
    if allow:
        response.headers["Allow"] = allow
    return response


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return error_page(
        400,
        _("Your form expired"),
        _("The page was open too long or came from another site. Reload it and try again."),
    )


def host(url: str) -> str:
    """The host a person recognises in a URL ("acme.example")."""
    return urlsplit(url).hostname or url


def init_app(app: Flask) -> None:
    from onboarding.phones import readable
    from onboarding.security import allowed_image

    app.add_template_filter(readable, "phone")
    app.add_template_filter(host, "host")
    app.add_template_global(allowed_image)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
