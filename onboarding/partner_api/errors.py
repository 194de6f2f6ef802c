"""RFC 9457 problem+json for every refusal of the API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json

from onboarding.db import get_session
from onboarding.errors import DomainError

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
}
CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    409: "conflict",
    413: "invalid_request",
    415: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
}


class ApiError(Exception):
    def __init__(self, status: int, detail: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or CODES.get(status, "invalid_request")
        self.extra = extra


def from_domain(error: DomainError) -> ApiError:
    """The status and code the error carries; its English text (the API is not translated)."""
    return ApiError(error.status, str(error), error.problem)


def problem(error: ApiError) -> Response:
    body = {
        "type": f"urn:onboarding:problem:{error.code}",  # stable; not meant to be fetched
        "title": TITLES.get(error.status, "Error"),
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        **error.extra,
    }
    response = Response(json.dumps(body), status=error.status)
    response.content_type = "application/problem+json"
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="partner-api"'
    if "retry_after" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


def answer_in_problems(blueprint: Blueprint) -> None:
    """The blueprint's refusals become problem+json, and a refused request changes nothing."""

    @blueprint.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        get_session().rollback()
        return problem(error)

    @blueprint.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        get_session().rollback()
        return problem(from_domain(error))
