"""Request bodies (security issue 7, hole 3): a body is refused by its declared size before anyone
reads it, JSON is parsed only where a route wants it, and no body makes a 500."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from onboarding import security
from tests.api import (
    LINKS,
    PARTNER,
    PartnerAccount,
    api_headers,
    assert_problem,
    make_account,
    partner_settings,
    table_rows,
)

MiB = 1024 * 1024
KiB = 1024


class Untouchable(io.RawIOBase):
    """A request body of `size` bytes that fails the test as soon as anyone reads from it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # the test client measures the body by seeking to its end

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = self.size + offset if whence == io.SEEK_END else offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the request body was read")


@pytest.fixture
def account(db: Session) -> PartnerAccount:
    account = make_account(db)
    db.commit()
    return account


def send_unread(
    client: FlaskClient, method: str, path: str, size: int, content_type: str, **kwargs: Any
) -> TestResponse:
    """A request that declares `size` bytes of body but whose body cannot be read."""
    return client.open(
        path,
        method=method,
        input_stream=Untouchable(size),
        content_type=content_type,
        **kwargs,
    )


def patch_json(client: FlaskClient, account: PartnerAccount, body: str | bytes) -> TestResponse:
    headers = api_headers(account) | {"Content-Type": "application/json"}
    return client.patch(account.path(), data=body, headers=headers)


def nested(levels: int) -> str:
    """`levels` nested arrays, as a JSON object's member so that only the depth is wrong."""
    return '{"redirect_urls": ' + "[" * levels + "]" * levels + "}"


# --- size, before reading ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain"]
)
def test_five_megabytes_to_an_unknown_path_are_refused_without_being_read(
    client: FlaskClient, content_type: str
) -> None:
    response = send_unread(client, "POST", "/no/such/page", 5 * MiB, content_type)

    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "too large" in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/messaging/v1/nothing", "/ops/v1/x"])
def test_a_large_body_under_a_json_door_is_a_problem(client: FlaskClient, path: str) -> None:
    response = send_unread(client, "POST", path, 5 * MiB, "application/json")

    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert (body["status"], body["code"]) == (413, "invalid_request")


