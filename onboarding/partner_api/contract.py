"""The query parameters each operation declares in the OpenAPI document, enforced: an unknown or
repeated parameter, or a value outside its declared pattern or enum, is a 400 before the view runs.
So the document and the handlers cannot drift apart on what a query may hold."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from flask import request

from onboarding.partner_api.errors import ApiError
from onboarding.partner_api.openapi import document

_RULE_PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@cache
def _declared() -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(path template, method) → {query parameter name: its schema}."""
    return {
        (path, method.upper()): {
            p["name"]: p["schema"] for p in operation.get("parameters", []) if p["in"] == "query"
        }
        for path, item in document()["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    }


def check_query(prefix: str) -> None:
    """Refuse a query the matched operation does not declare (call from a before_request)."""
    if request.url_rule is None:
        return
    template = _RULE_PARAMETER.sub(r"{\1}", request.url_rule.rule.removeprefix(prefix))
    declared = _declared().get((template, request.method))
    if declared is None:
        return
    for name, values in request.args.lists():
        schema = declared.get(name)
        if schema is None:
            raise ApiError(400, f"Unknown query parameter: {name}.")
        if len(values) > 1:
            raise ApiError(400, f"The query parameter {name} is given more than once.")
        if not _fits(values[0], schema):
            raise ApiError(400, f"The query parameter {name} is not valid.")


def _fits(value: str, schema: dict[str, Any]) -> bool:
    if "enum" in schema and value not in schema["enum"]:
        return False
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, value) is not None
