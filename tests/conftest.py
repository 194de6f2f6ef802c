"""Fixtures: each test runs on every available engine, inside a transaction rolled back after it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import argon2.profiles
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from onboarding import create_app, security
from tests.databases import backends, migrated_database
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


@pytest.fixture
def app(database: tuple[str, Engine], connection: Connection, tmp_path: Path) -> Flask:
    url, _engine = database
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key",
            "BASE_URL": "https://hub.test",
            "WEBHOOK_ALLOW_PRIVATE": True,  # the tests' receivers listen on 127.0.0.1
        }
    )
    app.instance_path = str(tmp_path)
    # Every session the app opens joins the test's transaction; its commits become savepoints.
    app.extensions["db"].sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


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
