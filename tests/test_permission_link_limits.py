"""`POST /permission_links` checks sizes before touching the database and looks channels up in
one query (issue 7, hole 6: 30,000 channel ids ran 30,000 queries and took 12.7 s)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from onboarding.consent.request import MAX_CHANNELS
from tests.api import (
    LINKS,
    PartnerAccount,
    add_client,
    add_line,
    api_headers,
    assert_documented,
    assert_problem,
    make_account,
)

CHANNEL_QUERY = re.compile(r"\bFROM channel\b", re.IGNORECASE)


@contextmanager
def statements(connection: Connection) -> Iterator[list[str]]:
    """Every SQL statement sent on the test's connection (which the app's sessions share)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", record)


def channel_lookups(seen: list[str]) -> list[str]:
    return [statement for statement in seen if CHANNEL_QUERY.search(statement)]


@pytest.fixture
def account(db: Session) -> PartnerAccount:
    account = make_account(db)
    db.commit()
    return account


def post_link(client: FlaskClient, account: PartnerAccount, body: Any) -> Any:
    return client.post(account.path("/permission_links"), json=body, headers=api_headers(account))


def test_30000_channel_ids_are_refused_without_a_lookup(
    client: FlaskClient, db: Session, connection: Connection, account: PartnerAccount
) -> None:
    """The hole: one of the partner's own ids, 30,000 times, was looked up 30,000 times."""
    own = add_line(db, add_client(db, account)).public_id
    db.commit()
    ids = [own] * 30_000

    with statements(connection) as seen:
        response = post_link(client, account, {"channels": ids})

    # 400 here; 413 where the API's body limit is below this body's 600 KB.
    assert response.status_code in (400, 413)
    assert response.mimetype == "application/problem+json"
    assert channel_lookups(seen) == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"channels": ["ch_x"] * (MAX_CHANNELS + 1)}, "at most 500"),
        ({"channels": ["ch_ok", "not an id"]}, "channels"),
        ({"channels": ["ch_ok", 7]}, "channels"),
        ({"channels": "ch_ok"}, "channels"),
        ({"channels": ["ch_x"], "state": "x" * 513}, "state"),
        ({"channels": ["ch_x"], "email": "e" * 255}, "email"),
        ({"channels": ["ch_x"], "name": "n" * 201}, "name"),
        ({"channels": ["ch_x"], "partner_payload": "p" * 513}, "partner_payload"),
        ({"channels": ["ch_x"], "next": "register"}, "next"),
        ({"channels": ["ch_x"], "number": "call me"}, "number"),
        ({"channels": ["ch_x"], "redirect_url": "https://evil.example/"}, "redirect_url"),
        ({"channels": ["ch_x"], "sig": "0" * 64}, "sig"),
    ],
    ids=[
        "501 ids",
        "malformed id",
        "id not a string",
        "channels not a list",
        "state",
        "email",
        "name",
        "partner_payload",
        "next",
        "number",
        "redirect_url",
        "sig",
    ],
)
def test_the_screens_limits_are_checked_before_any_channel_is_looked_up(
    client: FlaskClient,
    connection: Connection,
    account: PartnerAccount,
    body: dict[str, Any],
    detail: str,
) -> None:
    with statements(connection) as seen:
        response = post_link(client, account, body)

    # An unregistered redirect_url is a conflict with the partner's settings, not a bad request.
    status, code = (409, "conflict") if detail == "redirect_url" else (400, "invalid_request")
    problem = assert_problem(response, "post", LINKS, status, code)
    assert detail in problem["detail"]
    assert channel_lookups(seen) == []


@pytest.mark.parametrize("with_client", [False, True], ids=["channels", "client and channels"])
def test_500_channels_are_looked_up_in_one_query(
    client: FlaskClient,
    db: Session,
    connection: Connection,
    account: PartnerAccount,
    with_client: bool,
) -> None:
    customer = add_client(db, account)
    ids = [add_line(db, customer).public_id for _ in range(MAX_CHANNELS)]
    db.commit()
    body: dict[str, Any] = {"channels": ids}
    if with_client:
        body["client_id"] = customer.public_id

    with statements(connection) as seen:
        response = post_link(client, account, body)

    assert assert_documented(response, "post", LINKS, 201)["url"]
    assert len(channel_lookups(seen)) == 1, channel_lookups(seen)


@pytest.mark.parametrize("with_client", [False, True], ids=["channels", "client and channels"])
def test_one_foreign_id_among_500_is_still_not_found(
    client: FlaskClient, db: Session, account: PartnerAccount, with_client: bool
) -> None:
    customer = add_client(db, account)
    ids = [add_line(db, customer).public_id for _ in range(MAX_CHANNELS - 1)]
    stranger = add_line(db, add_client(db, make_account(db))).public_id
    db.commit()
    body: dict[str, Any] = {"channels": [*ids[:100], stranger, *ids[100:]]}
    if with_client:
        body["client_id"] = customer.public_id

    response = post_link(client, account, body)

    assert_problem(response, "post", LINKS, 404, "not_found")
