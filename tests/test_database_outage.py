"""The database going away for a few seconds (issue 8, "Bad input and faults"): 503 with
Retry-After, never a 500 trace, and the next request after it comes back works, with no restart.

These apps run on their own engines with real connections (not the test's rolled-back one):
PostgreSQL behind a TCP proxy that is stopped and started, backends terminated from an admin
connection, and a SQLite file that cannot be opened.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from onboarding.db import Database, make_engine, thread_readers
from onboarding.migrate import upgrade
from onboarding.security import hash_secret
from tests.databases import backends, migrated_database
from tests.standalone import standalone_app
from tests.tcpproxy import TcpProxy

KEY = "wak_not-a-real-key"  # the key check runs one query, and answers 401 for an unknown key
API_PATH = "/messaging/v1/channel"
HTML_PATH = "/partners/p_nobody/permission"  # one query, then a readable 404 page


def requires_postgresql() -> None:
    if "postgresql" not in backends():
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")


@pytest.fixture
def postgresql(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A private, migrated PostgreSQL schema; its URL and an admin engine on the same database."""
    requires_postgresql()
    with migrated_database("postgresql", tmp_path) as database:
        yield database


def api_call(client: FlaskClient) -> TestResponse:
    return client.get(API_PATH, headers={"Authorization": f"Bearer {KEY}"})


def assert_working(client: FlaskClient) -> None:
    assert api_call(client).status_code == 401
    assert client.get(HTML_PATH).status_code == 404
    assert client.get("/readyz").status_code == 200


def assert_unavailable(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    api = api_call(client)
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "5"
    assert api.mimetype == "application/problem+json"
    body = api.get_json(force=True)
    assert body["code"] == "database_unavailable" and body["status"] == 503
    assert api.headers["X-Request-ID"]

    page = client.get(HTML_PATH)
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "try again in a few seconds" in html
    for leak in ("Traceback", "OperationalError", "SELECT", "psycopg", "sqlite"):
        assert leak not in html and leak not in api.get_data(as_text=True)

    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json(force=True)["code"] == "database_unreachable"
    # The log says what went wrong, never the statement or its parameters.
    assert "Database unavailable during GET /messaging/v1/channel" in caplog.text
    assert hash_secret(KEY) not in caplog.text and "[SQL:" not in caplog.text


# --- PostgreSQL ---------------------------------------------------------------------------------


def test_postgresql_behind_a_stopped_proxy_answers_503_then_recovers(
    postgresql: tuple[str, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    url, _admin = postgresql
    parts = urlsplit(url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.start()
    proxied = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    try:
        with standalone_app(proxied) as app:
            client = app.test_client()
            assert_working(client)  # the pool now holds a connection through the proxy
            proxy.stop()
            assert_unavailable(client, caplog)
            assert_unavailable(client, caplog)  # and again: nothing stuck
            proxy.start()
            assert_working(client)
    finally:
        proxy.stop()


def _with_application_name(url: str) -> tuple[str, str]:
    name = f"hub_outage_{secrets.token_hex(4)}"
    return f"{url}&application_name={name}", name


def _terminate(admin: Engine, name: str) -> int:
    with admin.begin() as connection:
        return len(
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            ).all()
        )


def test_terminated_postgresql_connections_are_replaced_before_use(
    postgresql: tuple[str, Engine],
) -> None:
    """A connection that died while idle never fails a request: the pool's by its pre-ping, the
    thread's own (db.ThreadReaders) by replacing it and reading again."""
    url, admin = postgresql
    named, name = _with_application_name(url)
    with standalone_app(named) as app:
        client = app.test_client()
        assert_working(client)
        engine = app.extensions["db"].engine
        readers = thread_readers(engine)
        assert readers is not None
        before = readers.connection(engine).info.backend_pid
        assert _terminate(admin, name) >= 1
        assert api_call(client).status_code == 401
        assert client.get(HTML_PATH).status_code == 404
        assert readers.connection(engine).info.backend_pid != before


def test_a_connection_lost_during_a_request_answers_503_then_recovers(
    postgresql: tuple[str, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    """Without the pre-ping the dead connection is used, the query fails mid-request (a DBAPI
    disconnect), and the hub answers 503; the pool drops that connection, so the next works.
    (The key check's own read runs again on a new connection, so it is the 401's look-up of
    why the key was refused, in a session, that meets the dead one; tests/test_thread_readers.py
    shows a thread's own connection replaced.)"""
    url, admin = postgresql
    named, name = _with_application_name(url)
    with standalone_app(named) as app:
        app.extensions["db"] = Database(make_engine(named, pool_pre_ping=False, pool_size=1))
        client = app.test_client()
        try:
            assert api_call(client).status_code == 401
            assert _terminate(admin, name) == 2  # the pool's and the thread's own
            lost = api_call(client)
            assert lost.status_code == 503
            assert lost.headers["Retry-After"] == "5"
            assert lost.get_json(force=True)["code"] == "database_unavailable"
            assert api_call(client).status_code == 401

            assert client.get(HTML_PATH).status_code == 404
            assert _terminate(admin, name) == 2
            page = client.get(HTML_PATH)
            assert page.status_code == 503 and page.mimetype == "text/html"
            assert page.headers["Retry-After"] == "5"
            assert client.get(HTML_PATH).status_code == 404
        finally:
            app.extensions["db"].engine.dispose()


# --- SQLite -------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    upgrade(f"sqlite:///{path}")
    return path


def test_an_unopenable_sqlite_file_answers_503_then_recovers(
    sqlite_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Running as root ignores file modes, so the file is made unopenable by putting a directory
    # in its place (as an unmounted volume would leave it).
    aside = sqlite_file.with_name("hub.db.aside")
    with standalone_app(f"sqlite:///{sqlite_file}") as app:
        client = app.test_client()
        sqlite_file.rename(aside)
        sqlite_file.mkdir()
        try:
            assert_unavailable(client, caplog)
            german = client.get(f"{HTML_PATH}?lang=de")
            assert german.status_code == 503
            assert "Wir sind gleich wieder da" in german.text
        finally:
            shutil.rmtree(sqlite_file)
            aside.rename(sqlite_file)
        assert_working(client)


def test_other_database_errors_stay_ordinary_500s(app: Flask) -> None:
    """Only outages become 503: a broken statement is a bug, and the suite must see it (SQLite
    reports it as an OperationalError too)."""
    from onboarding.db import get_session

    @app.get("/test-broken-query")
    def _broken() -> str:
        get_session().execute(text("SELECT no_such_column FROM partner"))
        return "unreachable"

    client = app.test_client()
    with pytest.raises(Exception, match="no_such_column"):
        client.get("/test-broken-query")