def test_a_large_body_to_a_page_is_refused_before_the_form_is_read(client: FlaskClient) -> None:
    response = send_unread(client, "POST", "/login", 2 * MiB, "application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True).lower()


def test_the_api_accepts_much_smaller_bodies_than_pages(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    """100 KB is nothing for a form but far more than any API request needs."""
    before = table_rows(db)

    response = send_unread(
        client, "PATCH", account.path(), 100 * KiB, "application/json", headers=api_headers(account)
    )

    assert_problem(response, "patch", PARTNER, 413, "invalid_request")
    assert table_rows(db) == before


def test_a_large_api_body_is_refused_even_with_credentials_never_checked(
    client: FlaskClient, account: PartnerAccount
) -> None:
    """The size is refused first, so an unauthenticated caller cannot make the hub read it."""
    response = send_unread(
        client, "POST", account.path("/permission_links"), MiB, "application/json"
    )

    assert_problem(response, "post", LINKS, 413, "invalid_request")


def test_a_body_just_under_the_api_limit_is_read(
    app: Flask, client: FlaskClient, account: PartnerAccount
) -> None:
    padding = app.config["API_MAX_CONTENT_LENGTH"] - 100
    body = json.dumps({"brand_name": "x" * padding})

    response = patch_json(client, account, body)

    # Read and refused for what it says (the name is too long), not for its size.
    assert_problem(response, "patch", PARTNER, 400, "invalid_request")


def test_a_consent_form_of_ten_thousand_ticked_numbers_fits(client: FlaskClient) -> None:
    """The consent screen's largest honest answer (~400 KB) stays under the page limit."""
    form = MultiDict([("channels", f"ch_{n:016d}xxxxxxxx") for n in range(10_000)])
    form.update({"email": "someone@example.com", "password": "not the password"})

    response = client.post("/login", data=form)

    assert 350 * KiB < int(response.request.headers["Content-Length"]) < MiB
    assert response.status_code == 400  # read and answered (the form has no CSRF token)


def test_a_form_over_the_page_limit_is_too_large(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "x" * (MiB + 1)})

    assert response.status_code == 413


# --- JSON, parsed only where a route wants it --------------------------------------------------


def test_a_page_never_parses_a_json_body(client: FlaskClient) -> None:
    """Only the JSON doors read JSON; a page ignores a JSON body of any shape."""
    response = client.post(
        "/login", data=nested(30_000), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400  # the login form's own refusal: no CSRF token


@pytest.mark.parametrize("levels", [33, 30_000], ids=["just-too-deep", "30000"])
def test_deeply_nested_json_is_a_clear_refusal(
    client: FlaskClient, db: Session, account: PartnerAccount, levels: int
) -> None:
    before = partner_settings(db, account.partner)

    response = patch_json(client, account, nested(levels))

    body = assert_problem(response, "patch", PARTNER, 400, "invalid_request")
    assert "nested" in body["detail"]
    assert partner_settings(db, account.partner) == before


def test_a_hundred_thousand_levels_are_refused_by_depth_where_size_allows(
    app: Flask, client: FlaskClient, account: PartnerAccount
) -> None:
    """At the default limits 100,000 levels are too large first (413); the parser's own depth
    limit holds even where an operator allows much larger bodies."""
    assert patch_json(client, account, nested(100_000)).status_code == 413
    app.config["API_MAX_CONTENT_LENGTH"] = MiB

    response = patch_json(client, account, nested(100_000))

    body = assert_problem(response, "patch", PARTNER, 400, "invalid_request")
    assert "nested" in body["detail"]


def test_the_documented_depth_is_accepted(client: FlaskClient, account: PartnerAccount) -> None:
    """Brackets inside strings are text, not depth; 32 levels are allowed."""
    body = '{"brand_name": "[[[[{{{{' + "[" * 100 + '", "x": ' + "[" * 31 + "]" * 31 + "}"

    response = patch_json(client, account, body)

    # Past the depth check: refused by the settings service for the unknown field.
    detail = assert_problem(response, "patch", PARTNER, 400, "invalid_request")["detail"]
    assert "nested" not in detail


@pytest.mark.parametrize(
    "body",
    [
        '{"brand_name": "Acme\\u0000"}',
        '{"brand\\u0000": "Acme"}',
        '{"redirect_urls": [["https://a.example/\\u0000"]]}',
    ],
    ids=["value", "key", "deep"],
)
def test_a_nul_character_in_json_is_refused(
    client: FlaskClient, db: Session, account: PartnerAccount, body: str
) -> None:
    before = partner_settings(db, account.partner)

    response = patch_json(client, account, body)

    assert "NUL" in assert_problem(response, "patch", PARTNER, 400, "invalid_request")["detail"]
    assert partner_settings(db, account.partner) == before


@pytest.mark.parametrize(
    "body",
    [b'{"brand_name": ', b"{'brand_name': 1}", b'{"a": 1}}', b'{"brand_name": "\xff"}', b""],
    ids=["cut-off", "single-quotes", "trailing", "not-utf8", "empty"],
)
def test_malformed_json_is_a_clear_refusal(
    client: FlaskClient, account: PartnerAccount, body: bytes
) -> None:
    response = patch_json(client, account, body)

    assert_problem(response, "patch", PARTNER, 400, "invalid_request")


@pytest.mark.parametrize("body", ["[]", '"text"', "1", "null"])
def test_json_that_is_not_an_object_is_refused(
    client: FlaskClient, account: PartnerAccount, body: str
) -> None:
    response = patch_json(client, account, body)

    assert "object" in assert_problem(response, "patch", PARTNER, 400, "invalid_request")["detail"]


def test_read_json_walks_without_recursion(app: Flask) -> None:
    """The NUL check walks the parsed value with a list, not the call stack."""
    value: Any = "\x00"
    for _ in range(50_000):
        value = [value]
    with app.test_request_context():
        assert security.contains_nul(value)
        assert not security.contains_nul([[["a"], {"b": ["c"]}]])
