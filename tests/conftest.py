"""Fixtures: each test runs on every available engine, inside a transaction rolled back after it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import argon2.profiles
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from onboarding import create_app, security
from tests.databases import backends, migrated_database
from tests.factories import PASSWORD
from tests.mailbox import mailbox, no_mail_server  # noqa: F401 (fixtures for every test module)

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
FLOW = re.compile(r'name="flow" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Still argon2id, with the library's test parameters: 0.1 ms a hash instead of ~170 ms."""
    real = security._hasher
    security._hasher = PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    yield
    security._hasher = real


@pytest.fixture(scope="session", params=backends())
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine]]:
    with migrated_database(request.param, tmp_path_factory.mktemp(request.param)) as database:
        yield database


@pytest.fixture(scope="module", params=backends())
def committed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine]]:
    """A database of the module's own whose changes are committed for real (see `empty`), for
    tests that need separate connections: races, several processes, a worker beside the app."""
    with migrated_database(request.param, tmp_path_factory.mktemp(request.param)) as database:
        yield database


@pytest.fixture
def connection(database: tuple[str, Engine]) -> Iterator[Connection]:
    _url, engine = database
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


def app_in_transaction(
    database: tuple[str, Engine], connection: Connection, instance_path: Path, **config: Any
) -> Flask:
    """An app on the test's database, `config` over the test settings, whose every session joins
    the test's transaction: its commits become savepoints, rolled back with the test."""
    url, _engine = database
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key",
            "BASE_URL": "https://hub.test",
            **config,
        }
    )
    app.instance_path = str(instance_path)
    app.extensions["db"].sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


@pytest.fixture
def app(database: tuple[str, Engine], connection: Connection, tmp_path: Path) -> Flask:
    # The tests' webhook receivers listen on 127.0.0.1.
    return app_in_transaction(database, connection, tmp_path, WEBHOOK_ALLOW_PRIVATE=True)


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session of the app's own kind, for arranging data and checking results.

    No app context is held open: Flask would reuse it for every test-client request, sharing `g`
    (and so the request's database session) between them.
    """
    session: Session = app.extensions["db"].sessionmaker()
    yield session
    session.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def flow_token(html: str) -> str:
    match = FLOW.search(html)
    assert match, "the page has no flow token"
    return match.group(1)


def submit_login(
    client: FlaskClient, login: str, email: str, password: str = PASSWORD, **request: Any
) -> TestResponse:
    """Log in as a browser does: GET the page `login` (a hub's login page, or a page of the
    permission flow with its ?flow=), then POST the email and password with the page's CSRF
    token, and its flow token if it has one, to that hub's login form. `request`: more arguments
    for both requests (headers, environ_base)."""
    page = client.get(login, **request)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    form = {"csrf_token": csrf_token(html), "email": email, "password": password}
    if "flow=" in login:
        form["flow"] = flow_token(html)
    # Not the page's own path: a client logged in already gets the flow's consent screen there.
    to = "/hub/login" if urlsplit(login).path.startswith("/hub/") else "/login"
    return client.post(to, data=form, **request)
