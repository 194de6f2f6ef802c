"""Engine, one session per request, and the declarative base."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import Connection, DateTime, Engine, MetaData, Select, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
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
    in_memory = _in_memory(engine)

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


def _in_memory(engine: Engine) -> bool:
    """A SQLite database in memory: each connection (but a shared cache's) has one of its own."""
    database = engine.url.database or ""
    return database in ("", ":memory:") or engine.url.query.get("mode") == "memory"


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
        on_file = engine.dialect.name == "sqlite" and not _in_memory(engine)
        self.readers = ThreadReaders(engine) if on_file else None


class ThreadReaders:
    """One SQLite connection per thread for the prepared reads, kept open beside the pool.

    A read on a pooled connection spends more on the pool's checkout and return (~10 µs) than
    on the statement itself; a SQLite file has no server whose connections are scarce and does
    not drop them, so each serving thread keeps its own. The connection is made by the engine
    (its connect hooks: foreign keys, busy timeout, WAL) and then detached from the pool; it
    reads in autocommit, each statement on the latest commit, as a pooled read did.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()

    def connection(self) -> Any:
        """This thread's sqlite3 connection (a new one after a fork, or after `forget`)."""
        mine: tuple[int, Any] | None = getattr(self._local, "mine", None)
        if mine is None or mine[0] != os.getpid():
            pooled = self.engine.raw_connection()
            driver = pooled.driver_connection
            pooled.detach()  # ours for good: the pool neither counts nor resets it
            mine = self._local.mine = (os.getpid(), driver)
        return mine[1]

    def forget(self) -> None:
        """Close this thread's connection, lost: the next read makes a new one."""
        mine: tuple[int, Any] | None = self._local.__dict__.pop("mine", None)
        if mine is not None and mine[0] == os.getpid():
            mine[1].close()


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"],
        sqlite_busy_timeout=float(app.config["SQLITE_BUSY_TIMEOUT"]),
    )
    app.extensions["db"] = Database(engine)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The session of the current request (or CLI command), opened on first use."""
    context = g._get_current_object()  # one proxy lookup, not 3
    session: Session | None = getattr(context, "db_session", None)
    if session is None:
        session = context.db_session = current_app.extensions["db"].sessionmaker()
    return session


def end_reads(session: Session) -> None:
    """End the session's transaction before slow work (a DNS lookup, a password hash), so that
    nothing is held meanwhile: on SQLite a request that may write holds the database's write
    lock from its first read (BEGIN IMMEDIATE, above), on PostgreSQL a transaction its row locks.

    Only for a transaction that has merely read. Its objects are expired, so each is read again,
    in the next transaction, when next used: nothing read before the slow part stands in for what
    is stored after it.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_reads() would drop changes: only a reading transaction may end so")
    session.rollback()


class _Form(NamedTuple):
    """A statement as one dialect runs it: SQL text, how to bind, how to read each column."""

    sql: str
    positions: tuple[str, ...] | None  # the parameters' order (qmark), or None (named)
    binds: dict[str, Callable[[Any], Any]]
    results: tuple[Callable[[Any], Any] | None, ...]
    compiled: Any


Source = Session | Engine | Connection | ThreadReaders  # what a Prepared statement reads through


