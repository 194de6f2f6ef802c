"""Logs: a request id on every record made during a request, JSON or text, one access line per
request. Query strings are never logged (they carry `state`, flow tokens and e-mails), nor are
headers or bodies."""

from __future__ import annotations

import logging
import re
import secrets
import sys
from typing import TextIO

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"  # + "time", ISO 8601 UTC

access_log = logging.getLogger("onboarding.access")


def request_id() -> str:
    """This request's id: the caller's `X-Request-ID` when it is a sane token (so a proxy's or
    a partner's id follows the request through), else a new random one."""
    context = g._get_current_object()  # one proxy lookup
    current: str | None = getattr(context, "request_id", None)
    if current is None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        current = context.request_id = given if _SANE_ID.fullmatch(given) else secrets.token_hex(16)
    return current


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record (None outside a request), whichever logger made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() if has_request_context() else None
        return True


class _Handler(logging.StreamHandler[TextIO]):
    """The root handler installed here, told apart so that installing again replaces it."""


def install(log_format: str, level: str | int = "INFO", stream: TextIO | None = None) -> None:
    """Send every logger's records through one handler on the root logger."""
    if log_format not in FORMATS:
        raise ValueError(f"ONBOARDING_LOG_FORMAT must be one of {', '.join(FORMATS)}")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    handler = _Handler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level"}, timestamp="time")
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


def configure(app: Flask, default: str | None = None) -> None:
    """Install the handler when LOG_FORMAT (or the caller's `default`, e.g. `serve`'s json) asks
    for one; tests keep pytest's own capture."""
    log_format = app.config["LOG_FORMAT"] or default
    if log_format is not None and log_format not in FORMATS:
        raise ValueError(f"ONBOARDING_LOG_FORMAT must be one of {', '.join(FORMATS)}")
    if log_format and not app.testing:
        install(log_format, app.config["LOG_LEVEL"])


def safe_path() -> str:
    """The request's path without its query string, control characters escaped (a decoded
    `%0A` must not start a forged line in a text log)."""
    path = request.path
    return path if path.isprintable() else path.encode("unicode_escape").decode("ascii")


def log_access(status: int, duration_ms: float) -> None:
    """One line per request: method, endpoint, path (no query string), status, duration."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    endpoint = request.endpoint or "unmatched"
    path = safe_path()
    access_log.info(
        "%s %s %s %d %.1f ms",
        request.method,
        path,
        endpoint,
        status,
        duration_ms,
        extra={
            "method": request.method,
            "endpoint": endpoint,
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 1),
        },
    )
