"""The hot paths' prepared reads run on one connection per serving thread, kept beside the pool
(db.ThreadReaders): no pool checkout per read, each read on the latest commit, and a connection
lost under a thread (a restart, the engine disposed) replaced without failing the read. A
PostgreSQL backend terminated under it: tests/test_database_outage.py."""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, update

from onboarding.db import Database, ThreadReaders, make_engine, thread_readers
from onboarding.models import PartnerApiKey
from tests.api import PartnerAccount, api_headers, make_account
from tests.databases import backends, migrated_database
from tests.standalone import standalone_app


@pytest.fixture(params=backends())
def live_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    with migrated_database(request.param, tmp_path) as (url, _engine), standalone_app(url) as app:
        yield app


@pytest.fixture
def account(live_app: Flask) -> PartnerAccount:
    with live_app.app_context(), live_app.extensions["db"].sessionmaker() as session:
        account = make_account(session)
        session.commit()
    return account


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["db"].engine
    return engine


def readers(app: Flask) -> ThreadReaders:
    found = thread_readers(engine_of(app))
    assert found is not None
    return found


def own_connection(app: Flask) -> Any:
    return readers(app).connection(engine_of(app))


def closed(connection: Any) -> bool:
    if isinstance(connection, sqlite3.Connection):  # it has no `closed`: try it
        try:
            connection.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(connection.closed)


def check(app: Flask, account: PartnerAccount) -> int:
    """A Partner API call: the caller is identified by one prepared read, before any session."""
    return app.test_client().get(account.path("/clients"), headers=api_headers(account)).status_code


def test_reads_take_no_pooled_connection_after_a_threads_first(
    live_app: Flask, account: PartnerAccount
) -> None:
    checkouts: list[Any] = []
    event.listen(engine_of(live_app), "checkout", lambda connection, *_: checkouts.append(1))
    assert check(live_app, account) == 200
    first = len(checkouts)  # the thread's own connection, and the ORM session's

    for _ in range(20):
        assert check(live_app, account) == 200

    assert len(checkouts) - first == 20  # only the sessions': not one for the 20 key reads


def test_each_thread_reads_on_a_connection_of_its_own(live_app: Flask) -> None:
    mine = own_connection(live_app)
    assert own_connection(live_app) is mine
    theirs: list[Any] = []
    other = threading.Thread(target=lambda: theirs.append(own_connection(live_app)))
    other.start()
    other.join()

    assert theirs and theirs[0] is not mine
    gc.collect()
    assert closed(theirs[0])  # it went with its thread


def test_the_engines_connect_hooks_ran_on_it(live_app: Flask) -> None:
    mine = own_connection(live_app)
    if engine_of(live_app).dialect.name == "sqlite":
        assert mine.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert mine.execute("PRAGMA foreign_keys").fetchone() == (1,)
    else:
        assert mine.autocommit  # no transaction left open between reads
        assert mine.execute("SHOW jit").fetchone() == ("off",)


def test_a_key_revoked_after_a_read_is_refused_on_the_next(
    live_app: Flask, account: PartnerAccount
) -> None:
    assert check(live_app, account) == 200
    with live_app.app_context(), live_app.extensions["db"].sessionmaker() as session:
        session.execute(update(PartnerApiKey).values(revoked_at=datetime.now(UTC)))
        session.commit()

    assert check(live_app, account) == 401


def test_a_lost_connection_is_replaced_and_the_read_answers(
    live_app: Flask, account: PartnerAccount
) -> None:
    assert check(live_app, account) == 200
    lost = own_connection(live_app)
    lost.close()

    assert check(live_app, account) == 200
    assert own_connection(live_app) is not lost


def test_disposing_the_engine_closes_every_threads_connection(
    live_app: Flask, account: PartnerAccount
) -> None:
    assert check(live_app, account) == 200
    mine = own_connection(live_app)
    theirs: list[Any] = []
    held = threading.Event()
    done = threading.Event()

    def hold() -> None:
        theirs.append(own_connection(live_app))
        held.set()
        done.wait(5)

    other = threading.Thread(target=hold)
    other.start()
    held.wait(5)
    try:
        engine_of(live_app).dispose()
        assert closed(mine)
        assert closed(theirs[0])
    finally:
        done.set()
        other.join()
    assert check(live_app, account) == 200  # the engine still reads, on a new connection
    assert own_connection(live_app) is not mine


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_reads_through_its_pool(url: str) -> None:
    """Each connection to :memory: is a database of its own: only the pool's is the app's."""
    engine = make_engine(url)
    Database(engine)
    assert thread_readers(engine) is None