class Prepared:
    """A Core SELECT compiled once per dialect and run straight on a DBAPI connection.

    For the hot read paths (key check, API-key auth, permission check, the consent screen): on
    SQLite a Session costs ~110 µs to begin, run one statement and close; this ~15 µs.
    SQLAlchemy's bind and result processing are kept (datetimes, enums), and its errors: a
    DBAPI error becomes sqlalchemy's DBAPIError (so 503 while the database is away), a lost
    connection is invalidated.

    When the session has a transaction open, the read runs inside it (and sees its writes);
    otherwise on the thread's own connection to a SQLite file (ThreadReaders), or on a pooled
    connection, for this read only (autocommit on SQLite; rolled back on return to the pool
    elsewhere). Either way it sees what is committed now: nothing is cached across requests.
    Statements take no expanding IN parameters.
    """

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._forms: dict[str, _Form] = {}

    def first(self, source: Source, **params: Any) -> tuple[Any, ...] | None:
        rows = self._run(source, params, many=False)
        return rows[0] if rows else None

    def all(self, source: Source, **params: Any) -> list[tuple[Any, ...]]:
        return self._run(source, params, many=True)

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect.name)
        if form is None:
            compiled: Any = self.statement.compile(dialect=dialect)
            binds = {}
            for name, bind in compiled.binds.items():
                if bind.expanding:
                    raise ValueError("Prepared statements take no expanding IN parameters")
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    binds[name] = processor
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns
            )
            positions = tuple(compiled.positiontup) if compiled.positional else None
            form = self._forms[dialect.name] = _Form(
                compiled.string, positions, binds, results, compiled
            )
        return form

    def _run(self, source: Source, params: dict[str, Any], *, many: bool) -> list[tuple[Any, ...]]:
        session: Session | None = None
        readers: ThreadReaders | None = None
        if isinstance(source, Session):
            session, bind = source, source.get_bind()
        elif isinstance(source, ThreadReaders):
            readers, bind = source, source.engine
        else:
            bind = source
        dialect = bind.dialect
        form = self._form(dialect)
        values = form.compiled.construct_params(params)
        for name, processor in form.binds.items():
            values[name] = processor(values[name])
        bound: Any = values if form.positions is None else [values[n] for n in form.positions]
        owned = False
        try:
            if session is not None and session.in_transaction():  # it sees its own writes
                raw: Any = session.connection().connection
            elif readers is not None:
                raw = readers.connection()
            elif isinstance(bind, Connection):  # sessions are bound to one (the test suite)
                raw = bind.connection
            else:  # a pooled connection of the session's engine, for this read only
                raw, owned = bind.raw_connection(), True
                if dialect.name == "postgresql":
                    # One statement needs no transaction: no BEGIN before it, no ROLLBACK
                    # when the pool takes the connection back (two round trips of four).
                    raw.driver_connection.autocommit = True
        except dialect.loaded_dbapi.Error as error:  # the database cannot be reached
            raise DBAPIError.instance(
                form.sql, bound, error, dialect.loaded_dbapi.Error, connection_invalidated=True
            ) from error
        cursor = None
        try:
            cursor = raw.cursor()
            cursor.execute(form.sql, bound)
            rows = cursor.fetchall() if many else cursor.fetchmany(1)
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, raw, cursor)
            if lost and owned:
                raw.invalidate(error)
            elif lost and readers is not None:
                readers.forget()
                cursor = None  # closed with its connection
            raise DBAPIError.instance(
                form.sql, bound, error, dialect.loaded_dbapi.Error, connection_invalidated=lost
            ) from error
        finally:
            if cursor is not None:
                cursor.close()
            if owned:
                if dialect.name == "postgresql" and raw.is_valid:
                    raw.driver_connection.autocommit = False  # as every other user expects
                raw.close()  # back to the pool, which rolls back whatever was begun
        if any(form.results):
            return [
                tuple(p(v) if p else v for p, v in zip(form.results, row, strict=True))
                for row in rows
            ]
        return [tuple(row) for row in rows]


def reader() -> Source:
    """What the request's Prepared reads go through: its session when it has one, else the
    app's engine (or the connection sessions are bound to): no Session made for one read."""
    session: Session | None = getattr(g._get_current_object(), "db_session", None)
    if session is not None:
        return session
    database: Database = current_app.extensions["db"]
    bind: Engine | Connection = database.sessionmaker.kw["bind"]
    if database.readers is not None and bind is database.engine:
        return database.readers
    return bind


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    # A session that never began nor took an object holds nothing: dropping it is closing it
    # (close() would still cost ~7 µs, on pages whose reads were all prepared).
    if session is not None and (session.in_transaction() or session.identity_map or session.new):
        session.close()
