"""Engine, one session per request, and the declarative base."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)  # SQLite compares the stored text: one zone only

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, sqlite_busy_timeout: float = 5.0, **kwargs: Any) -> Engine:
    if not url.startswith("sqlite"):  # a file does not drop connections; skip a ping per request
        kwargs.setdefault("pool_pre_ping", True)  # a connection lost in a restart is replaced
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _make_sqlite_transactional(engine, sqlite_busy_timeout)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _no_jit)
    return engine


def _no_jit(dbapi_connection: Any, _record: Any) -> None:
    # JIT compiling pays off for long analytic queries; here it only added ~10 ms to list pages
    # whose plan is costed high because it may walk far but in fact stops after a page.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def _make_sqlite_transactional(engine: Engine, busy_timeout: float) -> None:
    # pysqlite opens transactions lazily and breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    database = engine.url.database or ""
    in_memory = database in ("", ":memory:") or engine.url.query.get("mode") == "memory"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # A writer waits this long for another's lock instead of failing at once.
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
        if not in_memory:
            # Write-ahead log: readers never wait for the writer, nor the writer for readers
            # (https://sqlite.org/wal.html). It sticks to the file; :memory: has no log.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _may_write() -> bool:
    """Whether a SQLite transaction beginning now must take the write lock at once.

    In WAL mode a plain (deferred) BEGIN reads from a snapshot and asks for the write lock at its
    first write; if another connection committed in between, that write fails at once with
    SQLITE_BUSY_SNAPSHOT ("database is locked", no busy timeout: waiting could not help), so a
    transaction that reads and then writes, which is nearly every change here, fails under
    concurrency. BEGIN IMMEDIATE takes the write lock first (waiting up to the busy timeout), so
    writing transactions run one at a time, each on the latest data.

    Reads are not held up: a GET, HEAD or OPTIONS request (none writes) begins deferred and
    reads its snapshot beside the writer. Elsewhere in the app (other requests, CLI commands,
    the webhook worker's passes) transactions may write. Outside the app (a script with its own
    connection, the test suite's rolled-back transaction) SQLite's own default stays.
    """
    if has_request_context():
        return request.method not in READ_ONLY_METHODS
    return has_app_context()


class Database:
    """The app's engine and session factory; tests swap the factory for a rolled-back one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"],
        sqlite_busy_timeout=float(app.config["SQLITE_BUSY_TIMEOUT"]),
    )
    app.extensions["db"] = Database(engine)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The session of the current request (or CLI command), opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db"].sessionmaker()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
