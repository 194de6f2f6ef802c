"""How a view joins the contract: `operation(...)` gives flask-openapi3 the path, query and body
models (it validates them and documents them) and hands the view the path's fields as keyword
arguments, as the auth decorators (`partner_required`, `caller_required`) expect them.

So a view reads `def get_client(partner, actor, client_id)`; with a query model it also gets
`params`, with a body model `body`, both validated (`params`, so that `query` stays free for the
view's own select).

The validation itself is `Inputs`: flask-openapi3's reading of a request, with what it works out
afresh on every request (a query model's JSON schema, ~0.4 ms even for no parameters, more than
the whole key check) worked out once per operation. Same models, same errors.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request
from pydantic import BaseModel, ConfigDict, ValidationError

from onboarding.partner_api.errors import ApiError
from onboarding.partner_api.openapi import invalid_request
from onboarding.security import UnreadableJson, read_json

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
REFUSED = {
    400: "Invalid request (`invalid_request`): a parameter, a body, a cursor or a limit",
    401: "Missing or invalid credentials (`unauthorized`)",
    403: "Another partner's path (`forbidden`)",
    404: "Not one of yours, or a cursor the hub did not give (`not_found`)",
    409: "Conflict (`conflict`)",
    413: "Body larger than the API accepts (64 KiB by default)",
    415: "Not a JSON body",
    429: "Rate limited (`rate_limited`); see `retry_after`",
}
AUTHED = (400, 401, 403, 429)


class NoQuery(BaseModel):
    """An operation without query parameters: any given is a 400."""

    model_config = ConfigDict(extra="forbid")


def refusals(*statuses: int, **described: str) -> dict[str | int, Any]:
    """problem+json answers; `described` overrides a status's description (`s409="..."`)."""
    answers: dict[str | int, Any] = {}
    for status in statuses:
        text = described.get(f"s{status}", REFUSED[status])
        answers[status] = {"description": text, "content": PROBLEM}
    return answers


class Inputs:
    """An operation's path, query and body models, read from the request as flask-openapi3
    reads them (`flask_openapi3.request._validate_request`; a refusal is its 400 problem+json,
    `openapi.invalid_request`), with each query field's way of being read (one value, or all of
    them for a list) taken from the model's JSON schema once, not on every request."""

    def __init__(
        self,
        path: type[BaseModel] | None,
        query: type[BaseModel] | None,
        body: type[BaseModel] | None,
    ) -> None:
        self.path, self.query, self.body = path, query, body
        self.fields = _query_fields(query) if query is not None else ()

    def read(self, given: dict[str, Any]) -> dict[str, Any]:
        """The models for `given`, the URL's values (the path's fields are taken out of it)."""
        read: dict[str, Any] = {}
        try:
            if self.path is not None:
                parts = self.path.model_validate(given)
                for name in type(parts).model_fields:
                    given.pop(name, None)
                read["path"] = parts
            if self.query is not None:
                read["query"] = self.query.model_validate(self._query_values())
            if self.body is not None:
                sent = request.get_json(silent=True)
                if isinstance(sent, str):
                    read["body"] = self.body.model_validate_json(sent)
                else:
                    read["body"] = self.body.model_validate(sent)
        except ValidationError as error:
            invalid_request(error)  # raises ApiError
        return read

    def _query_values(self) -> dict[str, Any]:
        args = request.args
        values: dict[str, Any] = {}
        for key, fallback, many, nullable in self.fields:
            read = args.getlist if many else args.get
            value: Any = read(key)
            if fallback is not None:
                value = value or read(fallback)
            if (value is not None and value != []) or nullable:
                values[key] = value
        for key, value in args.items():  # the rest, for the model to refuse (extra="forbid")
            if key not in values:
                values[key] = value
        return values


QueryField = tuple[str, str | None, bool, bool]  # key, fallback name, a list, typed null


def _query_fields(query: type[BaseModel]) -> tuple[QueryField, ...]:
    """What `_validate_query` in flask-openapi3 derives per request, derived once."""
    properties = query.model_json_schema().get("properties", {})
    by_name = bool(query.model_config.get("populate_by_name"))
    fields: list[QueryField] = []
    for name, info in query.model_fields.items():
        schema = properties.get(info.alias or name, {})
        many = schema.get("type") == "array" or any(
            option.get("type") == "array" for option in schema.get("anyOf", [])
        )
        key = info.alias or name
        fallback = name if info.alias and by_name else None
        fields.append((key, fallback, many, schema.get("type") == "null"))
    return tuple(fields)


def operation(
    *,
    path: type[BaseModel] | None = None,
    query: type[BaseModel] = NoQuery,
    body: type[BaseModel] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the view's inputs to flask-openapi3 (put it right below the route decorator):
    it documents them; `Inputs` reads them."""
    inputs = Inputs(path, query, body)

    def declare(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def unpacked(**given: Any) -> Any:
            read = inputs.read(given)
            if query is not NoQuery:
                given["params"] = read["query"]
            if body is not None:
                given["body"] = read["body"]
            parts = read.get("path")
            fields = parts.model_dump() if parts is not None else {}
            return view(**fields, **given)

        annotations: dict[str, Any] = {"query": query}
        if path is not None:
            annotations["path"] = path
        if body is not None:
            annotations["body"] = body
        unpacked.__annotations__ = annotations
        del unpacked.__wrapped__  # flask-openapi3 reads these annotations, not the view's
        unpacked.__delay_validate_request__ = True  # type: ignore[attr-defined]  # Inputs reads
        return unpacked

    return declare


def documented_only(*, form: type[BaseModel]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """flask-openapi3 documents the form but leaves it unvalidated: OAuth (Authlib) reads the
    token request and answers its errors the RFC 6749 way."""

    def declare(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def as_is(**given: Any) -> Any:
            return view(**given)

        as_is.__annotations__ = {"form": form}
        del as_is.__wrapped__
        as_is.__delay_validate_request__ = True  # type: ignore[attr-defined]
        return as_is

    return declare


def refuse_repeated_query() -> None:
    """A query parameter given twice is refused (the models read one value of each)."""
    for name, values in request.args.lists():
        if len(values) > 1:
            raise ApiError(
                400, f"The query parameter {name} is given more than once: send it once."
            )


def json_body_first(endpoints: set[str]) -> Callable[[], None]:
    """A before_request: the operations with a body want a JSON one (415 otherwise), read by
    the hub's own parser (depth, NUL and UTF-8 limits: 400) before the models see it."""

    def check() -> None:
        if request.endpoint not in endpoints:
            return
        if not request.is_json:
            raise ApiError(415, "Send a JSON body with Content-Type: application/json.")
        try:
            body = read_json()
        except UnreadableJson as error:
            raise ApiError(400, f"{error} Send one JSON object.") from None
        if not isinstance(body, dict):  # the models would read a JSON string as JSON again
            raise ApiError(400, "The body is not a JSON object: send one, as the contract says.")

    return check
