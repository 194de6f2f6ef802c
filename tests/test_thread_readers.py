"""On a SQLite file the hot paths' prepared reads run on one connection per serving thread, kept
beside the pool (db.ThreadReaders): no pool checkout per read, each read on the latest commit,
and a connection lost under a thread is replaced by the next read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, update

from onboarding.db import Database, ThreadReaders, make_engine
from onboarding.migrate import upgrade
from onboarding.models import PartnerApiKey
from tests.api import PartnerAccount, api_headers, make_account
from tests.standalone import standalone_app


@pytest.fixture
def file_app(tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    with standalone_app(url) as app:
        yield app


@pytest.fixture
def account(file_app: Flask) -> PartnerAccount:
    with file_app.app_context(), file_app.extensions["db"].sessionmaker() as session:
        account = make_account(session)
        session.commit()
    return account


def readers(app: Flask) -> ThreadReaders:
    found = app.extensions["db"].readers
    assert isinstance(found, ThreadReaders)
    return found


def check(app: Flask, account: PartnerAccount) -> int:
    """A partner-key check: the caller is identified by one prepared read."""
    return app.test_client().get(account.path("/clients"), headers=api_headers(account)).status_code


def test_reads_take_no_pooled_connection_after_a_threads_first(
    file_app: Flask, account: PartnerAccount
) -> None:
    engine = file_app.extensions["db"].engine
    checkouts: list[Any] = []
    event.listen(engine, "checkout", lambda connection, *_: checkouts.append(connection))
    assert check(file_app, account) == 200
    first = len(checkouts)  # the thread's own connection, and the ORM session's

    for _ in range(20):
        assert check(file_app, account) == 200

    assert len(checkouts) - first == 20  # only the sessions': not one for the 20 key reads


def test_each_thread_reads_on_a_connection_of_its_own(file_app: Flask) -> None:
    with file_app.app_context():
        mine = readers(file_app).connection()
        assert readers(file_app).connection() is mine
        theirs: list[Any] = []
        other = threading.Thread(target=lambda: theirs.append(readers(file_app).connection()))
        other.start()
        other.join()

    assert theirs and theirs[0] is not mine
    assert mine.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # the engine's hooks ran
    assert mine.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_a_key_revoked_after_a_read_is_refused_on_the_next(
    file_app: Flask, account: PartnerAccount
) -> None:
    assert check(file_app, account) == 200
    with file_app.app_context(), file_app.extensions["db"].sessionmaker() as session:
        session.execute(update(PartnerApiKey).values(revoked_at=datetime.now(UTC)))
        session.commit()

    assert check(file_app, account) == 401


def test_a_lost_connection_answers_503_and_the_next_read_makes_a_new_one(
    file_app: Flask, account: PartnerAccount
) -> None:
    assert check(file_app, account) == 200
    lost = readers(file_app).connection()
    lost.close()

    answer = file_app.test_client().get(account.path("/clients"), headers=api_headers(account))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]

    assert check(file_app, account) == 200
    assert readers(file_app).connection() is not lost


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_reads_through_its_pool(url: str) -> None:
    """Each connection to :memory: is a database of its own: only the pool's is the app's."""
    assert Database(make_engine(url)).readers is None


def test_postgresql_reads_through_its_pool() -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    assert Database(engine).readers is None  # connections there are scarce, and drop
